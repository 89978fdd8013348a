"""RenderProbe: whether lw_render changes a room's game state, found once, on the room's first desync.

A room never renders; its clients that draw do, so a game whose render writes its state desyncs every
client that draws. The probe starts a second instance of the room's game from the room's newest kept
snapshot, renders it and compares state hashes: the room's own game is never touched, so the probe
may run on any thread while the room ticks. A bare room runs it where it is asked (no executor); a
room host gives it a thread pool, so a large game's probe never holds up the event loop's other rooms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from layerw.bundle import Bundle
from layerw.errors import LayerWError
from layerw.runtime.devchecks import render_changes_state
from layerw.runtime.engine import Engine
from layerw.runtime.start import start_game
from layerw.session.saved import Saved


class RenderProbe:
    """One room's probe: run once, its verdict handed to everyone who asked meanwhile and since."""

    def __init__(self, bundle: Bundle, engine: Engine, executor: Executor | None = None) -> None:
        self.bundle, self.engine = bundle, engine
        self.executor = executor  # where the probe runs (None: in the caller, at once)
        self.changes: bool | None = None  # the verdict, once probed
        self.failed = ""  # why the probe found none, if it failed
        self.run: Callable[[Bundle, Engine, Saved], bool] = probe  # the work the executor does (a test may wrap it)
        self._waiting: list[Callable[[RenderProbe], None]] = []
        self._started = False

    @property
    def done(self) -> bool:
        return self.changes is not None or bool(self.failed)

    def ask(self, saved: Saved, then: Callable[[RenderProbe], None]) -> None:
        """Call ``then(self)`` once the verdict is known: now if it is (or there is no executor),
        else on the event loop when the executor has probed ``saved`` (started on the first ask)."""
        if self.done:
            then(self)
            return
        self._waiting.append(then)
        if self._started:
            return
        self._started = True
        if self.executor is None:
            try:
                self._settle(self.run(self.bundle, self.engine, saved), "")
            except LayerWError as e:
                self._settle(None, str(e))
            return
        running = asyncio.get_running_loop().run_in_executor(self.executor, self.run, self.bundle, self.engine, saved)
        running.add_done_callback(self._finished)

    def _finished(self, future: asyncio.Future[bool]) -> None:
        if future.cancelled():
            self._settle(None, "the server closed before the probe ran")
        elif isinstance(future.exception(), LayerWError):
            self._settle(None, str(future.exception()))
        elif future.exception() is not None:
            self._settle(None, f"the probe failed: {future.exception()!r}")
        else:
            self._settle(future.result(), "")

    def _settle(self, changes: bool | None, failed: str) -> None:
        self.changes, self.failed = changes, failed
        waiting, self._waiting = self._waiting, []
        for then in waiting:
            then(self)

    def verdict(self) -> str:
        """The verdict in words, for a desync's log line."""
        if self.changes:
            return ("lw_render changes the game state (the room never renders, clients that draw do): "
                    "render must only draw; `layerw run --dev` or `layerw dev` show where")
        if self.changes is False:
            return "lw_render left the state alone when the room tried it; look at input handling and uninitialised memory"
        return f"whether lw_render changes the game state is not known ({self.failed})"


def probe(bundle: Bundle, engine: Engine, saved: Saved) -> bool:
    """Whether rendering a fresh instance of ``bundle``, restored to ``saved``, changes its state (slow
    for a large game: instantiation, a restore and a render; for a worker thread)."""
    game = start_game(bundle, engine, audio=False)
    try:
        game.restore(saved.snapshot)
        return render_changes_state(game)
    finally:
        game.close()
