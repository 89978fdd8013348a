"""join: play in a multiplayer room natively — what ``layerw join`` does.

Wires the pieces a native player needs: the room's module from the server's store, an engine, the
online client, (unless headless) a window that shows the predicted present (confirmed frames for
a spectator) and feeds its devices back as this player's input, and (with ``sound``) the speaker
``layerw run --sound`` plays through: each tick is heard once, when first simulated; a join's or a
heal's fast-forward and a rollback's resimulation are not heard.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from layerw.play.play import open_speaker, quiet_gl_probe
from layerw.play.sample_ring import FRAME_BYTES
from layerw.play.speaker import Speaker
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import Recording
from layerw.runtime.tier import Tier
from layerw.session.client import OnlineClient, Outcome, Prediction, RoomAddress
from layerw.session.rollback import DEFAULT_WINDOW
from layerw.store.bundle import StoreBundle


@dataclass(frozen=True)
class JoinOptions:
    headless: bool = True
    ticks: int = 600                  # play until the game reaches this tick (a window also stops when closed)
    inputs: Path | None = None        # input recording (JSON Lines) played as this seat
    channel: str = "latest"           # the channel the server's rooms run
    spectate: bool = False            # watch without a seat
    window: int = DEFAULT_WINDOW      # ticks a player may predict ahead of the room's confirmed frames (0: none)
    lead: int | None = None           # run exactly this many ticks ahead (None: as the measured round trip needs)
    sound: str | None = None          # play the room's mix: "default" device or a miniaudio backend ("null": no hardware)
    latency_ms: int = 40              # audio output latency budget (device buffer + queue)
    tier: Tier = Tier.AUTO            # the code generator this player's replica runs on (hashes agree on every tier)


@dataclass(frozen=True)
class JoinResult:
    address: RoomAddress
    outcome: Outcome
    frames_heard: int = 0  # frames given to the speaker (0 without --sound)
    underruns: int = 0  # the speaker's device callbacks that found too few frames


class Ears:
    """Where a room's samples go with ``--sound``: the speaker, counted."""

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker
        self.frames = 0

    def __call__(self, samples: bytes) -> None:
        self.frames += len(samples) // FRAME_BYTES
        self.speaker.write(samples)


def join(url: str, options: JoinOptions) -> JoinResult:
    """Join the room at ``url`` (the page address a browser opens: http://HOST:PORT/play/GAME?room=ID)
    and play until ``options.ticks``; the result carries the seat, tick and state hash."""
    address = RoomAddress.parse(url)
    recording = Recording.load(options.inputs) if options.inputs else None
    if not options.headless:
        from layerw.gfx.window import require_display

        require_display()
    quiet_gl_probe()
    # the module via the server's store
    with contextlib.ExitStack() as stack:
        speaker = stack.enter_context(open_speaker(options.sound, options.latency_ms)) if options.sound else None
        bundle = stack.enter_context(StoreBundle(address.base, address.game, channel=options.channel))
        engine = stack.enter_context(Engine(CpuLimit.EPOCH))
        ears = Ears(speaker) if speaker is not None else None
        outcome = _play(address, bundle, engine, options, recording, ears)
        return JoinResult(address, outcome, ears.frames if ears else 0, speaker.underruns if speaker else 0)


def _play(address: RoomAddress, bundle: StoreBundle, engine: Engine, options: JoinOptions, recording: Recording | None,
          ears: Ears | None) -> Outcome:
    """Follow the room with one online client (headless, or in a window) until ``options.ticks``."""
    client = OnlineClient(bundle, engine, prediction=Prediction(options.window, options.lead), on_samples=ears,
                          tier=options.tier)
    try:
        if options.headless:
            outcome = asyncio.run(client.play(address, ticks=options.ticks, recording=recording,
                                              spectate=options.spectate))
        else:
            from layerw.play.view import WindowView  # wgpu and glfw load only for a window

            with WindowView(bundle.config) as view:
                outcome = asyncio.run(client.play(address, ticks=options.ticks, recording=recording,
                                                  spectate=options.spectate, on_frame=view.frame))
    finally:
        client.close()
    return outcome
