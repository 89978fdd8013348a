"""Netplay: the NETPLAY register of a cart that runs in a room, and the state every copy shares.

# Spec: https://wasm4.org/docs/reference/memory (NETPLAY: bit 2 set in a netplay session, bits 0-1
the local player's index). In a room each copy of the cart shows one player's view: while ``start``
and ``update`` run, NETPLAY holds ``ACTIVE`` with that player's index (the room's own copy and a
spectator show player 0's); between calls memory holds ``SHARED``, so snapshots and the state hash
are equal on every copy. What a copy drew for its player differs, so in a room the state hash reads
the framebuffer as zeros. A cart whose game logic reads NETPLAY (or reads back what it drew) splits
the room, as it desyncs a WASM-4 netplay session: the room's hash checks catch that and heal it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from layerw.errors import SessionError
from layerw.runtime.wasm4 import memorymap as mm

ACTIVE = 0b100  # bit 2: the cart runs in a netplay session (a room)
SHARED = ACTIVE  # NETPLAY between calls in a room, on every copy: player 0's value
_BLANK_FRAMEBUFFER = bytes(mm.FRAMEBUFFER_SIZE)


class Netplay:
    """NETPLAY for one copy of a room's cart: ``seat`` is the player it shows (None: the room itself
    or a spectator, who see player 0's view)."""

    def __init__(self, seat: int | None) -> None:
        if seat is not None and not 0 <= seat < mm.MAX_PLAYERS:
            raise SessionError(f"a cart has players 0..{mm.MAX_PLAYERS - 1}, not {seat}")
        self.seat = seat
        self.local = ACTIVE | (seat or 0)  # what the cart reads while start and update run

    @contextmanager
    def call(self, ram: np.ndarray) -> Iterator[None]:
        """Around a call into the cart: it reads its own player's NETPLAY, memory keeps the shared one."""
        ram[mm.NETPLAY] = self.local
        try:
            yield
        finally:
            self.leave(ram)

    @staticmethod
    def leave(ram: np.ndarray) -> None:
        """After a call (and after a restore): memory holds the value every copy shares."""
        ram[mm.NETPLAY] = SHARED


def room_hash(ram: np.ndarray) -> hashlib._Hash:
    """SHA-256 begun over a room's copy of the 64 KiB: the framebuffer as zeros (each copy draws its own player's view)."""
    view = ram.data
    h = hashlib.sha256(view[:mm.FRAMEBUFFER])
    h.update(_BLANK_FRAMEBUFFER)
    h.update(view[mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE:])
    return h
