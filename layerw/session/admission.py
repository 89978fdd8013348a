"""Admission: whether a new room may be created now, and for which client address — the fair-share guard.

A room costs memory (its game's linear memory and the snapshots it keeps) for as long as anyone
keeps joining it, and building one costs a store fetch, a compile and an instantiation. So a new
room must fit five bounds (all in ``Limits``): rooms in all, rooms per address, room memory in all
and per address, and creations per address per minute. A new player seat in a room another address
created must fit one more: seats per address (``seat``). A room counts against the address whose join
created it until it closes; rooms still being built count too, so concurrent joins cannot overshoot.
Refusals of the server's own capacity raise ``RoomFull`` (try again later); refusals of one
address's share raise ``SessionError`` (policy).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from layerw.errors import RoomFull, SessionError
from layerw.runtime.snapshot import PAGE
from layerw.session.room import Room
from layerw.wire import KEPT_SNAPSHOTS

if TYPE_CHECKING:
    from layerw.session.limits import Limits

RoomKey = tuple[str, str]  # (game, room id)
MIB = 1 << 20


def footprint(room: Room) -> int:
    """Bytes a room holds: its game's linear memory (as of its newest snapshot) plus the snapshots
    it keeps, counted as many as it will keep (a young room has fewer, but grows to that within a
    few snapshot periods). Kept snapshots count at their raw size, held raw or encoded (an encoded
    one is not decoded to count it: this runs over every room at each admission)."""
    newest = room.saved[-1]
    kept = sum(s.memory_size for s in room.saved)
    return newest.pages * PAGE + kept + (KEPT_SNAPSHOTS - len(room.saved)) * newest.memory_size


class Admission:
    """The rooms each address holds, the creation rate each address has left, and each game's
    last measured footprint (the estimate for its next room until that one is built)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.owners: dict[RoomKey, str] = {}  # every live or building room -> the address whose join created it
        self.building: dict[RoomKey, int] = {}  # rooms being built -> their estimated footprint
        self.footprints: dict[str, int] = {}  # game -> bytes its newest room held when built
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address -> (tokens, when)

    def admit(self, key: RoomKey, peer: str, in_use: Mapping[RoomKey, int], now: float) -> None:
        """Let ``peer`` start building room ``key`` (``in_use``: each live room's footprint), or
        raise why not. Only an admitted creation spends one of the address's tokens."""
        lim = self.limits
        if len(self.owners) >= lim.max_rooms:
            raise RoomFull(f"this server hosts at most {lim.max_rooms} rooms")
        mine = [k for k, owner in self.owners.items() if owner == peer]
        if len(mine) >= lim.rooms_per_address:
            raise SessionError(f"{peer} keeps {len(mine)} rooms open, the most one address may "
                               f"(rooms_per_address {lim.rooms_per_address}): leave one first")
        estimate = self.footprints.get(key[0], 0)
        self._check_memory(peer, estimate, in_use)
        tokens = self._tokens(peer, now)
        if tokens < 1:
            raise SessionError(f"{peer} creates rooms too fast: at most {lim.rooms_per_minute:g} a minute "
                               f"(bursts of {lim.room_burst}); join an open room or wait")
        self.buckets[peer] = (tokens - 1, now)
        self.owners[key] = peer
        self.building[key] = estimate

    def seat(self, key: RoomKey, peer: str, holders: Mapping[RoomKey, Sequence[str]]) -> None:
        """Let ``peer`` take a new player seat in room ``key`` (``holders``: who holds each taken seat
        of every live room), or raise why not. Seats in rooms that ``peer`` created are its own to
        fill (friends behind one address); in others' rooms it holds at most ``seats_per_address``,
        so one address that learned room ids cannot take the seats their players came for."""
        if self.owners.get(key) == peer:
            return
        lim = self.limits
        held = sum(seats.count(peer) for k, seats in holders.items() if self.owners.get(k) != peer)
        if held >= lim.seats_per_address:
            raise SessionError(f"{peer} holds {held} seats in rooms other addresses created, the most one address "
                               f"may (seats_per_address {lim.seats_per_address}): leave one first")

    def settle(self, key: RoomKey, room: Room, in_use: Mapping[RoomKey, int]) -> int:
        """A room finished building: check its measured footprint against the memory bounds (the
        estimate may have been low), remember it for the game's next room; returns it."""
        peer = self.owners[key]
        del self.building[key]
        size = footprint(room)
        self.footprints[key[0]] = size
        self._check_memory(peer, size, in_use)
        return size

    def release(self, key: RoomKey) -> None:
        """The room closed or its building failed: it no longer counts against anyone."""
        self.owners.pop(key, None)
        self.building.pop(key, None)

    def _check_memory(self, peer: str, size: int, in_use: Mapping[RoomKey, int]) -> None:
        lim = self.limits
        held = {k: in_use.get(k, 0) for k in self.owners} | self.building
        total = sum(held.values())
        if total + size > lim.room_memory_bytes:
            raise RoomFull(f"the rooms here hold {total // MIB} MiB; a new room of {size / MIB:.1f} MiB "
                           f"would pass the server's {lim.room_memory_bytes // MIB} MiB (room_memory_bytes)")
        own = sum(v for k, v in held.items() if self.owners.get(k) == peer)
        if own + size > lim.room_memory_per_address:
            raise SessionError(f"{peer}'s rooms hold {own // MIB} MiB; a new room of {size / MIB:.1f} MiB would "
                               f"pass one address's share of {lim.room_memory_per_address // MIB} MiB: leave a room first")

    def _tokens(self, peer: str, now: float) -> float:
        """The address's creation tokens now (a token bucket); forgets the least recently seen
        addresses past ``limits.addresses``, never one that holds a room."""
        lim = self.limits
        tokens, when = self.buckets.pop(peer, (float(lim.room_burst), now))
        self.buckets[peer] = (tokens, when)  # now the most recently seen
        if len(self.buckets) > lim.addresses:  # one address came in: one goes
            holding = set(self.owners.values())
            oldest = next((a for a in self.buckets if a not in holding and a != peer), None)
            if oldest is not None:
                del self.buckets[oldest]
        return min(float(lim.room_burst), tokens + (now - when) * lim.rooms_per_minute / 60)
