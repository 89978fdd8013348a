"""Controls: Layer-W's per-tick input as WASM-4's GAMEPADS and MOUSE registers.

# Spec: https://wasm4.org/docs/reference/memory#gamepads and #mouse.
Player p's gamepad byte (p = 0..3) merges that player's keyboard (X, V or Space: button 1; Z, C
or N: button 2; arrows: the d-pad) and every gamepad the player holds (W3C standard mapping: A
or X button 1, B or Y button 2, the d-pad or the left stick past half way: directions). The
mouse is player 0's pointer in screen pixels, its buttons as they are (left 1, right 2, middle 4);
it starts off screen (MOUSE_OFF_SCREEN in both, as WASM-4 starts it) until the pointer shows.
"""

from __future__ import annotations

import struct

import numpy as np

from layerw import abi
from layerw.runtime.inputs import KEY_CODES, PAD_CODES, InputState
from layerw.runtime.wasm4 import memorymap as mm

KEY_BUTTONS: dict[str, int] = {
    "KeyX": mm.BUTTON_1, "KeyV": mm.BUTTON_1, "Space": mm.BUTTON_1,
    "KeyZ": mm.BUTTON_2, "KeyC": mm.BUTTON_2, "KeyN": mm.BUTTON_2,
    "ArrowLeft": mm.BUTTON_LEFT, "ArrowRight": mm.BUTTON_RIGHT, "ArrowUp": mm.BUTTON_UP, "ArrowDown": mm.BUTTON_DOWN,
}
PAD_BUTTONS: dict[str, int] = {
    "A": mm.BUTTON_1, "X": mm.BUTTON_1, "B": mm.BUTTON_2, "Y": mm.BUTTON_2,
    "LEFT": mm.BUTTON_LEFT, "RIGHT": mm.BUTTON_RIGHT, "UP": mm.BUTTON_UP, "DOWN": mm.BUTTON_DOWN,
}
STICK = 0.5
_KEYS = [(KEY_CODES[name], bit) for name, bit in KEY_BUTTONS.items()]
_PADS = [(PAD_CODES[name], bit) for name, bit in PAD_BUTTONS.items()]
OFF_SCREEN_BYTES = struct.pack("<hh", mm.MOUSE_OFF_SCREEN, mm.MOUSE_OFF_SCREEN)


def gamepad(player: np.void) -> int:
    """One player's gamepad byte."""
    keys = player["keys"]
    byte = 0
    for code, bit in _KEYS:
        if int(keys[code >> 5]) >> (code & 31) & 1:
            byte |= bit
    for pad in player["gamepads"]:
        if not pad["connected"]:
            continue
        buttons = int(pad["buttons"])
        for code, bit in _PADS:
            if buttons >> code & 1:
                byte |= bit
        ax, ay = float(pad["axes"][0]), float(pad["axes"][1])
        byte |= (mm.BUTTON_LEFT if ax < -STICK else 0) | (mm.BUTTON_RIGHT if ax > STICK else 0)
        byte |= (mm.BUTTON_UP if ay < -STICK else 0) | (mm.BUTTON_DOWN if ay > STICK else 0)
    return byte


def mouse_seen(ram: np.ndarray) -> bool:
    """Whether the pointer has shown over the game: MOUSE_X and MOUSE_Y no longer hold OFF_SCREEN."""
    return bytes(ram[mm.MOUSE_X:mm.MOUSE_Y + 2]) != OFF_SCREEN_BYTES


def registers(inputs: InputState, seen: bool) -> bytes:
    """GAMEPADS (4 bytes) then MOUSE_X, MOUSE_Y and MOUSE_BUTTONS: the bytes at 0x16..0x1e. The
    position stays OFF_SCREEN until the pointer first comes over the game (``seen`` says whether it
    has), then follows it, also outside the screen, as WASM-4's does."""
    players = inputs.record["players"]
    pads = bytes(gamepad(players[p]) for p in range(abi.MAX_PLAYERS))
    pointer = players[0]["pointer"]
    x, y = (max(-32768, min(32767, int(np.floor(v)))) if np.isfinite(v) else 0
            for v in (float(pointer["x"]), float(pointer["y"])))
    if not seen and not pointer["inside"]:
        x = y = mm.MOUSE_OFF_SCREEN
    return pads + struct.pack("<hhB", x, y, int(pointer["buttons"]) & 7)
