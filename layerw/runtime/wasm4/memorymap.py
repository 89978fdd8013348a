"""The WASM-4 memory map and flags: where a cart finds its registers in its one 64 KiB page.

# Spec: https://wasm4.org/docs/reference/memory (the public ``wasm4.h`` states the same numbers).
Every register lives in the cart's own linear memory, so carts read and write them directly; the
host writes the input registers before each ``update`` and reads the rest when it draws or shows
the frame.
"""

from __future__ import annotations

MEMORY_SIZE = 65536  # exactly one wasm page: initial = maximum = 1
SCREEN = 160  # the framebuffer is SCREEN x SCREEN pixels, 2 bits each
ROW_BYTES = SCREEN // 4
FONT_SIZE = 8

PALETTE = 0x04  # 4 x u32 0x00RRGGBB
DRAW_COLORS = 0x14  # u16: four 4-bit fields, 0 = transparent, n = palette colour n - 1
GAMEPADS = 0x16  # 4 x u8, one per player
MOUSE_X = 0x1A  # i16
MOUSE_Y = 0x1C  # i16
MOUSE_BUTTONS = 0x1E  # u8
MOUSE_OFF_SCREEN = 0x7FFF  # MOUSE_X and MOUSE_Y until the pointer first shows over the game
SYSTEM_FLAGS = 0x1F  # u8
NETPLAY = 0x20  # u8: bit 2 set in a netplay session, bits 0-1 the local player's index
FRAMEBUFFER = 0xA0  # 6400 bytes, 4 pixels a byte, the leftmost pixel in the lowest bits
FRAMEBUFFER_SIZE = SCREEN * ROW_BYTES

DEFAULT_PALETTE = (0xE0F8CF, 0x86C06C, 0x306850, 0x071821)
DEFAULT_DRAW_COLORS = 0x1203

BUTTON_1 = 1
BUTTON_2 = 2
BUTTON_LEFT = 16
BUTTON_RIGHT = 32
BUTTON_UP = 64
BUTTON_DOWN = 128

MOUSE_LEFT = 1
MOUSE_RIGHT = 2
MOUSE_MIDDLE = 4

SYSTEM_PRESERVE_FRAMEBUFFER = 1
SYSTEM_HIDE_GAMEPAD_OVERLAY = 2

BLIT_2BPP = 1
BLIT_FLIP_X = 2
BLIT_FLIP_Y = 4
BLIT_ROTATE = 8

DISK_SIZE = 1024  # bytes of persistent storage per cart

MAX_PLAYERS = 4
