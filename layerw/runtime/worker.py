"""WorkerGame: a game in a child process, bounded by a watchdog instead of in-guest checks.

Epoch and fuel checks tax every loop back-edge of the guest. Here the guest runs with no checks
at all (``CpuLimit.OFF``) in a worker process; the parent waits for each call's answer until the
worker has used the game's CPU deadline in CPU time since its previous answer (``ThreadCpu``, so a
worker that a loaded machine keeps waiting is not stopped for the wait; wall time where the system
keeps no such clock, and at most WAIT_CAP_S of wall time in any case) and, past it, kills the worker
and raises ``GameTimedOut``. The game then
continues from a snapshot in a fresh worker (``restore``), exactly as an in-process Game does.
A ``GameHost`` backend (``open_game(bundle, cpu_limit=CpuLimit.WATCHDOG)``); the worker runs the
build's in-process host (``start_game``: a core module or a component).

Protocol: raw byte messages over a pipe (one op byte + payload; answers ``k`` + payload or ``e`` +
a pickled LayerWError); a tick's payload is its lw_input record, then the session's events as
lw_event records; its answer is a u32 metadata length, the u32 count of sound commands dropped,
the metadata (JSON: new textures and new sounds, each as [handle, asset name]) and the tick's sound
block, which the parent mixes (its ``Audio``; the worker has none). The game's ``Saves`` (a
directory and limits) travels to the worker, which reads and writes the slots itself. Ticks are pipelined: ``tick``
sends and returns at once, so the worker simulates while the host prepares the next input; the
next call that needs an answer (render, state_hash, snapshot, or more than ``MAX_IN_FLIGHT`` ticks
queued) collects them, and an error from a tick is raised there, carrying that tick's number. The command list comes back through
shared memory (one memcpy in the worker, zero-copy in the parent).

A killed worker leaves no stack to read, so the parent keeps the worker's base snapshot and the calls
since (``Replay``; a fresh snapshot every ``MAX_CALLS`` calls) and, on a timeout, replays the call in
this process on an epoch engine: the ``GameTimedOut`` names the guest frames the replay was stopped in,
as an in-process timeout does, or says that the call finished when replayed (the machine, not the game).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing as mp
import multiprocessing.connection
import pickle
import struct
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameError, GameTimedOut, LayerWError, SnapshotError
from layerw.runtime.assets import Event, decode_image
from layerw.runtime.basehost import BaseHost
from layerw.runtime.cpuclock import ThreadCpu
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState, check_event_count
from layerw.runtime.memoryhost import MemoryHost
from layerw.runtime.replay import RENDER as RENDER_CALL
from layerw.runtime.replay import TICK as TICK_CALL
from layerw.runtime.replay import Finished, Outcome, Replay, Stopped, apply_tick
from layerw.runtime.snapshot import Snapshot
from layerw.runtime.start import start_game
from layerw.runtime.tier import Tier
from layerw.saves import Saves
from layerw.symbols import SourceFrame, describe

START_TIMEOUT_S = 60.0  # spawning + compiling (or loading the cached module): wall time
WAIT_CAP_S = 10.0  # a call that answers nothing for this long (or 10 deadlines) of wall time is stopped, CPU used or not
log = logging.getLogger("layerw.worker")
MAX_IN_FLIGHT = 8  # ticks sent ahead of their answers
TICK, RENDER, HASH, SNAPSHOT = b"t", b"r", b"h", b"s"
OK, ERROR = b"k", b"e"
_CTX = mp.get_context("spawn")  # no fork: the parent may hold GPU and timer threads


def _new_textures(game: MemoryHost) -> list[tuple[int, str]]:
    """The images that became ready, by handle and asset name (the parent decodes them itself)."""
    fresh = []
    for handle, _ in game.take_new_textures():
        asset = game.assets.get(handle)
        assert asset is not None
        fresh.append((handle, asset.name))
    return fresh


def _tick_answer(game: MemoryHost) -> bytes:
    """A tick's answer: new textures and sounds, and its sound block (see the module docstring)."""
    block, dropped, sounds = game.last_sound
    textures = _new_textures(game)
    meta = json.dumps([textures, sounds]).encode() if textures or sounds else b""
    return struct.pack("<II", len(meta), dropped) + meta + block


