"""WorkerGame: a Game in a child process, bounded by a watchdog instead of in-guest checks.

Epoch and fuel checks tax every loop back-edge of the guest. Here the guest runs with no checks
at all (``CpuLimit.OFF``) in a worker process; the parent waits for each call's answer at most the
game's CPU deadline and, past it, kills the worker and raises ``GameTimedOut``. The game then
continues from a snapshot in a fresh worker (``restore``), exactly as an in-process Game does.

Each call is one message each way over a pipe; the command list comes back through shared
memory (one memcpy in the worker, zero-copy in the parent).
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameError, GameTimedOut, LayerWError
from layerw.runtime.assets import decode_image
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot

START_TIMEOUT_S = 60.0  # spawning + compiling (or loading the cached module)
_CTX = mp.get_context("spawn")  # no fork: the parent may hold GPU and timer threads


def _serve(conn: multiprocessing.connection.Connection, bundle: Bundle, seed: int, cache: str | None,
           shm_name: str, snapshot: bytes | None) -> None:
    """The worker's loop: one request in, one answer out, until the pipe closes."""
    from layerw.runtime.engine import CpuLimit, Engine
    from layerw.runtime.game import Game

    shm = SharedMemory(name=shm_name)  # registered with the parent's tracker, which unlinks it
    try:
        engine = Engine(CpuLimit.OFF, cache=Path(cache) if cache else None)
        try:
            game = Game(bundle, engine, seed=seed)
            if snapshot is not None:
                game.restore(Snapshot.from_bytes(snapshot))
        except LayerWError as e:
            conn.send(("error", e))
            return
        state = InputState()

        def new_textures() -> list[tuple[int, str]]:
            return [(h, game.assets.get(h).name) for h, _ in game.take_new_textures()]  # type: ignore[union-attr]

        conn.send(("ok", (game.tick_count, new_textures())))
        while True:
            try:
                op, arg = conn.recv()
            except EOFError:
                return
            try:
                if op == "tick":
                    state.record[...] = np.frombuffer(arg, dtype=abi.INPUT.dtype)[0]
                    game.tick(state)
                    answer: Any = new_textures()
                elif op == "render":
                    view = game.render()
                    assert shm.buf is not None
                    shm.buf[:len(view)] = view
                    answer = len(view)
                elif op == "hash":
                    answer = game.state_hash()
                elif op == "snapshot":
                    answer = game.snapshot().to_bytes()
                else:
                    raise ValueError(f"unknown worker request {op!r}")
                conn.send(("ok", answer))
            except LayerWError as e:
                conn.send(("error", e))
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
        self.tick_count, textures = self._wait(START_TIMEOUT_S, "start")
        self._new_textures = list(textures)

    def _wait(self, timeout: float, what: str) -> Any:
        if not self._conn.poll(timeout):
            self._kill()
            self._failure = GameTimedOut(
                f"{self.name} at tick {self.tick_count} in {what}: ran past its CPU deadline of "
                f"{self.config.tick_ms} ms ([limits] tick_ms); the worker was stopped",
                game=self.name, tick=self.tick_count)
            raise self._failure
        try:
            status, answer = self._conn.recv()
        except EOFError:
            self._kill()
            self._failure = GameError(f"{self.name}'s worker process died at tick {self.tick_count}",
                                      game=self.name, tick=self.tick_count)
            raise self._failure from None
        if status == "error":
            if isinstance(answer, GameError):
                self._failure = answer
            raise answer
        return answer

    def _call(self, op: str, arg: object = None, timeout: float | None = None) -> Any:
        if self._failure is not None:
            raise GameError(f"{self.name} already failed at tick {self._failure.tick} ({self._failure}); "
                            "restore a snapshot or start it again", game=self.name, tick=self.tick_count)
        self._conn.send((op, arg))
        return self._wait(self.deadline_s if timeout is None else timeout, op)

    def tick(self, inputs: InputState) -> None:
        self._new_textures += self._call("tick", inputs.record.tobytes())
        self.tick_count += 1

    def render(self) -> memoryview:
        n = self._call("render")
        assert self._shm.buf is not None
        return self._shm.buf[:n]

    def state_hash(self) -> str:
        return str(self._call("hash", timeout=START_TIMEOUT_S))

    def snapshot(self) -> Snapshot:
        return Snapshot.from_bytes(self._call("snapshot", timeout=START_TIMEOUT_S))

    def restore(self, snap: Snapshot) -> None:
        """Continue from ``snap`` in a fresh worker (also after a timeout or a crash)."""
        self._kill()
        self._failure = None
        self._start(snap)

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
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
