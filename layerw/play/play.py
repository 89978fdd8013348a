"""play: run a game natively, headless or in a window — what ``layerw run`` does.

Data flows one way: a bundle (build dir or store) → the runtime (in-process or in a watchdog
worker) → the renderer (offscreen PNGs, or a window where a display exists).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from layerw.bundle import Bundle
from layerw.errors import AudioDeviceError, UnsupportedCpuLimit
from layerw.play.recorder import WavRecorder
from layerw.play.runner import SAMPLES_EVERY, Runner
from layerw.play.speaker import Speaker
from layerw.runtime import DEFAULT_CPU_LIMIT, CpuLimit, GameHost, open_game
from layerw.runtime.devchecks import Problem
from layerw.runtime.inputs import Recording
from layerw.runtime.memoryhost import MemoryHost
from layerw.saves import Saves


@dataclass(frozen=True)
class PlayOptions:
    headless: bool = True
    ticks: int | None = None          # None: 600 headless, until closed in a window
    screenshot: Path | None = None    # PNG of the last frame
    frames: Path | None = None        # a PNG every `every` ticks (headless)
    every: int = 30
    inputs: Path | None = None        # input recording (JSON Lines)
    seed: int = 0
    players: int = 1
    cpu_limit: CpuLimit = DEFAULT_CPU_LIMIT
    audio: Path | None = None         # the mix as a WAV file
    sound: str | None = None          # play the mix on a device: "default" or a miniaudio backend ("null", "alsa", ...)
    latency_ms: int = 40              # the device's latency budget (buffer + queue)
    saves: Path | None = None         # the game's save slots (a cart's disk) live here; None: no saves
    dev: bool = False                 # check the contract as the game runs (layerw.runtime.devchecks)


@dataclass
class PlayResult:
    tick: int
    state_hash: str
    frames: list[Path] = field(default_factory=list)
    audio_hash: str = ""


def quiet_gl_probe() -> None:
    """wgpu probes EGL, which complains without XDG_RUNTIME_DIR; give it a private one."""
    if "XDG_RUNTIME_DIR" not in os.environ:
        path = Path(tempfile.gettempdir()) / f"layerw-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


def open_speaker(device: str, latency_ms: int) -> Speaker:
    """A Speaker on the system's default device, or on the named miniaudio backend."""
    import miniaudio

    if device == "default":
        return Speaker(latency_ms=latency_ms)
    try:
        backend = miniaudio.Backend[device.upper()]
    except KeyError:
        names = ", ".join(b.name.lower() for b in miniaudio.Backend)
        raise AudioDeviceError(f"no audio backend {device!r}: choose default or one of {names}") from None
    return Speaker(latency_ms=latency_ms, backends=[backend])


def enable_checks(game: GameHost, report: Callable[[Problem], None] | None = None) -> None:
    """Turn on the dev checks of an in-process game (each problem reaches the log, and ``report``)."""
    if not isinstance(game, MemoryHost):
        raise UnsupportedCpuLimit(f"{game.name}: dev checks look into the game in this process; run it with "
                                  "--cpu-limit epoch, fuel or off, not in the watchdog's worker")
    game.enable_checks(report)


def play(bundle: Bundle, options: PlayOptions) -> PlayResult:
    recording = Recording.load(options.inputs) if options.inputs else None
    if not options.headless:
        from layerw.gfx.window import require_display

        require_display()
    wants_pictures = bool(options.screenshot or options.frames) or not options.headless
    quiet_gl_probe()
    saves = Saves(options.saves) if options.saves else None
    with open_game(bundle, cpu_limit=options.cpu_limit, seed=options.seed, saves=saves) as game, ExitStack() as outputs:
        renderer = None
        if options.dev:
            enable_checks(game)
        recorder = outputs.enter_context(WavRecorder(options.audio)) if options.audio else None
        speaker = outputs.enter_context(open_speaker(options.sound, options.latency_ms)) if options.sound else None
        sinks = [sink.write for sink in (recorder, speaker) if sink is not None]

        def to_sinks(samples: bytes) -> None:
            for sink in sinks:
                sink(samples)

        if wants_pictures:
            from layerw.gfx.renderer import WgpuRenderer

            renderer = WgpuRenderer(bundle.config.width, bundle.config.height, filter=bundle.config.filter)
        try:
            runner = Runner(game, renderer, players=options.players, recording=recording,
                            on_samples=to_sinks if sinks else None,
                            samples_every=1 if speaker is not None else SAMPLES_EVERY,
                            render_every_tick=options.dev and options.headless)
            frames: list[Path] = []
            if options.headless:
                if options.frames:
                    options.frames.mkdir(parents=True, exist_ok=True)
                frames = runner.run_headless(600 if options.ticks is None else options.ticks,
                                             every=options.every if options.frames else 0, frames_dir=options.frames)
                if options.screenshot:
                    runner.frame()
            else:
                from layerw.gfx.window import Window

                assert renderer is not None
                with Window(renderer, title=f"{bundle.config.name} - Layer-W") as window:
                    def present() -> bool:
                        window.present()
                        return not window.closed

                    runner.run_realtime(present, lambda state: state.set_devices(0, window.poll()), ticks=options.ticks)
            if options.screenshot and renderer is not None:
                renderer.save_png(options.screenshot)
            runner.drain()
            return PlayResult(game.tick_count, game.state_hash(), frames, game.audio_hash())
        finally:
            if renderer is not None:
                renderer.close()