def ready_sounds(asset_state: dict[str, object]) -> list[tuple[int, str]]:
    """The ready assets and the streamed sounds given to the mixer (handle, name) of a snapshot's
    asset table state (handles are 1, 2, ...)."""
    try:
        names, ready = list(asset_state["requested"]), list(asset_state["ready"])  # type: ignore[call-overload]
        given = {int(h) for _, h, g in asset_state.get("streams", []) if g}  # type: ignore[attr-defined]
        return [(i + 1, str(n)) for i, (n, r) in enumerate(zip(names, ready, strict=True)) if r or i + 1 in given]
    except (KeyError, TypeError, ValueError) as e:
        raise SnapshotError(f"snapshot asset state is malformed: {e}") from e


def _serve(conn: multiprocessing.connection.Connection, bundle: Bundle, seed: int, cache: str | None,
           shm_name: str, snapshot: bytes | None, saves: Saves | None) -> None:
    """The worker's loop: one request in, one answer out, until the pipe closes."""
    shm = SharedMemory(name=shm_name)  # registered with the parent's tracker, which unlinks it
    try:
        engine = Engine(CpuLimit.OFF, cache=Path(cache) if cache else None)  # the watchdog is the bound
        try:
            game = start_game(bundle, engine, seed=seed, audio=False, saves=saves, tier=Tier.WASMTIME)  # the watchdog bounds it
            if snapshot is not None:
                snap = Snapshot.from_bytes(snapshot)
                # this build's (or stamped so by restore(allow_other_build=True)): the layout decides
                game.restore(snap, allow_other_build=snap.module_sha256 == game.module_sha256)
        except LayerWError as e:
            conn.send_bytes(ERROR + pickle.dumps(e))
            return
        state = InputState()
        conn.send_bytes(OK + json.dumps([game.tick_count, _new_textures(game)]).encode())
        while True:
            try:
                msg = conn.recv_bytes()
            except EOFError:
                return
            op, arg = msg[:1], msg[1:]
            try:
                if op == TICK:
                    apply_tick(game, state, arg)
                    answer = _tick_answer(game)
                elif op == RENDER:
                    view = game.render()
                    assert shm.buf is not None
                    shm.buf[:len(view)] = view
                    answer = struct.pack("<I", len(view))
                elif op == HASH:
                    answer = game.state_hash().encode()
                elif op == SNAPSHOT:
                    answer = game.snapshot().to_bytes()
                else:
                    raise ValueError(f"unknown worker request {op!r}")
                conn.send_bytes(OK + answer)
            except LayerWError as e:
                conn.send_bytes(ERROR + pickle.dumps(e))
    finally:
        shm.close()


