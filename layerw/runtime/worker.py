"""WorkerGame: a Game in a child process, bounded by a watchdog instead of in-guest checks.

Epoch and fuel checks tax every loop back-edge of the guest. Here the guest runs with no checks
at all (``CpuLimit.OFF``) in a worker process; the parent waits for each call's answer at most the
game's CPU deadline and, past it, kills the worker and raises ``GameTimedOut``. The game then
continues from a snapshot in a fresh worker (``restore``), exactly as an in-process Game does.

Protocol: raw byte messages over a pipe (one op byte + payload; answers ``k`` + payload or ``e`` +
a pickled LayerWError). Ticks are pipelined: ``tick`` sends and returns at once, so the worker
simulates while the host prepares the next input; the next call that needs an answer (render,
state_hash, snapshot, or more than ``MAX_IN_FLIGHT`` ticks queued) collects them, and an error
from a tick is raised there, carrying that tick's number. The command list comes back through
shared memory (one memcpy in the worker, zero-copy in the parent).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import multiprocessing.connection
import pickle
import struct
import time
from collections import deque
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameError, GameTimedOut, LayerWError
from layerw.runtime.assets import decode_image
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot

START_TIMEOUT_S = 60.0  # spawning + compiling (or loading the cached module)
MAX_IN_FLIGHT = 8  # ticks sent ahead of their answers
TICK, RENDER, HASH, SNAPSHOT = b"t", b"r", b"h", b"s"
OK, ERROR = b"k", b"e"
_CTX = mp.get_context("spawn")  # no fork: the parent may hold GPU and timer threads


def _serve(conn: multiprocessing.connection.Connection, bundle: Bundle, seed: int, cache: str | None,
           shm_name: str, snapshot: bytes | None) -> None:
    """The worker's loop: one request in, one answer out, until the pipe closes."""
    from layerw.runtime import game_class
    from layerw.runtime.engine import CpuLimit, Engine

    shm = SharedMemory(name=shm_name)  # registered with the parent's tracker, which unlinks it
    try:
        engine = Engine(CpuLimit.OFF, cache=Path(cache) if cache else None)
        try:
            game = game_class(bundle)(bundle, engine, seed=seed)
            if snapshot is not None:
                game.restore(Snapshot.from_bytes(snapshot))
        except LayerWError as e:
            conn.send_bytes(ERROR + pickle.dumps(e))
            return
        state = InputState()

        def new_textures() -> bytes:
            fresh = [(h, game.assets.get(h).name) for h, _ in game.take_new_textures()]  # type: ignore[union-attr]
            return json.dumps(fresh).encode() if fresh else b""

        conn.send_bytes(OK + json.dumps([game.tick_count, json.loads(new_textures() or b"[]")]).encode())
        while True:
            try:
                msg = conn.recv_bytes()
            except EOFError:
                return
            op, arg = msg[:1], msg[1:]
            try:
                if op == TICK:
                    state.record[...] = np.frombuffer(arg, dtype=abi.INPUT.dtype)[0]
                    game.tick(state)
                    answer = new_textures()
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


