"""Prediction and rollback against a real Room, with the network's delay played by queues of ticks."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ProtocolError, SessionError
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.session import protocol as p
from layerw.session.replica import Replica
from layerw.session.rollback import Rollback
from layerw.session.room import Room
from layerw.wire import MAX_AHEAD
from tests.conftest import GAMES
from tests.session.test_room import connect, player_bytes, scripted


@pytest.fixture(scope="module")
def pong(built: Callable[[Path], Path]) -> Bundle:
    return Bundle.open(built(GAMES / "pong"))


class Link:
    """One client's connection, ``lag`` ticks each way: frames and inputs wait in queues."""

    def __init__(self, replica: Replica, lag: int, lead: int) -> None:
        self.replica, self.lag, self.lead = replica, lag, lead
        self.down: deque[tuple[int, bytes]] = deque()  # (room tick it arrives at, FRAME)
        self.up: deque[tuple[int, bytes]] = deque()  # (room tick it arrives at, INPUT or HASH)
        self.own_visible = 0  # predicted ticks that carried the local input sent just before them


def play(room: Room, links: list[Link], ticks: int, script: Callable[[int, int], bytes | None]) -> None:
    """Run the room ``ticks`` ticks; clients predict ``lead`` ticks ahead of the frames they have."""
    for _ in range(ticks):
        now = room.tick
        for link in links:
            while link.up and link.up[0][0] <= now:
                msg = p.decode_client(link.up.popleft()[1])
                if isinstance(msg, p.Input):
                    room.submit(link.replica.seat, msg)
                else:
                    assert isinstance(msg, p.Hash) and room.check(link.replica.seat, msg), msg
        frame = room.step()
        for link in links:
            link.down.append((now + link.lag, frame))
            replica = link.replica
            while link.down and link.down[0][0] <= now:
                decoded = p.decode_server(link.down.popleft()[1])
                assert isinstance(decoded, p.Frame)
                report = replica.apply(decoded)
                if report is not None:
                    link.up.append((now + link.lag, report))
            while replica.tick - replica.confirmed < link.lead:
                player = script(replica.seat, replica.tick)
                if player is not None:
                    link.up.append((now + link.lag, replica.input_for(player)))
                assert replica.predict()
                if player is not None and replica.input_delay == 0:
                    guess = np.frombuffer(replica.rollback.ring[-1].players, dtype=abi.PLAYER.dtype)
                    assert guess[replica.seat].tobytes() == player  # own input on the very next tick
                    link.own_visible += 1


def drain(room: Room, links: list[Link]) -> None:
    """Stop predicting, step the room past every client's present, then deliver every frame in flight."""
    for link in links:
        link.lead = 0
    while room.tick < max(link.replica.tick for link in links):
        play(room, links, 1, lambda seat, tick: None)
    for link in links:
        while link.down:
            decoded = p.decode_server(link.down.popleft()[1])
            assert isinstance(decoded, p.Frame)
            link.replica.apply(decoded)


@pytest.mark.parametrize("lag, lead", [(2, 4), (3, 2)])  # own inputs on time; own inputs late (repaired too)
def test_predicting_clients_confirm_the_rooms_hashes(pong: Bundle, engine: Engine, lag: int, lead: int) -> None:
    room = Room("r", pong, engine, input_delay=0, hash_every=10)
    links = [Link(connect(room, pong, engine), lag, lead) for _ in range(2)]
    play(room, links, 1200, scripted)
    drain(room, links)
    for link in links:
        rollback = link.replica.rollback
        assert rollback.rollbacks > 10 and rollback.resimulated >= rollback.rollbacks
        assert rollback.predicted > 1000
        assert link.own_visible > 10
        assert [room.hashes.get(t, h) for t, h in link.replica.reported] == [h for _, h in link.replica.reported]
    assert links[0].replica.reported == links[1].replica.reported
    assert {link.replica.game.state_hash() for link in links} == {room.game.state_hash()}
    assert all(link.replica.tick == link.replica.confirmed == room.tick for link in links)


def test_a_correct_guess_costs_no_rollback(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine, input_delay=0, hash_every=10)
    links = [Link(connect(room, pong, engine), 3, 6) for _ in range(2)]
    play(room, links, 300, lambda seat, tick: None)
    for link in links:  # one repair: tick 0's frame seats both players (events, which nobody guesses)
        assert (link.replica.rollback.rollbacks, link.replica.rollback.resimulated) == (1, 6)
        assert link.replica.rollback.predicted >= 290


def test_the_window_bounds_prediction_and_frames_come_in_order(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine, input_delay=0)
    replica = connect(room, pong, engine, replica=Replica(pong, engine, window=3))
    assert [replica.predict() for _ in range(4)] == [True, True, True, False]
    with pytest.raises(ProtocolError, match="arrived when tick"):
        replica.apply(p.Frame(replica.confirmed + 1))
    with pytest.raises(SessionError, match="prediction window"):
        Rollback(replica.game, replica.inputs, window=61)


