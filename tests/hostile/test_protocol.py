"""The lockstep wire protocol under hostile bytes: the decoders give a message or ProtocolError; a room
fed any sequence of client messages refuses them with SessionErrors only; a server connection fed
them closes with a WebSocket code, while the room goes on ticking."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ProtocolError, SessionError
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.host import Limits, RoomHost
from layerw.session.room import Room
from tests.hostile.harness import fuzz
from tests.wat import bundle, contract_wat

CLOSE_CODES = {1000, 1001, 1002, 1008, 1009, 1011, 1013}
U32 = st.integers(0, 2**32 - 1)
players = st.binary(min_size=abi.PLAYER.size, max_size=abi.PLAYER.size)
tokens = st.binary(min_size=p.TOKEN_SIZE, max_size=p.TOKEN_SIZE)
client_messages = st.one_of(
    st.builds(p.hello, st.integers(0, 1), tokens | st.just(bytes(p.TOKEN_SIZE)), U32),
    st.builds(p.input_message, U32 | st.integers(0, 200), players),
    st.builds(p.hash_message, U32 | st.integers(0, 200), st.binary(min_size=32, max_size=32)),
    st.binary(max_size=p.MAX_CLIENT_MESSAGE + 8),
)


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """Flip, cut or extend an honest message."""
    b = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        if b and draw(st.booleans()):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(b)))
    return bytes(b[:cut]) + draw(st.binary(max_size=8)) if draw(st.booleans()) else bytes(b)


@st.composite
def server_messages(draw: st.DrawFn) -> bytes:
    frames = st.builds(p.Frame, U32, st.lists(st.tuples(st.integers(0, 3), players), max_size=2).map(tuple),
                       st.lists(st.tuples(U32, U32, U32, U32), max_size=2).map(tuple))
    state = st.builds(p.State, U32, st.binary(min_size=abi.INPUT.size, max_size=abi.INPUT.size), st.integers(0, 1), U32,
                      st.binary(max_size=64), st.lists(frames.map(p.Frame.encode), max_size=2).map(tuple))
    welcome = st.builds(p.Welcome, st.integers(0, 255), tokens, st.integers(0, 65535), st.integers(0, 65535),
                        st.integers(0, 65535), st.integers(0, 65535), state)
    honest = draw(st.one_of(frames, state, welcome)).encode()
    return mutate(honest, draw) if draw(st.booleans()) else honest


@fuzz(500)
@given(client_messages)
def test_decode_client(data: bytes) -> None:
    try:
        msg = p.decode_client(data)
    except ProtocolError:
        return
    again = {p.Hello: lambda m: p.hello(m.role, m.token, m.base_tick), p.Input: lambda m: p.input_message(m.tick, m.player),
             p.Hash: lambda m: p.hash_message(m.tick, m.digest)}[type(msg)](msg)  # type: ignore[index]
    assert again == data


@fuzz(300)
@given(server_messages() | st.binary(max_size=64))
def test_decode_server(data: bytes) -> None:
    try:
        msg = p.decode_server(data)
    except ProtocolError:
        return
    assert msg.encode() == data  # nothing accepted that the encoder would not write


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    count = "(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"
    return bundle(tmp_path_factory.mktemp("room"), contract_wat(tick=count), name="wat")


@pytest.fixture
def room(game: Bundle, engine: Engine) -> Iterator[Room]:
    r = Room("hostile", game, engine, hash_every=5, snapshot_every=10)
    yield r
    r.close()


@fuzz(150)
@given(st.lists(st.tuples(st.integers(0, 3), client_messages), max_size=20))
def test_room_refuses_with_session_errors_only(game: Bundle, engine: Engine,
                                               script: list[tuple[int, bytes]]) -> None:
    room = Room("hostile", game, engine, hash_every=5, snapshot_every=10)
    seats: list[int] = []
    try:
        for steps, data in script:
            for _ in range(steps):
                room.step()
            try:
                msg = p.decode_client(data)
                if isinstance(msg, p.Hello):
                    seats.append(room.join(msg).seat)
                elif isinstance(msg, p.Input):
                    room.submit(seats[-1] if seats else p.NO_SEAT, msg)
                else:
                    room.check(seats[-1] if seats else p.NO_SEAT, msg)
            except SessionError:
                pass
        before = room.tick
        room.step()
        assert room.tick == before + 1
    finally:
        room.close()


class Wire:
    """One client connection to ``RoomHost.serve`` in memory: scripted messages in, close code out."""

    def __init__(self, script: list[bytes], *, stay: bool = False) -> None:
        self.script = list(script)
        self.stay = stay  # after the script: wait (a quiet client) instead of going away
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> bytes:
        if not self.script:
            await asyncio.sleep(3600 if self.stay else 0.05)
            raise ConnectionError("client went away")
        return self.script.pop(0)

    async def send(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def _until(condition: Callable[[], bool], what: str, limit_s: float = 10.0) -> None:
    """Wait (on the event loop, bounded) until ``condition`` holds."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within {limit_s} s"
        await asyncio.sleep(0.01)


