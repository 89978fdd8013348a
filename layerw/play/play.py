"""play: run a game natively, headless or in a window — what ``layerw run`` does.

Data flows one way: a bundle (build dir or store) → the runtime (in-process or in a watchdog
worker) → the renderer (offscreen PNGs, or a window where a display exists). ``profile`` runs
instead write a Chrome trace of their frames (``layerw.play.profile``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from layerw.bundle import Bundle
from layerw.errors import AudioDeviceError, SaveError, UnsupportedCpuLimit
from layerw.play.profile import profile
from layerw.play.recorder import WavRecorder
from layerw.play.runner import SAMPLES_EVERY, Runner
from layerw.play.speaker import Speaker
from layerw.runtime import DEFAULT_CPU_LIMIT, DEFAULT_TIER, CpuLimit, GameHost, Tier, open_game
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
    tier: Tier = DEFAULT_TIER          # the code generator: auto (aot where it keeps every guarantee), wasmtime or aot
    audio: Path | None = None         # the mix as a WAV file
    sound: str | None = None          # play the mix on a device: "default" or a miniaudio backend ("null", "alsa", ...)
    latency_ms: int = 40              # the device's latency budget (buffer + queue)
    saves: Path | None = None         # the game's save slots (a cart's disk) live here; None: no saves
    dev: bool = False                 # check the contract as the game runs (layerw.runtime.devchecks)
    synctest: int = 0                 # > 0: roll back and resimulate this many ticks after every tick (SyncTest)
    profile: tuple[int, Path] | None = None  # (N, OUT): a Chrome trace of N frames to OUT (layerw.play.profile)
    debug: bool = False               # on an engine that gives gdb/lldb the guest's DWARF (Engine debug_info)
    online_saves: str | None = None   # a server (http://HOST:PORT) the slots are synced with, before and after play
    player_key: Path | None = None    # the player's key file for it (None: the default, made on first use)


@dataclass
class PlayResult:
    tick: int
    state_hash: str
    frames: list[Path] = field(default_factory=list)
    audio_hash: str = ""
    resimulated: int = 0  # ticks SyncTest simulated again (every one hashed as the first time)
    samples: int = 0  # guest stack samples in the profile


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
    """Run the game; with ``online_saves``, its slots are pulled from the server first and pushed after
    (``save_sync.py``), the play itself writing the local directory as ever."""
    if options.online_saves is None:
        return _play(bundle, options)
    if options.saves is None:
        raise SaveError("--online-saves syncs the game's save directory: give one with --saves")
    from layerw.play.online_saves import OnlineSaves, PlayerKey
    from layerw.play.save_sync import SaveSync

    key = PlayerKey.load_or_create(options.player_key)
    with SaveSync(Saves(options.saves), OnlineSaves(options.online_saves, bundle.config.name, key)) as sync:
        sync.pull()
        result = _play(bundle, options)
        sync.push()
    return result


def _play(bundle: Bundle, options: PlayOptions) -> PlayResult:
    recording = Recording.load(options.inputs) if options.inputs else None
    if not options.headless and options.profile is None:  # a profile runs offscreen
        from layerw.gfx.window import require_display

        require_display()
    wants_pictures = bool(options.screenshot or options.frames or options.profile) or not options.headless
    quiet_gl_probe()
    saves = Saves(options.saves) if options.saves else None
    with open_game(bundle, cpu_limit=options.cpu_limit, seed=options.seed, saves=saves, tier=options.tier,
                   debug_info=options.debug) as game, \
            ExitStack() as outputs:
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
                            samples_every=1 if speaker is not None else SAMPLES_EVERY, synctest=options.synctest,
                            render_every_tick=options.dev and options.headless)
            frames: list[Path] = []
            if options.profile is not None:
                assert renderer is not None
                count, out = options.profile
                taken = profile(game, bundle, renderer, count, out, seed=options.seed, players=options.players,
                                recording=recording)
                return PlayResult(game.tick_count, game.state_hash(), [], game.audio_hash(), taken)
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

                    runner.run_realtime(present, lambda state: runner.take_devices(state, window.poll()), ticks=options.ticks)
            if options.screenshot and renderer is not None:
                renderer.save_png(options.screenshot)
            runner.drain()
            resimulated = runner.synctest.resimulated if runner.synctest is not None else 0
            return PlayResult(game.tick_count, game.state_hash(), frames, runner.audio_hash(), resimulated)
        finally:
            if renderer is not None:
                renderer.close()