class WorkerGame:
    """Same interface as ``Game`` (tick, render, state_hash, snapshot, restore, close)."""

    def __init__(self, bundle: Bundle, *, seed: int = 0, cache: Path | None = None,
                 snapshot: Snapshot | None = None) -> None:
        self.bundle = bundle
        self.config = self.bundle.config
        self.name = self.config.name
        self.seed = seed
        self.cache = cache
        self.tick_count = 0
        self.deadline_s = self.config.tick_ms / 1000
        self._shm = SharedMemory(create=True, size=abi.COMMAND_CAPACITY)
        self._failure: GameError | None = None
        self._new_textures: list[tuple[int, str]] = []
        self._in_flight: deque[tuple[bytes, int, float]] = deque()  # (op, tick, sent at)
        self._last_answer = 0.0  # when the previous answer arrived: the next call's clock starts then
        try:
            self._start(snapshot)
        except BaseException:
            self._shm.unlink()
            self._shm.close()
            raise

    def _start(self, snapshot: Snapshot | None) -> None:
        self._conn, child = _CTX.Pipe()
        self._proc = _CTX.Process(
            target=_serve, name=f"layerw-{self.name}", daemon=True,
            args=(child, self.bundle, self.seed, str(self.cache) if self.cache else None,
                  self._shm.name, snapshot.to_bytes() if snapshot else None))
        self._proc.start()
        child.close()
        self._in_flight.clear()
        self._in_flight.append((b"start", self.tick_count, time.monotonic()))
        tick, textures = json.loads(self._collect(START_TIMEOUT_S))
        self.tick_count = tick
        self._new_textures = [(int(h), str(n)) for h, n in textures]

    def _collect(self, timeout: float | None = None) -> bytes:
        """The answer to the oldest request in flight, waiting at most its deadline."""
        op, tick, sent = self._in_flight[0]
        limit = self.deadline_s if timeout is None else timeout
        started = max(sent, self._last_answer)
        if not self._conn.poll(max(0.0, started + limit - time.monotonic())):
            self._kill()
            self.tick_count = tick
            self._failure = GameTimedOut(
                f"{self.name} at tick {tick} in {_NAMES.get(op, op.decode())}: ran past its CPU deadline of "
                f"{self.config.tick_ms} ms ([limits] tick_ms); the worker was stopped",
                game=self.name, tick=tick)
            raise self._failure
        try:
            msg = self._conn.recv_bytes()
        except (EOFError, OSError):  # the worker died (killed, out of memory) mid-answer
            self._kill()
            self._failure = GameError(f"{self.name}'s worker process died at tick {tick}", game=self.name, tick=tick)
            raise self._failure from None
        self._in_flight.popleft()
        self._last_answer = time.monotonic()
        if msg[:1] == ERROR:
            err = pickle.loads(msg[1:])
            if isinstance(err, GameError):
                self.tick_count = tick
                self._failure = err
                self._in_flight.clear()
            raise err
        return msg[1:]

    def _send(self, op: bytes, payload: bytes = b"") -> None:
        if self._failure is not None:
            raise GameError(f"{self.name} already failed at tick {self._failure.tick} ({self._failure}); "
                            "restore a snapshot or start it again", game=self.name, tick=self.tick_count)
        try:
            self._conn.send_bytes(op + payload)
        except OSError:  # the worker died (killed, out of memory) since the last answer
            self._kill()
            self._failure = GameError(f"{self.name}'s worker process died at tick {self.tick_count}",
                                      game=self.name, tick=self.tick_count)
            raise self._failure from None
        self._in_flight.append((op, self.tick_count, time.monotonic()))

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
        if answer:
            self._new_textures += [(int(h), str(n)) for h, n in json.loads(answer)]

    def tick(self, inputs: InputState) -> None:
        """Send one tick; its answer (or error) is collected by a later call."""
        self._send(TICK, inputs.record.tobytes())
        self.tick_count += 1
        while len(self._in_flight) > MAX_IN_FLIGHT:
            self._take_tick_answer(self._collect())

    def render(self) -> memoryview:
        (n,) = struct.unpack("<I", self._call(RENDER))
        assert self._shm.buf is not None
        return self._shm.buf[:n]

    def state_hash(self) -> str:
        return self._call(HASH, timeout=START_TIMEOUT_S).decode()

    def snapshot(self) -> Snapshot:
        return Snapshot.from_bytes(self._call(SNAPSHOT, timeout=START_TIMEOUT_S))

    def restore(self, snap: Snapshot) -> None:
        """Continue from ``snap`` in a fresh worker (also after a timeout or a crash)."""
        self._kill()
        self._failure = None
        self.tick_count = snap.tick
        self._start(snap)

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
        self.wait()
        out = [(h, decode_image(name, self.bundle.read_asset(name))) for h, name in self._new_textures]
        self._new_textures = []
        return out

    def _kill(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._conn.close()

    def close(self) -> None:
        self._kill()
        self._shm.unlink()
        try:
            self._shm.close()
        except BufferError:
            pass  # a caller still holds a command-list view; the mapping goes when it does

    def __enter__(self) -> WorkerGame:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_NAMES = {TICK: "lw_tick", RENDER: "lw_render", HASH: "state_hash", SNAPSHOT: "snapshot", b"start": "start"}
