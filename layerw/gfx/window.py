"""Window: shows a WgpuRenderer's frames in a desktop window and polls its input devices.

Built on rendercanvas (glfw backend) for the window and its wgpu surface; the game's offscreen
target is blitted, stretched with nearest filtering, into the window each ``present()``. Input is
polled, not called back: ``poll()`` returns the keyboard, mouse and gamepad state now, in the ABI's
terms (key codes are indices of ``abi.KEYS``, buttons ``abi.POINTER_BUTTONS`` and W3C gamepad
order). glfw and rendercanvas are imported only when a Window is made, so headless use never
loads them.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import TracebackType
from typing import Any

from layerw import abi
from layerw.errors import RenderError
from layerw.gfx.renderer import WgpuRenderer

# abi.KEYS names that glfw spells differently; the rest map by a rule (KeyA -> KEY_A, F1 -> KEY_F1).
_GLFW_KEY_NAMES = {
    "ArrowLeft": "LEFT", "ArrowRight": "RIGHT", "ArrowUp": "UP", "ArrowDown": "DOWN",
    "ShiftLeft": "LEFT_SHIFT", "ShiftRight": "RIGHT_SHIFT", "ControlLeft": "LEFT_CONTROL",
    "ControlRight": "RIGHT_CONTROL", "AltLeft": "LEFT_ALT", "AltRight": "RIGHT_ALT",
    "BracketLeft": "LEFT_BRACKET", "BracketRight": "RIGHT_BRACKET", "Quote": "APOSTROPHE",
    "Backquote": "GRAVE_ACCENT", "PageUp": "PAGE_UP", "PageDown": "PAGE_DOWN",
}
# W3C standard gamepad button i <- glfw gamepad button (triggers come from axes).
_PAD_FROM_GLFW = (0, 1, 2, 3, 4, 5, -1, -1, 6, 7, 9, 10, 11, 13, 14, 12, 8)


NO_DISPLAY_HINT = "run it with --headless (layerw run/dev/join --headless) or where a display is"


def require_display() -> None:
    """Refuse a window up front where no display can be reached, instead of glfw's assertion (exit 134):
    on Linux and the BSDs a window needs $DISPLAY (X11) or $WAYLAND_DISPLAY."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RenderError(f"no display to open a window on: DISPLAY and WAYLAND_DISPLAY are unset; {NO_DISPLAY_HINT}")


def _glfw_keys(glfw: Any) -> list[tuple[int, int]]:
    """(abi key code, glfw key) for every abi key glfw knows."""
    pairs = []
    for code, name in enumerate(abi.KEYS):
        glfw_name = _GLFW_KEY_NAMES.get(name) or name.removeprefix("Key").removeprefix("Digit")
        key = getattr(glfw, "KEY_" + glfw_name.upper(), None)
        if key is not None and code:
            pairs.append((code, key))
    return pairs