@fuzz(25)
@given(st.lists(client_messages, min_size=1, max_size=8), st.booleans())
def test_server_connection_closes_with_a_code(game: Bundle, engine: Engine, script: list[bytes], greet: bool) -> None:
    async def run() -> tuple[Wire, int]:
        host = RoomHost(lambda name: game, engine, Limits(speed=20.0, hello_timeout_s=0.5, idle_timeout_s=5.0))
        try:
            anchor = Wire([p.hello(p.SPECTATOR)], stay=True)  # keeps the room open
            anchor_task = asyncio.create_task(host.serve("wat", "r", anchor.receive, anchor.send, anchor.close))
            await _until(lambda: ("wat", "r") in host.runners, "the anchor's room is open")  # a loaded machine may take a while
            wire = Wire(([p.hello(p.PLAYER)] if greet else []) + script)
            await asyncio.wait_for(host.serve("wat", "r", wire.receive, wire.send, wire.close), 10)
            tick = host.runners[("wat", "r")].room.tick
            await _until(lambda: host.runners[("wat", "r")].room.tick > tick, "the room went on ticking")
            anchor_task.cancel()
            return wire, tick
        finally:
            await host.close()

    wire, _ = asyncio.run(run())
    assert wire.closed is not None and wire.closed[0] in CLOSE_CODES, wire.closed


@pytest.mark.parametrize("data", [
    b"",
    bytes([p.HELLO]),
    struct.pack("<BBB", p.HELLO, 99, 0) + bytes(20),
    struct.pack("<BBB", p.HELLO, p.VERSION, 7) + bytes(20),
    struct.pack("<BI", p.INPUT, 5) + bytes(abi.PLAYER.size - 1),
    struct.pack("<BI", p.INPUT, 5) + bytes(abi.PLAYER.size + 1),
    bytes([0xFF]) + bytes(8),
    bytes(p.MAX_CLIENT_MESSAGE + 1),
])
def test_named_malformed_client_messages(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        p.decode_client(data)


def test_state_claiming_four_billion_frames_is_truncated_not_allocated() -> None:
    data = struct.pack("<BI", p.STATE, 1) + bytes(abi.INPUT.size) + struct.pack("<BIII", 0, 0, 0, 2**32 - 1)
    with pytest.raises(ProtocolError, match="truncated"):
        p.decode_server(data)


def test_input_for_a_tick_far_ahead_is_refused(room: Room, tmp_path: Path) -> None:
    seat = room.join(p.Hello(p.PLAYER, bytes(16), p.NO_BASE)).seat
    with pytest.raises(ProtocolError, match="ahead"):
        room.submit(seat, p.Input(2**32 - 1, bytes(abi.PLAYER.size)))
    assert not any(t > room.tick + 200 for t in room.pending)
