"""Checkpoint: the record from which another process resumes a room — what the head object holds.

A room's checkpoint lives under ``rooms/<game>/<room>/`` in the store, beside modules and assets:

    <incarnation>/<tick>.full|.delta   immutable: a kept snapshot, whole or as the 4 KiB blocks that
                                       changed since the link before it (the deltas rejoins use)
    head                               mutable, replaced whole in one atomic put: this record
    head.<token>                       the same, written by an owner holding a lease with that fencing
                                       token (``lease.py``); its incarnation starts with the token

Fencing: each owner writes only its own token's head and deletes only objects of tokens up to its
own, and a resume reads the head of the highest token (``head`` counts as 0). An owner that stalled
past its lease and wakes to write again therefore never overwrites, nor sweeps away, the checkpoint
of the process that took the room over: its late head is simply never read.

The record names the chain of snapshot objects (a full one, then deltas) with each one's SHA-256,
and carries the frames the room stamped since the chain's last snapshot, its seats (token digests,
never tokens), the inputs stamped for later ticks and the events for the next frame. Snapshot,
then frames replayed as they were, is the room's state at ``tick``, on any host of the same build.

Binary form: ``LWCKPT1\\n``, a u32 header length, a JSON header, the frames (u32 length + FRAME
each), then the SHA-256 of everything before it: a truncated or altered head is CheckpointCorrupt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import CheckpointCorrupt, CheckpointError, NotPublished, ProtocolError, SnapshotError, StoreError
from layerw.runtime.engine import Engine
from layerw.runtime.snapshot import Snapshot, apply_delta
from layerw.session import protocol as p
from layerw.session.room import Room, Seat, SeatState
from layerw.store.store import ROOMS, Store

log = logging.getLogger("layerw.session")
MAGIC = b"LWCKPT1\n"
FORMAT = 1
MAX_HEAD_BYTES = 16 << 20  # a head holds at most a few snapshot intervals of frames: far below this
TOKEN_DIGITS = 12  # a fencing token in an object key, zero-padded so that keys sort as tokens do


def room_prefix(game: str, room: str) -> str:
    """Where a room's checkpoint objects live (game and room names are checked by the server)."""
    return f"{ROOMS}{game}/{room}/"


def head_key(game: str, room: str, token: int | None = None) -> str:
    """The head an owner with fencing ``token`` writes (``None``: an unfenced owner's)."""
    return f"{room_prefix(game, room)}head" + ("" if token is None else f".{token:0{TOKEN_DIGITS}d}")


def incarnation_of(token: int | None) -> str:
    """A new name for one process-room run's objects, led by its fencing token when it has one."""
    run = secrets.token_hex(8)
    return run if token is None else f"{token:0{TOKEN_DIGITS}d}-{run[:8]}"


def fence_of(key: str, prefix: str) -> int:
    """The fencing token an object of the room under ``prefix`` was written with (0: unfenced)."""
    name = key[len(prefix):]
    if name.startswith("head."):
        digits = name[5:]
    else:
        digits = name.split("/", 1)[0].split("-", 1)[0] if "-" in name.split("/", 1)[0] else ""
    return int(digits) if len(digits) == TOKEN_DIGITS and digits.isdigit() else 0


def newest_head(store: Store, game: str, room: str) -> str | None:
    """The key of the room's head with the highest fencing token, if it has one."""
    prefix = room_prefix(game, room)
    heads = [obj.key for obj in store.list(prefix) if obj.key[len(prefix):].split(".", 1)[0] == "head"]
    return max(heads, key=lambda key: fence_of(key, prefix), default=None)


@dataclass(frozen=True)
class Link:
    """One snapshot object of the chain: ``kind`` "full", or "delta" against the link before it."""

    key: str
    tick: int
    kind: str
    sha256: str