class Window:
    """A desktop window presenting ``renderer``'s target, ``scale`` window pixels per game pixel."""

    def __init__(self, renderer: WgpuRenderer, *, title: str = "Layer-W", scale: int = 3) -> None:
        try:
            import glfw
            import wgpu
            from rendercanvas.glfw import RenderCanvas
        except ImportError as e:  # pragma: no cover - needs a desktop
            raise RenderError(f"cannot open a window: {e}; install glfw and rendercanvas") from e
        require_display()
        with warnings.catch_warnings():  # pyGLFW warns what the error below says
            warnings.simplefilter("ignore")
            usable = glfw.init()  # before rendercanvas, whose glfw calls assert after a failed init
        if not usable:
            raise RenderError(f"cannot open a window: glfw found no usable display; {NO_DISPLAY_HINT}")
        self._glfw = glfw
        self.renderer = renderer
        try:
            self.canvas = RenderCanvas(size=(renderer.width * scale, renderer.height * scale),
                                       title=title, update_mode="manual", vsync=True)
        except Exception as e:  # pragma: no cover - needs a desktop
            raise RenderError(f"cannot open a window ({e}); is a display available?") from e
        self.context = self.canvas.get_context("wgpu")
        fmt = self.context.get_preferred_format(renderer.device.adapter).removesuffix("-srgb")
        self.context.configure(device=renderer.device, format=fmt)
        self._blit = renderer.pipeline("vs_blit", "fs_blit", "triangle-list", target_format=fmt)
        self._source = renderer.texture_group(renderer.target_view)
        self._camera = renderer.device.create_buffer(size=256, usage=wgpu.BufferUsage.UNIFORM)
        self._camera_group = renderer.device.create_bind_group(
            layout=renderer.camera_layout,
            entries=[{"binding": 0, "resource": {"buffer": self._camera, "size": 32}}])
        self._keys = _glfw_keys(glfw)
        self.canvas.request_draw(self._draw)

    @property
    def closed(self) -> bool:
        return bool(self.canvas.get_closed())

    def _draw(self) -> None:
        view = self.context.get_current_texture().create_view()
        encoder = self.renderer.device.create_command_encoder()
        rp = encoder.begin_render_pass(color_attachments=[{
            "view": view, "load_op": "clear", "store_op": "store", "clear_value": (0, 0, 0, 1)}])
        rp.set_pipeline(self._blit)
        rp.set_bind_group(0, self._camera_group, [0])
        rp.set_bind_group(1, self._source)
        rp.draw(3)
        rp.end()
        self.renderer.device.queue.submit([encoder.finish()])

    def present(self) -> None:
        """Show the renderer's last frame."""
        if not self.closed:
            self.canvas.force_draw()

    def poll(self) -> dict[str, Any]:
        """Process window events; return {closed, keys, pointer, gamepads} as of now.

        keys: frozenset of abi key codes held; pointer: x, y in game pixels, buttons bits,
        inside; gamepads: up to abi.MAX_GAMEPADS dicts of connected, buttons bits, 6 axes.
        """
        glfw = self._glfw
        self.canvas._process_events()  # rendercanvas' own poll: glfw events, resize, close
        win = getattr(self.canvas, "_window", None)
        if win is None:
            return {"closed": True, "keys": frozenset(), "pointer": None, "gamepads": []}
        keys = frozenset(code for code, key in self._keys if glfw.get_key(win, key) == glfw.PRESS)
        cx, cy = glfw.get_cursor_pos(win)
        ww, wh = glfw.get_window_size(win)
        x, y = cx * self.renderer.width / max(ww, 1), cy * self.renderer.height / max(wh, 1)
        buttons = sum(bit for bit, b in ((1, glfw.MOUSE_BUTTON_LEFT), (2, glfw.MOUSE_BUTTON_RIGHT),
                                         (4, glfw.MOUSE_BUTTON_MIDDLE))
                      if glfw.get_mouse_button(win, b) == glfw.PRESS)
        inside = 0 <= cx < ww and 0 <= cy < wh
        pointer = {"x": x, "y": y, "buttons": buttons, "inside": int(inside)}
        return {"closed": False, "keys": keys, "pointer": pointer, "gamepads": self._gamepads()}

    def _gamepads(self) -> list[dict[str, Any]]:
        glfw, pads = self._glfw, []
        for jid in range(glfw.JOYSTICK_1, glfw.JOYSTICK_1 + abi.MAX_GAMEPADS):
            state = glfw.get_gamepad_state(jid) if glfw.joystick_is_gamepad(jid) else None
            if not state:
                pads.append({"connected": 0, "buttons": 0, "axes": [0.0] * 6})
                continue
            held, axes = list(state.buttons), [float(a) for a in state.axes][:6]
            bits = 0
            for i, src in enumerate(_PAD_FROM_GLFW):
                pressed = axes[4 + (i - 6)] > 0.0 if src < 0 else held[src] == glfw.PRESS
                bits |= int(pressed) << i
            pads.append({"connected": 1, "buttons": bits, "axes": axes})
        return pads

    def close(self) -> None:
        self._camera.destroy()
        if not self.closed:
            self.canvas.close()

    def __enter__(self) -> Window:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
