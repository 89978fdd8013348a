"""Sound across a heal: when the room's state replaces a client's (a desync), what the client was
playing ramps into the room's sound over 5 ms, as after a rollback, instead of jumping (a click);
each tick is heard once, and the game's audio hash is the room's history's, unfaded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.audio import FADE_FRAMES
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.replica import Replica
from layerw.session.room import Room
from tests.runtime.sound.game import SCORE, build_game
from tests.session.test_rollback_sound import frames, player

START = 100  # the client joins; the score's own sounds have ended (stopped at tick 80)
SPACE_AT = 106  # the client's frames (not the room's) hold Space here: a blip only it plays (4 ticks long)
HEAL_AT = 108  # the room's STATE heals it while that blip still plays
END = 116
AHEAD = 1  # a predicting client's lead: the blip still plays at the first tick it hears after the heal


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return Bundle.open(build_game(tmp_path_factory.mktemp("sound")))


def messages(bundle: Bundle, engine: Engine, *, heal: bool = True, heal_at: int = HEAL_AT, end: int = END) -> list[bytes]:
    """What a room sends one client from its WELCOME at START to ``end``, except that the frames for
    SPACE_AT and the tick after reach it with Space pressed and released (its history, not the room's:
    a desync), and (with ``heal``) the room's STATE before the frame of ``heal_at``."""
    room = Room("r", bundle, engine, input_delay=0, seed=SCORE)
    try:
        for _ in range(START):
            room.step()
        out = [room.join(p.Hello(p.PLAYER, bytes(p.TOKEN_SIZE), p.NO_BASE)).encode()]
        while room.tick < end:
            tick = room.tick
            if heal and tick == heal_at:
                out.append(room.state_for(p.NO_BASE).encode())
            frame = room.step()
            if tick in (SPACE_AT, SPACE_AT + 1):
                frame = p.Frame(tick, ((0, player(0, "Space", tick == SPACE_AT)),)).encode()
            out.append(frame)
        return out
    finally:
        room.close()


def follow(replica: Replica, data: list[bytes], ahead: int = 0) -> None:
    """Handle the server's messages as OnlineClient does, predicting ``ahead`` ticks after each."""
    for message in data:
        msg = p.decode_server(message)
        if isinstance(msg, p.Welcome):
            replica.welcome(msg)
        elif isinstance(msg, p.State):
            replica.heal(msg)
        else:
            assert isinstance(msg, p.Frame)
            replica.apply(msg)
        while replica.tick - replica.confirmed < ahead and replica.predict():
            pass


def heard(bundle: Bundle, engine: Engine, data: list[bytes], ahead: int = 0, end: int = END) -> tuple[dict[int, bytes], str]:
    """Each tick's samples as a client predicting ``ahead`` ticks hears them, and its game's audio hash."""
    out: list[bytes] = []
    replica = Replica(bundle, engine, window=ahead, on_samples=out.append)
    try:
        follow(replica, data, ahead)
        assert replica.tick == end + ahead
        return dict(zip(range(START, replica.tick), out, strict=True)), replica.game.audio_hash()
    finally:
        replica.close()


def test_a_heal_fades_what_was_playing_into_the_rooms_sound(sound: Bundle, engine: Engine) -> None:
    healed, _ = heard(sound, engine, messages(sound, engine))
    desynced, _ = heard(sound, engine, messages(sound, engine, heal=False))
    for tick in range(START, HEAL_AT):
        assert healed[tick] == desynced[tick]  # its own history, blip and all, until the room's state came
    was, now = frames(desynced[HEAL_AT]), frames(healed[HEAL_AT])
    assert np.abs(was[:FADE_FRAMES]).max() > 1000  # a jump to the room's silence here would click
    ramp = np.arange(FADE_FRAMES)[:, None]
    assert np.array_equal(now[:FADE_FRAMES], (was[:FADE_FRAMES] * (FADE_FRAMES - ramp)) // FADE_FRAMES)
    assert now[0].tolist() == was[0].tolist()  # continuous with what was heard
    steps = np.abs(np.diff(np.concatenate([frames(healed[HEAL_AT - 1]), now]), axis=0)).max()
    assert steps <= np.abs(np.diff(np.concatenate([frames(desynced[HEAL_AT - 1]), was]), axis=0)).max()
    assert not now[FADE_FRAMES:].any() and all(not frames(healed[t]).any() for t in range(HEAL_AT + 1, END))


def test_the_audio_hash_is_the_rooms_history_unfaded(sound: Bundle, engine: Engine) -> None:
    """The hash restarts at the heal's restore and covers the mix, not what was heard: equal to that of
    a client that joined with the same STATE and heard no fade."""
    data = messages(sound, engine)
    heal = next(i for i, m in enumerate(data) if isinstance(p.decode_server(m), p.State))
    welcome = p.decode_server(data[0])
    assert isinstance(welcome, p.Welcome)
    state = p.decode_server(data[heal])
    assert isinstance(state, p.State)
    joined = dataclasses.replace(welcome, state=state).encode()
    _, healed_hash = heard(sound, engine, data)
    out: list[bytes] = []
    replica = Replica(sound, engine, window=0, on_samples=out.append)
    try:
        follow(replica, [joined, *data[heal + 1:]])
        assert replica.game.audio_hash() == healed_hash
    finally:
        replica.close()


def test_a_predicting_client_hears_each_tick_once_across_a_heal(sound: Bundle, engine: Engine) -> None:
    """A tick ahead when the room's state comes: the heal predicts again, unheard, up to where the
    screen was, so the tick it had heard is not heard twice (``heard`` checks one tick's samples per
    tick), and what it hears next fades in from what was playing."""
    healed, _ = heard(sound, engine, messages(sound, engine), ahead=AHEAD)
    desynced, _ = heard(sound, engine, messages(sound, engine, heal=False), ahead=AHEAD)
    cut = HEAL_AT + AHEAD  # the first tick heard after the heal
    assert all(healed[t] == desynced[t] for t in range(START, cut))
    was, now = frames(desynced[cut]), frames(healed[cut])
    assert np.abs(was[:FADE_FRAMES]).max() > 1000 and now[0].tolist() == was[0].tolist()
    assert not now[FADE_FRAMES:].any()