class WorkerGame(BaseHost):
    def __init__(self, bundle: Bundle, *, seed: int = 0, cache: Path | None = None,
                 snapshot: Snapshot | None = None, saves: Saves | None = None) -> None:
        super().__init__(bundle, seed=seed, saves=saves)
        self.cache = cache
        self.deadline_s = self.config.tick_ms / 1000
        self._shm = SharedMemory(create=True, size=abi.COMMAND_CAPACITY)
        self._closed = False
        self._proc: mp.process.BaseProcess | None = None
        self._new_textures: list[tuple[int, str]] = []
        self._in_flight: deque[tuple[bytes, int, float, int | None]] = deque()  # (op, tick, sent at, replay index)
        self.wait_cap_s = WAIT_CAP_S
        self._replay = Replay(bundle, self.seed, cache)
        self._last_answer = 0.0  # when the previous answer arrived: the next call's clock starts then
        self._cpu: ThreadCpu | None = None  # the worker's CPU clock (None: wall time only)
        self._cpu_at_answer = 0.0  # its CPU time when the previous answer arrived
        self._start(lambda: self._spawn(snapshot))

    def _spawn(self, snapshot: Snapshot | None) -> None:
        """Start a worker (from ``snapshot``, else from the seed) and wait for it to be ready."""
        self._conn, child = _CTX.Pipe()
        self._proc = _CTX.Process(
            target=_serve, name=f"layerw-{self.name}", daemon=True,
            args=(child, self.bundle, self.seed, str(self.cache) if self.cache else None,
                  self._shm.name, snapshot.to_bytes() if snapshot else None, self.saves))
        self._proc.start()
        child.close()
        assert self._proc.pid is not None
        self._cpu = ThreadCpu.open(self._proc.pid)
        if self._cpu is None:
            log.info("%s: no per-thread CPU clock on this system: the watchdog's deadline is wall time", self.name)
        self._in_flight.clear()
        self._replay.rebase(snapshot.to_bytes() if snapshot else None)
        self._in_flight.append((b"start", self.tick_count, time.monotonic(), None))
        tick, textures = json.loads(self._collect(START_TIMEOUT_S))
        self.tick_count = tick
        self._new_textures = [(int(h), str(n)) for h, n in textures]

    def _collect(self, timeout: float | None = None) -> bytes:
        """The answer to the oldest request in flight, waiting at most its deadline."""
        op, tick, sent, index = self._in_flight[0]
        if not self._answered(max(sent, self._last_answer), timeout):
            self._kill()
            self.tick_count = tick
            raise self._fail(self._timed_out(op, tick, index))
        try:
            msg = self._conn.recv_bytes()
        except (EOFError, OSError):  # the worker died (killed, out of memory) mid-answer
            self._kill()
            raise self._fail(GameError(f"{self.name}'s worker process died at tick {tick}",
                                       game=self.name, tick=tick)) from None
        self._in_flight.popleft()
        self._last_answer = time.monotonic()
        if self._cpu is not None:
            self._cpu_at_answer = self._cpu.seconds() or 0.0
        if msg[:1] == ERROR:
            err = pickle.loads(msg[1:])
            if op == TICK and not isinstance(err, GameError):  # the worker did not count that tick
                err = GameError(f"{self.name} at tick {tick}: the worker refused the tick: {err}",
                                game=self.name, tick=tick)
            if isinstance(err, GameError):
                self.tick_count = tick
                self._fail(err)
                self._in_flight.clear()
            raise err
        return msg[1:]

    def _timed_out(self, op: bytes, tick: int, index: int | None) -> GameTimedOut:
        """The timeout of the call ``op`` at ``tick``, with what replaying it in this process found
        (``index``: the call's in the replay; None: the start-up; -1: a call that runs no guest code)."""
        text = (f"{self.name} at tick {tick} in {_NAMES.get(op, op.decode())}: ran past its CPU deadline of "
                f"{self.config.tick_ms} ms ([limits] tick_ms); the worker was stopped")
        outcome: Outcome | None = self._replay.run(index) if index != -1 else None
        since = f"from tick {self._replay.base_tick()}" if index is not None else "from its start"
        frames: list[dict[str, object]] = []
        if isinstance(outcome, Stopped):
            frames = outcome.frames
            source = [SourceFrame.from_json(f) for f in frames]
            text += f"; replayed in this process {since}, it ran past {outcome.deadline_ms} ms too{describe(source)}"
        elif isinstance(outcome, Finished):
            text += (f"; the call finished in {outcome.ms:.0f} ms when replayed in this process {since}: "
                     "the timeout came from the machine, not the game")
        elif outcome is not None:
            text += f"; it could not be replayed: {outcome.why}"
        log.warning("%s", text)
        error = GameTimedOut(text, game=self.name, tick=tick)
        error.frames = frames
        return error

    def _answered(self, started: float, timeout: float | None) -> bool:
        """Whether the oldest call's answer came before its deadline: ``timeout`` seconds of wall time
        from ``started`` (start-up), else the game's deadline in the worker's CPU time since its
        previous answer, bounded by WAIT_CAP_S (or ten deadlines) of wall time."""
        if timeout is not None or self._cpu is None:
            limit = self.deadline_s if timeout is None else timeout
            return self._conn.poll(max(0.0, started + limit - time.monotonic()))
        cap = started + max(self.wait_cap_s, 10 * self.deadline_s)
        wait = started + self.deadline_s - time.monotonic()  # no sooner than the deadline in wall time either
        while True:
            if self._conn.poll(max(0.0, min(wait, cap - time.monotonic()))):
                return True
            used = self._cpu.seconds()
            if used is None:  # the worker is gone: recv_bytes says so
                return True
            left = self.deadline_s - (used - self._cpu_at_answer)
            if left <= 0 or time.monotonic() >= cap:
                return False
            wait = left  # using the rest of its CPU takes the worker at least this long

    def _send(self, op: bytes, payload: bytes = b"") -> None:
        self._refuse_if_failed()
        try:
            self._conn.send_bytes(op + payload)
        except OSError:  # the worker died (killed, out of memory) since the last answer
            self._kill()
            raise self._fail(GameError(f"{self.name}'s worker process died at tick {self.tick_count}",
                                       game=self.name, tick=self.tick_count)) from None
        index = self._replay.record(RENDER_CALL if op == RENDER else TICK_CALL, payload) if op in (TICK, RENDER) else -1
        self._in_flight.append((op, self.tick_count, time.monotonic(), index))

    def wait(self) -> None:
        """Collect every answer in flight (raising the first error among them)."""
        while self._in_flight:
            self._take_tick_answer(self._collect())

    def _call(self, op: bytes, timeout: float | None = None) -> bytes:
        self._send(op)
        while len(self._in_flight) > 1:
            self._take_tick_answer(self._collect())
        return self._collect(timeout)

    def _take_tick_answer(self, answer: bytes) -> None:
        meta_len, dropped = struct.unpack_from("<II", answer)
        sounds: list[tuple[int, str]] = []
        if meta_len:
            textures, fresh = json.loads(answer[8:8 + meta_len])
            self._new_textures += [(int(h), str(n)) for h, n in textures]
            sounds = [(int(h), str(n)) for h, n in fresh]
        self._sound(memoryview(answer)[8 + meta_len:], dropped, sounds)

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        """Send one tick with its events; its answer (or error) is collected by a later call."""
        check_event_count(events)
        packed = np.array([(e.kind, e.player, e.a, e.b) for e in events], dtype=abi.EVENT.dtype).tobytes()
        self._send(TICK, inputs.record.tobytes() + packed)
        self.tick_count += 1
        while len(self._in_flight) > MAX_IN_FLIGHT:
            self._take_tick_answer(self._collect())
        if self._replay.full:  # the replay's calls stay few: start them again from the state now
            self._snapshot_bytes()

    def _render(self) -> memoryview:
        (n,) = struct.unpack("<I", self._call(RENDER))
        assert self._shm.buf is not None
        return self._shm.buf[:n]

    def state_hash(self) -> str:
        return self._call(HASH, timeout=START_TIMEOUT_S).decode()

    def _snapshot_bytes(self) -> bytes:
        """The worker's snapshot, which becomes the replay's base."""
        data = self._call(SNAPSHOT, timeout=START_TIMEOUT_S)
        self._replay.rebase(data)
        return data

    def snapshot(self) -> Snapshot:
        snap = Snapshot.from_bytes(self._snapshot_bytes())
        assert self.audio is not None
        return dataclasses.replace(snap, host={**snap.host, "audio": self.audio.state()})

    def restore(self, snap: Snapshot, *, allow_other_build: bool = False) -> None:
        """Continue from ``snap`` in a fresh worker (also after a timeout or a crash). Another build's
        snapshot (``allow_other_build``) is stamped as this build's, so the worker checks its layout alone."""
        if allow_other_build:
            snap = dataclasses.replace(snap, module_sha256=self.module_sha256)
        assets = snap.host.get("assets") if isinstance(snap.host, dict) else None
        sounds = ready_sounds(assets) if isinstance(assets, dict) else []
        assert self.audio is not None
        self.audio.restore(snap.host.get("audio"), sounds)  # checked before the worker restarts
        self._kill()
        self._failure = None
        self.tick_count = snap.tick
        self._spawn(snap)

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
        self.wait()
        out = [(h, decode_image(name, self.bundle.read_asset(name))) for h, name in self._new_textures]
        self._new_textures = []
        return out

    def _kill(self) -> None:
        if self._cpu is not None:
            self._cpu.close()
            self._cpu = None
        if self._proc is None:
            return
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._conn.close()

    def close(self) -> None:
        self._kill()
        if self._closed:
            return
        self._closed = True
        self._close_audio()
        self._shm.unlink()
        try:
            self._shm.close()
        except BufferError:
            pass  # a caller still holds a command-list view; the mapping goes when it does


_NAMES = {TICK: "lw_tick", RENDER: "lw_render", HASH: "state_hash", SNAPSHOT: "snapshot", b"start": "start"}
