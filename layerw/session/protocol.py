"""The lockstep wire protocol: binary WebSocket messages, versioned, little-endian.

Every message starts with one type byte; the constants live in ``wire.py`` (the browser's copy,
``layerw/web/wire.js``, is generated from it). Player input travels as the contract's own ``lw_player``
struct (``abi.PLAYER``), so the server never interprets it: it stamps it with a tick and relays it.

Client -> server
    HELLO  0x01  u8 version, u8 role (0 player, 1 spectator), 16-byte seat token (zeros: new),
                 u32 base_tick (tick of a snapshot the client still holds, or 0xFFFFFFFF)
    INPUT  0x02  u32 target tick, lw_player bytes (sent only when the player's devices change)
    HASH   0x03  u32 tick, 32-byte SHA-256 state hash (every ``hash_every`` ticks)
    PING   0x04  8-byte payload (the client's clock), answered at once by a PONG echoing it

Server -> client
    WELCOME 0x10 u8 version, u8 seat (255 = spectator), 16-byte seat token, u16 tick_rate,
                 u16 input_delay, u16 hash_every, u16 snapshot_every, then a STATE body
    STATE   0x11 u32 tick, lw_input bytes (held input at that tick), u8 kind (0 full, 1 delta),
                 u32 base tick, u32 n + snapshot (or delta) bytes, u32 frame count, frames (u32 n + FRAME)
    FRAME   0x12 u32 tick, u8 change count, changes (u8 seat + lw_player), u8 event count, lw_event[]
    PONG    0x13 the 8-byte payload of the PING it answers (a round trip, measured by the client)

Steady state is FRAME messages only: 7 bytes per tick when nobody's input changed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from layerw import abi
from layerw.errors import ProtocolError
from layerw.wire import (
    DELTA,
    FRAME,
    FULL,
    HASH,
    HASH_SIZE,
    HELLO,
    INPUT,
    MAX_CLIENT_MESSAGE,
    NO_BASE,
    NO_SEAT,
    PING,
    PING_SIZE,
    PLAYER,
    PONG,
    SPECTATOR,
    STATE,
    TOKEN_SIZE,
    VERSION,
    WELCOME,
)

__all__ = [  # the wire's constants are defined once in wire.py; callers write p.HELLO
    "DELTA", "FRAME", "FULL", "HASH", "HASH_SIZE", "HELLO", "INPUT", "MAX_CLIENT_MESSAGE", "NO_BASE", "NO_SEAT",
    "PING", "PING_SIZE", "PLAYER", "PONG", "SPECTATOR", "STATE", "TOKEN_SIZE", "VERSION", "WELCOME",
    "Frame", "Hash", "Hello", "Input", "Ping", "Pong", "State", "Welcome",
    "decode_client", "decode_frame", "decode_server", "hash_message", "hello", "input_message", "ping_message",
    "pong_message",
]


@dataclass(frozen=True)
class Hello:
    role: int
    token: bytes
    base_tick: int


@dataclass(frozen=True)
class Input:
    tick: int
    player: bytes


@dataclass(frozen=True)
class Hash:
    tick: int
    digest: bytes


@dataclass(frozen=True)
class Ping:
    payload: bytes  # PING_SIZE bytes the server echoes untouched


@dataclass(frozen=True)
class Pong:
    payload: bytes  # the PING's payload


@dataclass(frozen=True)
class Frame:
    tick: int
    changes: tuple[tuple[int, bytes], ...] = ()  # (seat, lw_player bytes)
    events: tuple[tuple[int, int, int, int], ...] = ()  # lw_event (kind, player, a, b)

    def encode(self) -> bytes:
        if not self.changes and not self.events:  # most ticks: nobody's input changed
            return struct.pack("<BIBB", FRAME, self.tick, 0, 0)
        out = [struct.pack("<BIB", FRAME, self.tick, len(self.changes))]
        out += [struct.pack("<B", seat) + player for seat, player in self.changes]
        out.append(struct.pack("<B", len(self.events)))
        out += [struct.pack("<4I", *e) for e in self.events]
        return b"".join(out)


@dataclass(frozen=True)
class State:
    tick: int
    inputs: bytes  # lw_input record held at `tick`
    kind: int  # FULL snapshot bytes or DELTA against base_tick
    base_tick: int
    snapshot: bytes
    frames: tuple[bytes, ...] = field(default=())  # encoded FRAME messages, as broadcast; see decode_frame

    def encode(self) -> bytes:
        return b"".join([
            struct.pack("<BI", STATE, self.tick), self.inputs,
            struct.pack("<BII", self.kind, self.base_tick, len(self.snapshot)), self.snapshot,
            struct.pack("<I", len(self.frames)), *(struct.pack("<I", len(f)) + f for f in self.frames)])


@dataclass(frozen=True)
class Welcome:
    seat: int
    token: bytes
    tick_rate: int
    input_delay: int
    hash_every: int
    snapshot_every: int
    state: State

    def encode(self) -> bytes:
        head = struct.pack("<BBB", WELCOME, VERSION, self.seat) + self.token
        timing = struct.pack("<HHHH", self.tick_rate, self.input_delay, self.hash_every, self.snapshot_every)
        return head + timing + self.state.encode()


def hello(role: int, token: bytes = bytes(TOKEN_SIZE), base_tick: int = NO_BASE) -> bytes:
    return struct.pack("<BBB", HELLO, VERSION, role) + token + struct.pack("<I", base_tick)


def input_message(tick: int, player: bytes) -> bytes:
    return struct.pack("<BI", INPUT, tick) + player


def hash_message(tick: int, digest: bytes) -> bytes:
    return struct.pack("<BI", HASH, tick) + digest


def ping_message(payload: bytes) -> bytes:
    if len(payload) != PING_SIZE:
        raise ProtocolError(f"a PING carries {PING_SIZE} bytes, not {len(payload)}")
    return bytes([PING]) + payload


def pong_message(payload: bytes) -> bytes:
    return bytes([PONG]) + payload


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = memoryview(data), 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise ProtocolError(f"message truncated: needs {n} bytes at offset {self.at}, has {len(self.data) - self.at}")
        out = bytes(self.data[self.at:self.at + n])
        self.at += n
        return out

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def end(self) -> None:
        if self.at != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.at} unexpected bytes at the end of the message")


def decode_client(data: bytes) -> Hello | Input | Hash | Ping:
    """Parse a client message; anything malformed raises ProtocolError."""
    if not data or len(data) > MAX_CLIENT_MESSAGE:
        raise ProtocolError(f"client message of {len(data)} bytes (allowed 1..{MAX_CLIENT_MESSAGE})")
    r = _Reader(data)
    (kind,) = r.unpack("<B")
    msg: Hello | Input | Hash | Ping
    if kind == HELLO:
        version, role = r.unpack("<BB")
        if version != VERSION:
            raise ProtocolError(f"protocol version {version}; this server speaks {VERSION}")
        if role not in (PLAYER, SPECTATOR):
            raise ProtocolError(f"unknown role {role}")
        token = r.take(TOKEN_SIZE)
        (base,) = r.unpack("<I")
        msg = Hello(role, token, base)
    elif kind == INPUT:
        (tick,) = r.unpack("<I")
        msg = Input(tick, r.take(abi.PLAYER.size))
    elif kind == HASH:
        (tick,) = r.unpack("<I")
        msg = Hash(tick, r.take(HASH_SIZE))
    elif kind == PING:
        msg = Ping(r.take(PING_SIZE))
    else:
        raise ProtocolError(f"unknown client message type {kind:#x}")
    r.end()
    return msg


def _frame(r: _Reader) -> Frame:
    tick, n = r.unpack("<IB")
    changes = []
    for _ in range(n):
        (seat,) = r.unpack("<B")
        if seat >= abi.MAX_PLAYERS:
            raise ProtocolError(f"frame names seat {seat}")
        changes.append((seat, r.take(abi.PLAYER.size)))
    (m,) = r.unpack("<B")
    events = tuple(r.unpack("<4I") for _ in range(m))
    return Frame(tick, tuple(changes), events)  # type: ignore[arg-type]


def _state(r: _Reader) -> State:
    (tick,) = r.unpack("<I")
    inputs = r.take(abi.INPUT.size)
    kind, base, n = r.unpack("<BII")
    snapshot = r.take(n)
    (count,) = r.unpack("<I")
    frames = []
    for _ in range(count):
        (size,) = r.unpack("<I")
        frames.append(r.take(size))
        decode_frame(frames[-1])  # checked now: a malformed STATE fails whole, before anything is applied
    return State(tick, inputs, kind, base, snapshot, tuple(frames))


def decode_frame(data: bytes) -> Frame:
    """One encoded FRAME message (as a STATE carries them)."""
    r = _Reader(data)
    if r.unpack("<B")[0] != FRAME:
        raise ProtocolError("not a FRAME message")
    frame = _frame(r)
    r.end()
    return frame


def decode_server(data: bytes) -> Welcome | State | Frame | Pong:
    r = _Reader(data)
    (kind,) = r.unpack("<B")
    msg: Welcome | State | Frame | Pong
    if kind == WELCOME:
        version, seat = r.unpack("<BB")
        if version != VERSION:
            raise ProtocolError(f"server speaks protocol {version}; this client speaks {VERSION}")
        token = r.take(TOKEN_SIZE)
        rate, delay, every, snap_every = r.unpack("<HHHH")
        if r.unpack("<B")[0] != STATE:
            raise ProtocolError("WELCOME without a STATE body")
        msg = Welcome(seat, token, rate, delay, every, snap_every, _state(r))
    elif kind == STATE:
        msg = _state(r)
    elif kind == FRAME:
        msg = _frame(r)
    elif kind == PONG:
        msg = Pong(r.take(PING_SIZE))
    else:
        raise ProtocolError(f"unknown server message type {kind:#x}")
    r.end()
    return msg