@dataclass(frozen=True)
class Checkpoint:
    game: str
    room: str
    incarnation: str  # the process-room run that wrote it (object keys of different runs never collide)
    options: dict[str, int]  # the Room's keyword options (seats, input_delay, hash_every, ...)
    chain: tuple[Link, ...]
    inputs: bytes  # the lw_input record held at chain[-1].tick
    frames: tuple[bytes, ...]  # encoded FRAMEs for ticks chain[-1].tick, chain[-1].tick + 1, ...
    seats: tuple[tuple[str, str, int], ...]  # (SeatState value, token SHA-256 hex or "", away_since)
    pending: tuple[tuple[int, int, bytes], ...]  # (tick, seat, lw_player) stamped for ticks from `tick` on
    events: tuple[tuple[int, int, int, int], ...]  # for the frame of `tick`
    written: float  # wall-clock seconds when it was made

    @property
    def base_tick(self) -> int:
        return self.chain[-1].tick

    @property
    def tick(self) -> int:
        """The room's tick this checkpoint resumes at."""
        return self.base_tick + len(self.frames)

    def encode(self) -> bytes:
        header = json.dumps({
            "format": FORMAT, "game": self.game, "room": self.room, "incarnation": self.incarnation,
            "options": self.options, "chain": [[x.key, x.tick, x.kind, x.sha256] for x in self.chain],
            "inputs": self.inputs.hex(), "seats": [list(s) for s in self.seats],
            "pending": [[t, s, b.hex()] for t, s, b in self.pending], "events": [list(e) for e in self.events],
            "written": self.written,
        }, separators=(",", ":")).encode()
        body = b"".join([MAGIC, struct.pack("<I", len(header)), header, struct.pack("<I", len(self.frames)),
                         *(struct.pack("<I", len(f)) + f for f in self.frames)])
        return body + hashlib.sha256(body).digest()

    @classmethod
    def decode(cls, data: bytes, where: str = "checkpoint") -> Checkpoint:
        """Parse a head; anything truncated, altered or malformed raises CheckpointCorrupt."""
        if len(data) > MAX_HEAD_BYTES:
            raise CheckpointCorrupt(f"{where}: {len(data)} bytes, above the {MAX_HEAD_BYTES} a head may hold")
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4 + 32:
            raise CheckpointCorrupt(f"{where}: not a Layer-W room checkpoint (bad magic or truncated)")
        body, digest = data[:-32], data[-32:]
        if hashlib.sha256(body).digest() != digest:
            raise CheckpointCorrupt(f"{where}: its digest does not match its bytes (truncated or altered)")
        try:
            (n,) = struct.unpack_from("<I", body, len(MAGIC))
            at = len(MAGIC) + 4
            doc = json.loads(body[at:at + n])
            at += n
            (count,) = struct.unpack_from("<I", body, at)
            at += 4
            frames = []
            for _ in range(count):
                (size,) = struct.unpack_from("<I", body, at)
                frames.append(body[at + 4:at + 4 + size])
                p.decode_frame(frames[-1])  # checked here: a resume never stops half way through its replay
                at += 4 + size
            if at != len(body) or doc["format"] != FORMAT:
                raise ValueError(f"format {doc['format']}, {len(body) - at} bytes after the frames")
            chain = tuple(Link(str(k), int(t), str(kind), str(sha)) for k, t, kind, sha in doc["chain"])
            if not chain or chain[0].kind != "full" or any(x.kind != "delta" for x in chain[1:]):
                raise ValueError("the snapshot chain must be one full snapshot, then deltas")
            inputs = bytes.fromhex(doc["inputs"])
            if len(inputs) != abi.INPUT.size:
                raise ValueError(f"an input record of {len(inputs)} bytes, not {abi.INPUT.size}")
            seats = tuple((SeatState(state).value, str(digest), int(away)) for state, digest, away in doc["seats"])
            pending = tuple((int(t), int(s), bytes.fromhex(b)) for t, s, b in doc["pending"])
            if any(not 0 <= s < len(seats) or len(b) != abi.PLAYER.size for _, s, b in pending):
                raise ValueError("an input stamped for a seat the room does not have, or of the wrong size")
            events = tuple((int(a), int(b), int(c), int(d)) for a, b, c, d in doc["events"])
            options = {str(k): int(v) for k, v in doc["options"].items()}
            return cls(str(doc["game"]), str(doc["room"]), str(doc["incarnation"]), options, chain, inputs,
                       tuple(frames), seats, pending, events, float(doc["written"]))
        except (ValueError, KeyError, TypeError, IndexError, struct.error, RecursionError, ProtocolError) as e:
            raise CheckpointCorrupt(f"{where}: malformed: {e}") from e

    def room_seats(self) -> list[Seat]:
        """The seats as a resumed room holds them (token digests only: a returning player proves its token)."""
        return [Seat(SeatState(state), b"", away, -1, digest=digest) for state, digest, away in self.seats]

    def room_pending(self) -> dict[int, dict[int, bytes]]:
        out: dict[int, dict[int, bytes]] = {}
        for tick, seat, player in self.pending:
            out.setdefault(tick, {})[seat] = player
        return out

    def snapshot(self, read: Callable[[str], bytes]) -> Snapshot:
        """The chain's newest snapshot, rebuilt from its objects (``read`` gets one by key), each
        checked against its digest; a missing or bad one raises CheckpointCorrupt."""
        snap: Snapshot | None = None
        for link in self.chain:
            data = read(link.key)
            if hashlib.sha256(data).hexdigest() != link.sha256:
                raise CheckpointCorrupt(f"{link.key}: its digest does not match the head's (truncated or altered)")
            try:
                snap = Snapshot.from_bytes(data) if snap is None else apply_delta(snap, data)
            except SnapshotError as e:
                raise CheckpointCorrupt(f"{link.key}: {e}") from e
            if snap.tick != link.tick:
                raise CheckpointCorrupt(f"{link.key} holds tick {snap.tick}, the head says {link.tick}")
        assert snap is not None  # decode refuses an empty chain
        return snap


