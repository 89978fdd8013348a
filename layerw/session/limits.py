"""Limits: what one room server lets rooms and their clients use, each bound with what it protects.

A frozen dataclass so a server's settings are one value, shared read-only by the room host and the
admission check (``admission.py``) that creating a room must pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """A room server's bounds; the defaults suit a public server on a small machine (README: Running a public server)."""

    # Creating rooms (checked by session/admission.py before a room is built, and its memory again after):
    max_rooms: int = 256  # rooms in all: each one's beat shares this process's event loop and CPU
    rooms_per_address: int = 16  # fair share: one client address cannot keep every room, others can still create
    room_memory_bytes: int = 8 << 30  # all rooms' memory (linear memory + kept snapshots): the process's RAM
    room_memory_per_address: int = 1 << 30  # fair share of that memory one address's rooms may hold
    rooms_per_minute: float = 30.0  # room creations per address, sustained: each costs a fetch, compile, instantiate
    room_burst: int = 16  # creations one address may make at once (a page opening a few rooms)
    addresses: int = 10_000  # addresses whose creation rate is remembered: bounds the admission's own memory
    seats_per_address: int = 4  # player seats one address may hold in rooms other addresses created: theirs to play
    builders: int = 4  # rooms built at once, each on a thread off the event loop: bounds that work's CPU and memory
    # Each client and room:
    queue_frames: int = 600  # outgoing messages buffered per client before it is dropped as too slow
    messages_per_second: float = 240.0
    burst: int = 480
    hello_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0  # a client sends a hash every hash_every ticks; silence means gone
    unacked_s: float = 10.0  # a player sending inputs but no hash (no acknowledgement) this long is OutOfStep
    empty_room_s: float = 30.0  # a room with no client for this long closes
    speed: float = 1.0  # game time per real time: > 1 fast-forwards rooms (replays, tests, load runs)
    # Joins and heals (each sends a whole snapshot), counted by session/allowance.py:
    joins_per_second: float = 2.0  # per client address: a join may start a room and is sent a snapshot
    join_burst: int = 32
    heals_per_second: float = 0.5  # per connection: a heal resends the whole snapshot
    heal_burst: int = 2
    peer_heals_per_second: float = 2.0  # per client address, all its connections together
    peer_heal_burst: int = 8
    max_peers: int = 10_000  # client addresses whose allowances are remembered: bounds their memory
    # Kept snapshots, counted by session/rawkept.py:
    raw_snapshot_bytes: int = 256 << 20  # all rooms' kept snapshots held raw; past it the oldest are compressed
