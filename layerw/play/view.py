"""WindowView: a room's game in a desktop window — each tick as the player sees it, devices as input.

Renders at most once per display refresh however fast frames arrive (a joining client fast-
forwards hundreds of ticks without drawing them), and turns the window's polled devices into
this player's input; the online client sends it when it changes.
"""

from __future__ import annotations

import time

from layerw.config import GameConfig
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.inputs import InputState
from layerw.session.replica import Replica

FRAME_S = 1 / 60


class WindowView:
    def __init__(self, config: GameConfig) -> None:
        from layerw.gfx.window import Window

        self.renderer = WgpuRenderer(config.width, config.height, filter=config.filter)
        self.window = Window(self.renderer, title=f"{config.name} - Layer-W room")
        self._shown = 0.0

    def frame(self, replica: Replica, local: InputState) -> bool:
        """After each tick shown (predicted, or confirmed for a spectator): draw if a refresh is due,
        poll devices; False once closed."""
        now = time.monotonic()
        if now - self._shown >= FRAME_S:
            for handle, image in replica.game.take_new_textures():
                self.renderer.set_texture(handle, image)
            self.renderer.draw(replica.game.render())
            self.window.present()
            self._shown = now
        local.set_devices(0, self.window.poll())
        return not self.window.closed

    def close(self) -> None:
        self.window.close()
        self.renderer.close()

    def __enter__(self) -> WindowView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