def resume(store: Store, game: str, room_id: str, bundle: Bundle, engine: Engine, options: dict[str, int],
           tries: int = 3, max_age_s: float | None = None) -> Room:
    """The room ``game/room_id``, resumed from its checkpoint in ``store`` when it has one, else new
    (with ``options``). A checkpoint that cannot be resumed (truncated, altered, another build) is
    CheckpointCorrupt: logged, and the room starts over, marked so that returning players are told
    (RoomLost); a store that cannot be read raises CheckpointError (the join may try again, and the
    checkpoint is not overwritten by a room started over). Of several heads, the one of the highest
    fencing token is read. A checkpoint written more than ``max_age_s`` ago is abandoned: never
    resumed (the room starts over, and returning players are told), its objects left to the sweeps."""
    name = f"{game}/{room_id}"
    try:
        key = newest_head(store, game, room_id)
        if key is None:
            return Room(name, bundle, engine, **options)
        data = store.get(key)
    except NotPublished:  # swept between the listing and the read: a newer owner's head replaced it
        if tries <= 1:
            raise CheckpointError(f"room {name}'s checkpoint head kept vanishing as it was read: try again") from None
        return resume(store, game, room_id, bundle, engine, options, tries - 1, max_age_s)
    except StoreError as e:
        raise CheckpointError(f"cannot read room {name}'s checkpoint: {e}") from e
    try:
        return _resumed(store, name, data, key, bundle, engine, max_age_s)
    except CheckpointCorrupt as e:
        log.error("room %s: its checkpoint cannot be resumed (%s); the room starts over", name, e,
                  extra={"room": name, "error": type(e).__name__})
        room = Room(name, bundle, engine, **options)
        room.started_over = f"its checkpoint could not be resumed: {e}"
        return room


def _resumed(store: Store, name: str, data: bytes, key: str, bundle: Bundle, engine: Engine,
             max_age_s: float | None) -> Room:
    started = time.perf_counter()
    ckpt = Checkpoint.decode(data, where=key)
    age = time.time() - ckpt.written
    if max_age_s is not None and age > max_age_s:
        raise CheckpointCorrupt(f"{key}: abandoned: written {age:.0f} s ago, over the {max_age_s:g} s a checkpoint is kept")

    def read(link_key: str) -> bytes:
        try:
            return store.get(link_key)
        except NotPublished:
            raise CheckpointCorrupt(f"{link_key}, which the head names, is missing") from None
        except StoreError as e:
            raise CheckpointError(f"cannot read room {name}'s checkpoint: {e}") from e

    snapshot = ckpt.snapshot(read)
    room = Room(name, bundle, engine, **ckpt.options)
    try:
        room.resume(snapshot, ckpt.inputs, ckpt.frames, ckpt.room_seats(), ckpt.room_pending(), ckpt.events)
    except (SnapshotError, ProtocolError) as e:  # another build's snapshot; frames that do not follow it
        room.close()
        raise CheckpointCorrupt(f"{key}: {e}") from e
    except BaseException:
        room.close()
        raise
    log.info("room %s resumed at tick %d from its checkpoint (snapshot of tick %d + %d frames, written %.1f s ago) "
             "in %.0f ms", name, room.tick, ckpt.base_tick, len(ckpt.frames), time.time() - ckpt.written,
             (time.perf_counter() - started) * 1e3, extra={"room": name})
    return room