def test_a_spectator_stays_on_confirmed_frames(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine)
    spectator = Replica(pong, engine)
    welcome = p.decode_server(room.join(p.Hello(p.SPECTATOR, bytes(16), p.NO_BASE)).encode())
    assert isinstance(welcome, p.Welcome)
    spectator.welcome(welcome)
    assert not spectator.predict()


def test_resimulated_ticks_are_never_heard(pong: Bundle, engine: Engine) -> None:
    """Each tick's sound reaches the speaker once, when first simulated, however often it is resimulated."""
    per_tick = abi.SAMPLE_RATE // pong.config.tick_rate * 2 * abi.CHANNELS
    heard: list[bytes] = []
    room = Room("r", pong, engine, input_delay=0)
    for _ in range(2):
        room.join(p.Hello(p.PLAYER, bytes(16), p.NO_BASE))
    with Game(pong, engine) as game:  # a player's game with sound, ahead of the room by 5 ticks
        held = InputState(players=2)
        held.record["players"][1]["connected"] = 0
        rollback = Rollback(game, held, seat=0, window=8, on_samples=heard.append)
        frames: deque[bytes] = deque()
        for tick in range(600):
            if tick % 20 == 0:  # seat 1 changes its input often: the guesses for it are often wrong
                room.submit(1, p.Input(tick, player_bytes("ArrowUp" if tick % 40 else "ArrowDown")))
            frames.append(room.step())
            while len(frames) > 3:
                frame = p.decode_server(frames.popleft())
                assert isinstance(frame, p.Frame)
                rollback.confirm(frame)
            while rollback.ahead < 5:
                rollback.predict()
        assert rollback.rollbacks >= 20 and rollback.resimulated > rollback.rollbacks
        assert len(b"".join(heard)) == game.tick_count * per_tick  # one tick's samples per tick, never more


def test_a_listening_replica_hears_each_tick_once_however_often_it_is_repaired(pong: Bundle, engine: Engine) -> None:
    per_tick = abi.SAMPLE_RATE // pong.config.tick_rate * 2 * abi.CHANNELS
    heard: list[bytes] = []
    room = Room("r", pong, engine, input_delay=0, hash_every=10)
    listening = connect(room, pong, engine, replica=Replica(pong, engine, on_samples=heard.append))
    links = [Link(listening, 3, 5), Link(connect(room, pong, engine), 3, 5)]
    play(room, links, 400, scripted)
    assert listening.rollback.rollbacks > 5 and listening.rollback.resimulated > listening.rollback.rollbacks
    assert len(b"".join(heard)) == listening.tick * per_tick
    assert not links[1].replica.game.take_samples()  # nobody listens to the other: it mixes nothing
    late: list[bytes] = []
    joiner = connect(room, pong, engine, replica=Replica(pong, engine, on_samples=late.append))
    assert joiner.tick == room.tick == 400 and not b"".join(late)  # catching up on a join is not heard


def test_own_input_stays_predicted_while_a_room_far_ahead_applies_it_late(pong: Bundle, engine: Engine) -> None:
    """A client whose frames come MAX_AHEAD+ ticks behind the room (a loaded machine) sends its keys for
    its own tick; the room applies them at its own, later tick. Until the frames show them, every
    prediction still carries the newest (dropping old ones as "lost" showed keys the player had
    released, or pressed keys released: press, release and press again all land late here)."""
    room = Room("r", pong, engine, input_delay=0, hash_every=10)
    replica = connect(room, pong, engine)
    seat, behind = replica.seat, MAX_AHEAD + 40
    keys = {10: player_bytes("KeyW"), 40: player_bytes(), 70: player_bytes("KeyS")}
    schedule = {tick: np.frombuffer(b, dtype=abi.PLAYER.dtype).copy() for tick, b in keys.items()}
    for player in schedule.values():
        player["connected"] = 1  # as the room holds it
    in_flight: deque[bytes] = deque()
    newest: bytes | None = None
    shown = 0
    for _ in range(behind + 3 * MAX_AHEAD):
        in_flight.append(room.step())
        if len(in_flight) <= behind:
            continue
        frame = p.decode_server(in_flight.popleft())
        assert isinstance(frame, p.Frame)
        report = replica.apply(frame)
        if report is not None:
            msg = p.decode_client(report)
            assert isinstance(msg, p.Hash) and room.check(seat, msg)
        while replica.tick - replica.confirmed < 2:
            if replica.tick in schedule:
                newest = schedule.pop(replica.tick).tobytes()
                sent = p.decode_client(replica.input_for(newest))
                assert isinstance(sent, p.Input)
                room.submit(seat, sent)  # at once: the room is `behind` ticks further on, and applies it there
            assert replica.predict()
            if newest is not None:
                guess = np.frombuffer(replica.rollback.ring[-1].players, dtype=abi.PLAYER.dtype)[seat]
                assert guess.tobytes() == newest, f"tick {replica.tick}: own keys not predicted"
                shown += 1
    assert not schedule and replica.confirmed > 70 + behind + 10  # every late application reached the client
    assert shown > 2 * MAX_AHEAD and not replica.rollback.own
    assert replica.inputs.record["players"][seat].tobytes() == newest
