"""A WAT cart that draws each player's own view from NETPLAY while its game logic reads inputs alone.

Its state: a tick counter and every gamepad's bytes summed (0x2000, u32). Its drawing: in a
netplay session (NETPLAY bit 2) a 40-pixel band at x = 40 * the local player's index, else an 8x8
square at the origin. ``LEAKY`` also keeps NETPLAY in its state (0x2004): game logic that reads the
local player, which splits a room as it splits a WASM-4 netplay session.
"""

from __future__ import annotations

import numpy as np

from layerw.runtime.wasm4 import memorymap as mm

BAND = 40  # the band's width: player p's band covers x = 40p .. 40p + 39
STATE = 0x2000

_CART = """(module
  (import "env" "memory" (memory 1 1))
  (import "env" "rect" (func $rect (param i32 i32 i32 i32)))
  (func (export "update") (local $n i32)
    (local.set $n (i32.load8_u (i32.const 0x20)))
    (i32.store (i32.const 0x2000) (i32.add (i32.add (i32.load (i32.const 0x2000)) (i32.const 1))
      (i32.add (i32.add (i32.load8_u (i32.const 0x16)) (i32.load8_u (i32.const 0x17)))
               (i32.add (i32.load8_u (i32.const 0x18)) (i32.load8_u (i32.const 0x19))))))
    LEAK
    (if (i32.and (local.get $n) (i32.const 4))
      (then (call $rect (i32.mul (i32.and (local.get $n) (i32.const 3)) (i32.const 40)) (i32.const 0)
                        (i32.const 40) (i32.const 160)))
      (else (call $rect (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 8))))))"""

NETPLAY_CART = _CART.replace("LEAK", "")
LEAKY = _CART.replace("LEAK", "(i32.store8 (i32.const 0x2004) (local.get $n))")


def drawn_columns(ram: np.ndarray) -> tuple[int, int] | None:
    """The first and last x where the framebuffer has a pixel of a colour other than 0 (None: none)."""
    fb = np.asarray(ram[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE], np.uint8).reshape(mm.SCREEN, mm.ROW_BYTES)
    pixels = np.stack([(fb >> (2 * i)) & 3 for i in range(4)], axis=2).reshape(mm.SCREEN, mm.SCREEN)
    xs = np.flatnonzero(pixels.any(axis=0))
    return (int(xs[0]), int(xs[-1])) if len(xs) else None


def band(seat: int) -> tuple[int, int]:
    """The columns player ``seat``'s view draws."""
    return seat * BAND, seat * BAND + BAND - 1
