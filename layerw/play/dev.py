"""DevLoop: ``layerw dev GAME_DIR``, the edit-run loop — rebuild on change, hot-swap, keep playing.

The loop watches the game directory (sources, assets, layerw.toml) and on a change rebuilds with
the project's toolchain, then hot-swaps the running game through a snapshot: the new build starts
and the old build's snapshot is restored into it (``GameHost.restore(allow_other_build=True)``),
so the game continues from the same tick with its state. When the state layout moved (the restore
refuses with ``SnapshotError``) the new build starts from its seed, and the loop says so in one line.
A build error (compiler file:line) leaves the old build running; a crash shows its tick, restores
the last good snapshot and pauses the game until the next change, instead of exiting.

Each build that runs and each failed build is also told to ``listeners`` (JSON-ready events): with
``layerw dev --serve`` the dev server's event stream, so every open browser tab hot-reloads the same
builds (layerw/server/dev_app.py). The newest ``KEEP_BUILDS`` build directories stay for them.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerw.bundle import DirBundle
from layerw.errors import GameError, LayerWError, SnapshotError
from layerw.play.devnotes import DevNotes
from layerw.play.runner import Runner
from layerw.play.watcher import Watcher
from layerw.runtime import DEFAULT_CPU_LIMIT, Tier, start_game
from layerw.runtime.engine import Engine
from layerw.toolchain.build import build

if TYPE_CHECKING:
    from types import TracebackType

    from layerw.runtime.devchecks import Problem
    from layerw.runtime.gamehost import GameHost
    from layerw.runtime.inputs import InputState
    from layerw.runtime.snapshot import Snapshot

SNAPSHOT_EVERY = 30  # ticks between last-good snapshots (a crash goes back at most this far)
KEEP_BUILDS = 3  # build directories kept for pages still fetching one (the newest first)
# Every edit is a new module: on the AOT tier each reload would wait for a cold wasm2c + zig compile,
# 1.4-5.6 s for the sample games (pong, sprites, asteroids; loaded 2-core machine) beside a ~2 s build,
# where wasmtime compiles one in 0.02-0.07 s. So the edit-run loop stays on wasmtime, with its dev checks.
DEV_TIER = Tier.WASMTIME
Listener = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class DevOptions:
    headless: bool = False
    ticks: int | None = None  # None: until interrupted (or the window closes)
    seed: int = 0
    players: int = 1
    poll_s: float = 0.25  # seconds between looks at the game directory
    snapshot_every: int = SNAPSHOT_EVERY


class DevLoop(Runner):
    """A Runner whose game is rebuilt and hot-swapped as its sources change. ``step`` never raises
    a game's crash: it reports it, goes back to the last good state and pauses until ``poll`` swaps
    in a new build."""

    def __init__(self, game_dir: Path, options: DevOptions = DevOptions(),
                 report: Callable[[str], None] = print) -> None:
        self.game_dir = Path(game_dir).resolve()
        self.options = options
        self.report = report
        self.builds = 0
        self.paused = False  # after a crash, until the next build swaps in
        self.notes = DevNotes()  # what the window shows over the game until dismissed
        self.listeners: list[Listener] = []  # hear each build that runs and each failed build (build_event)
        self.warnings: tuple[str, ...] = ()  # the newest build's compiler warnings
        self._work = Path(tempfile.mkdtemp(prefix="layerw-dev-"))
        self._engine = Engine(DEFAULT_CPU_LIMIT)
        try:
            self.watcher = Watcher(self.game_dir)
            self._build_dir = self._build()
            game = self._start(self._build_dir)
        except BaseException:
            self._cleanup()
            raise
        super().__init__(game, players=options.players, render_every_tick=options.headless)
        self.last_good: Snapshot = game.snapshot()
        report(f"running {game.name} (build {self.builds}); edit {self.game_dir} to reload")

    def _build(self) -> Path:
        self.builds += 1
        out = self._work / f"build-{self.builds}"
        self.warnings = build(self.game_dir, out, replay_twin=True).warnings  # a browser's timeout names its frames
        for text in self.warnings:  # shown on every build that has them, not only failed ones
            self.note(f"build {self.builds}: compiler warnings:\n{text}")
        return out

    def build_dir(self, number: int) -> Path | None:
        """Build ``number``'s directory while it is kept (the newest ``KEEP_BUILDS``), else None."""
        path = self._work / f"build-{number}"
        return path if number > 0 and path.is_dir() else None

    def build_event(self) -> dict[str, Any]:
        """The running build, as listeners hear it: {"type": "build", "build", "tick", "warnings"}."""
        return {"type": "build", "build": self._build_number(), "tick": self.game.tick_count, "warnings": list(self.warnings)}

    def _prune(self) -> None:
        """Remove the build directories older than the newest ``KEEP_BUILDS``."""
        for path in self._work.glob("build-*"):
            if int(path.name.rsplit("-", 1)[1]) <= self._build_number() - KEEP_BUILDS:
                shutil.rmtree(path, ignore_errors=True)

    def _tell(self, event: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(event)

    def note(self, text: str) -> None:
        """Report ``text`` and show it over the game (in a window) until dismissed."""
        self.report(text)
        self.notes.add(text)

    def _start(self, build_dir: Path) -> GameHost:
        game = start_game(DirBundle(build_dir), self._engine, seed=self.options.seed, tier=DEV_TIER)
        game.enable_checks(self._problem)  # each new build is checked afresh
        return game

    def _problem(self, problem: Problem) -> None:
        self.note(f"check {problem.kind} at tick {problem.tick}: {problem.message}")

    # --- ticking ----------------------------------------------------------------------------------

    def step(self) -> None:
        """One tick, unless paused. A crash is reported with its tick; the game goes back to the
        last good snapshot and pauses (the same inputs would crash it again) until the next build."""
        if self.paused:
            return
        try:
            super().step()
        except GameError as e:
            self.game.restore(self.last_good)
            self.paused = True
            self.note(f"crash: {e}")
            self.report(f"kept the last good state (tick {self.last_good.tick}); paused until the next change")
            return
        if self.game.tick_count % self.options.snapshot_every == 0:
            self.last_good = self.game.snapshot()

    # --- reloading --------------------------------------------------------------------------------

    def poll(self) -> bool:
        """Look at the game directory; on a change rebuild and swap. True when a new build runs."""
        changed = self.watcher.changed()
        if not changed:
            return False
        self.report(f"changed: {', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}; rebuilding")
        return self.reload()

    def reload(self) -> bool:
        """Rebuild and swap the new build in, keeping the state where its layout allows. A build
        or start-up error is reported and the old build keeps running; returns whether it swapped."""
        started = time.perf_counter()
        try:
            build_dir = self._build()
        except LayerWError as e:
            self.note(f"build failed; {self.game.name} keeps running build {self._build_number()}:\n{e}")
            self._tell({"type": "failed", "build": self.builds, "running": self._build_number(), "error": str(e)})
            return False
        snap = self.game.snapshot()
        try:
            new = self._start(build_dir)
        except LayerWError as e:
            shutil.rmtree(build_dir, ignore_errors=True)
            self.note(f"build {self.builds} failed to start; {self.game.name} keeps running: {e}")
            self._tell({"type": "failed", "build": self.builds, "running": self._build_number(), "error": str(e)})
            return False
        try:
            new.restore(snap, allow_other_build=True)
            how = f"state kept at tick {snap.tick}"
        except SnapshotError as e:
            new.close()
            new = self._start(build_dir)
            how = f"restarted from seed {self.options.seed}: the state layout changed ({e})"
        old = self.game
        self.game, self._build_dir, self.paused = new, build_dir, False
        old.close()
        self._prune()
        self.last_good = new.snapshot()
        self._tell(self.build_event())
        line = f"reloaded build {self.builds} in {time.perf_counter() - started:.2f} s: {how}"
        if how.startswith("restarted"):  # a restart needs a look; a kept state does not
            self.note(line)
        else:
            self.report(line)
        return True

    def overlay(self) -> bytes:
        """The timing overlay (F3) and the notes (DevNotes) over the game's frame."""
        config = self.game.config
        return super().overlay() + self.notes.overlay(config.width, config.height)

    def take_devices(self, state: InputState, devices: dict[str, Any]) -> None:
        """A window's devices: as ``Runner`` takes them, and F2 pressed dismisses the notes."""
        super().take_devices(state, devices)
        self.notes.keys(frozenset(devices.get("keys", ())))

    def _build_number(self) -> int:
        return int(self._build_dir.name.rsplit("-", 1)[1])

    # --- the loops --------------------------------------------------------------------------------

    def run_paced(self, ticks: int | None = None, clock: Callable[[], float] = time.perf_counter,
                  sleep: Callable[[float], None] = time.sleep) -> None:
        """Headless: tick at the game's rate, looking for changes every ``poll_s``, until ``ticks``."""
        next_poll = due = clock()
        while ticks is None or self.game.tick_count < ticks:
            now = clock()
            if now >= next_poll:
                if self.poll():
                    due = clock()  # the build took its time: no burst of ticks to catch up
                next_poll = clock() + self.options.poll_s
            if self.paused:
                sleep(self.options.poll_s)
                continue
            self.step()
            due += 1.0 / self.game.config.tick_rate
            sleep(max(0.0, min(due, next_poll) - clock()))

    def run_window(self, ticks: int | None = None) -> None:
        """In a window: the realtime loop of ``layerw run``, looking for changes between frames."""
        from layerw.gfx.renderer import WgpuRenderer
        from layerw.gfx.window import Window
        from layerw.play.play import quiet_gl_probe

        quiet_gl_probe()
        config = self.game.config
        self.renderer = WgpuRenderer(config.width, config.height, filter=config.filter)
        next_poll = time.perf_counter()
        try:
            with Window(self.renderer, title=f"{config.name} - layerw dev") as window:
                def present() -> bool:
                    nonlocal next_poll
                    window.present()
                    if time.perf_counter() >= next_poll:
                        self.poll()
                        next_poll = time.perf_counter() + self.options.poll_s
                    return not window.closed

                self.run_realtime(present, lambda state: self.take_devices(state, window.poll()), ticks=ticks)
        finally:
            self.renderer.close()
            self.renderer = None

    # --- resources --------------------------------------------------------------------------------

    def _cleanup(self) -> None:
        self._engine.close()
        shutil.rmtree(self._work, ignore_errors=True)

    def close(self) -> None:
        """Close the running game, the engine and the builds' scratch directory."""
        self.game.close()
        self._cleanup()

    def __enter__(self) -> DevLoop:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def dev(game_dir: Path, options: DevOptions, report: Callable[[str], None] = print,
        serve: Callable[[DevLoop], AbstractContextManager[object]] | None = None) -> tuple[int, str]:
    """``layerw dev``: build, run and hot-reload ``game_dir`` until ``ticks`` (or Ctrl-C, or the
    window closes); returns the final tick and state hash. ``serve`` (``layerw dev --serve``) opens
    what else follows the loop's builds (the dev server for browsers) for as long as it runs."""
    if not options.headless:
        from layerw.gfx.window import require_display

        require_display()  # before the first build: a window that cannot open says so at once
    with DevLoop(game_dir, options, report) as loop, (serve(loop) if serve is not None else nullcontext()):
        try:
            if options.headless:
                loop.run_paced(options.ticks)
            else:
                loop.run_window(options.ticks)
        except KeyboardInterrupt:
            report("stopped")
        return loop.game.tick_count, loop.game.state_hash()
