"""join: play in a multiplayer room natively — what ``layerw join`` does.

Wires the pieces a native player needs: the room's module from the server's store, an engine, the
online client, and (unless headless) a window that shows the predicted present (confirmed frames for
a spectator) and feeds its devices back as this player's input.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from layerw.play.play import quiet_gl_probe
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import Recording
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


@dataclass(frozen=True)
class JoinResult:
    address: RoomAddress
    outcome: Outcome


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
    with StoreBundle(address.base, address.game, channel=options.channel) as bundle, Engine(CpuLimit.EPOCH) as engine:
        client = OnlineClient(bundle, engine, prediction=Prediction(options.window, options.lead))
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
    return JoinResult(address, outcome)
