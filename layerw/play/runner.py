"""Runner: the fixed-tick loop, decoupled from rendering.

Ticks advance at the game's fixed rate whatever the display does; a frame renders the latest
state. Headless runs tick as fast as possible and render only when a picture is asked for. Each
part of a frame is timed (``timing``: tick, render, present, sound); F3 in a window toggles the
overlay that shows them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerw import abi
from layerw.play.synctest import SyncTest
from layerw.play.timing import TOGGLE_KEY, FrameTiming
from layerw.runtime.inputs import InputState, Recording

if TYPE_CHECKING:
    from layerw.gfx.renderer import Renderer
    from layerw.runtime.gamehost import GameHost

MAX_CATCH_UP = 8  # ticks per frame at most, so a slow frame does not spiral
SAMPLES_EVERY = 30  # ticks between draining the mix into ``on_samples`` (the host keeps 2 s)
TOGGLE_CODE = abi.KEYS.index(TOGGLE_KEY)


class Runner:
    def __init__(self, game: GameHost, renderer: Renderer | None = None, *, players: int = 1,
                 recording: Recording | None = None, on_samples: Callable[[bytes], None] | None = None,
                 samples_every: int = SAMPLES_EVERY, synctest: int = 0, render_every_tick: bool = False) -> None:
        self.game = game
        # a headless dev run renders each tick without drawing, so the dev checks see lw_render
        self.render_every_tick = render_every_tick
        self.renderer = renderer
        self.inputs = InputState(players)
        self.recording = recording
        self.on_samples = on_samples  # where the mix goes (a WAV file, a device), if anywhere
        self.samples_every = samples_every  # 1 for a device: it plays what it gets at once
        # with ``synctest`` > 0 every tick is rolled back and resimulated that many ticks deep (SyncTest)
        self.synctest = SyncTest(game, synctest, keep_samples=on_samples is not None) if synctest else None
        self.timing = FrameTiming()
        self._toggle_held = False

    def step(self) -> None:
        """Apply recorded input changes for this tick, then advance one tick."""
        if self.recording is not None:
            self.recording.apply(self.inputs, self.game.tick_count)
        with self.timing.measure("tick"):
            if self.synctest is not None:
                self.synctest.tick(self.inputs)
            else:
                self.game.tick(self.inputs)
        if self.render_every_tick:
            self.game.render()
        if self.on_samples is not None and self.game.tick_count % self.samples_every == 0:
            self.drain()

    def drain(self) -> None:
        """Hand the samples mixed so far to ``on_samples``."""
        if self.on_samples is not None:
            with self.timing.measure("sound"):
                samples = self.game.take_samples() if self.synctest is None else self.synctest.take_samples()
            self.on_samples(samples)

    def audio_hash(self) -> str:
        """SHA-256 of every sample heard (under SyncTest, the first simulation's only)."""
        return self.game.audio_hash() if self.synctest is None else self.synctest.audio_hash()

    def take_devices(self, state: InputState, devices: dict[str, Any]) -> None:
        """A window's polled devices as player 0's input; F3 pressed toggles the timing overlay."""
        state.set_devices(0, devices)
        held = TOGGLE_CODE in devices.get("keys", ())
        if held and not self._toggle_held:
            self.timing.toggle()
        self._toggle_held = held

    def frame(self) -> None:
        """Render the current state: upload textures that became ready, then draw."""
        if self.renderer is None:
            raise RuntimeError("this runner has no renderer")
        for handle, image in self.game.take_new_textures():
            self.renderer.set_texture(handle, image)
        with self.timing.measure("render"):
            commands = self.game.render()
        overlay = self.overlay()
        if overlay:  # a command list is its commands in a row: the overlay's follow the game's
            self.renderer.draw(bytes(commands) + overlay)
        else:
            self.renderer.draw(commands)

    def overlay(self) -> bytes:
        """Commands drawn over the game's frame (the timing overlay while shown); empty: none."""
        return self.timing.overlay() if self.timing.shown else b""

    def run_headless(self, ticks: int, *, every: int = 0, frames_dir: Path | None = None) -> list[Path]:
        """Run ``ticks`` ticks; with ``every`` > 0 write a PNG every that many ticks."""
        written: list[Path] = []
        for _ in range(ticks):
            self.step()
            if every and frames_dir is not None and self.game.tick_count % every == 0:
                self.frame()
                path = frames_dir / f"{self.game.name}-{self.game.tick_count:06d}.png"
                assert self.renderer is not None
                self.renderer.save_png(path)
                written.append(path)
        return written

    def run_realtime(self, present: Callable[[], bool], poll: Callable[[InputState], None],
                     clock: Callable[[], float] = time.perf_counter, ticks: int | None = None) -> None:
        """Tick at the game's rate and render once per display frame until ``present`` says stop
        (or, given ``ticks``, until that many ticks have run)."""
        dt = 1.0 / self.game.config.tick_rate
        last = clock()
        lag = 0.0
        while True:
            now = clock()
            lag = min(lag + now - last, MAX_CATCH_UP * dt)
            last = now
            poll(self.inputs)
            while lag >= dt and (ticks is None or self.game.tick_count < ticks):
                self.step()
                lag -= dt
            self.frame()
            with self.timing.measure("present"):
                going = present()
            if not going or (ticks is not None and self.game.tick_count >= ticks):
                return
