"""Sound across a rejoin: a client whose connection was lost while a sound played fades what it was
playing into the room's sound over 5 ms when it rejoins, as after a heal, instead of jumping (a
click); a client's first join has nothing playing, and hears the room's sound unfaded."""

from __future__ import annotations

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.audio import FADE_FRAMES
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.replica import Replica
from layerw.session.room import Room
from tests.runtime.sound.game import SCORE, build_game
from tests.session.test_heal_sound import follow
from tests.session.test_rollback_sound import frames, player

START = 100  # the client joins; the score's own sounds have ended (stopped at tick 80)
SPACE_AT = 106  # the client's Space, applied by the room: a blip (4 ticks long)
LOST_AT = 108  # the connection is lost before this tick's frame, the blip still playing
REJOIN_AT = 120  # the client is back: the room's blip has ended
END = 124


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return Bundle.open(build_game(tmp_path_factory.mktemp("sound")))


def messages(bundle: Bundle, engine: Engine, *, lost: bool = True, spectate_from: int | None = None) -> list[bytes]:
    """What a room sends one client from its WELCOME at START to END, the client's Space applied at
    SPACE_AT; with ``lost`` nothing reaches it from LOST_AT until it rejoins (its token) at REJOIN_AT.
    With ``spectate_from``: what a spectator joining at that tick gets instead."""
    room = Room("r", bundle, engine, input_delay=0, seed=SCORE)
    try:
        for _ in range(START):
            room.step()
        welcome = room.join(p.Hello(p.PLAYER, bytes(p.TOKEN_SIZE), p.NO_BASE))
        out = [welcome.encode()]
        room.submit(welcome.seat, p.Input(SPACE_AT, player(0, "Space", True)))
        room.submit(welcome.seat, p.Input(SPACE_AT + 1, player(0, "Space", False)))
        while room.tick < END:
            if lost and room.tick == LOST_AT:
                room.leave(welcome.seat)
                while room.tick < REJOIN_AT:
                    room.step()  # frames the client never gets
                out.append(room.join(p.Hello(p.PLAYER, welcome.token, p.NO_BASE)).encode())
            if room.tick == spectate_from:
                out = [room.join(p.Hello(p.SPECTATOR, bytes(p.TOKEN_SIZE), p.NO_BASE)).encode()]
            out.append(room.step())
        return out
    finally:
        room.close()


def heard(bundle: Bundle, engine: Engine, data: list[bytes]) -> list[bytes]:
    """Each tick's samples as the client hears them, in order."""
    out: list[bytes] = []
    replica = Replica(bundle, engine, window=0, on_samples=out.append)
    try:
        follow(replica, data)
        assert replica.tick == END
        return out
    finally:
        replica.close()


def test_a_rejoin_fades_what_was_playing_into_the_rooms_sound(sound: Bundle, engine: Engine) -> None:
    rejoined = heard(sound, engine, messages(sound, engine))
    stayed = heard(sound, engine, messages(sound, engine, lost=False))
    before = LOST_AT - START  # ticks heard before the connection was lost
    assert rejoined[:before] == stayed[:before]  # the blip and all, as the room played it
    assert len(rejoined) == before + END - REJOIN_AT  # the ticks missed are not heard late
    was, now = frames(stayed[before]), frames(rejoined[before])  # what would have played on; what plays
    assert np.abs(was[:FADE_FRAMES]).max() > 1000  # a jump to the room's silence here would click
    ramp = np.arange(FADE_FRAMES)[:, None]
    assert np.array_equal(now[:FADE_FRAMES], (was[:FADE_FRAMES] * (FADE_FRAMES - ramp)) // FADE_FRAMES)
    assert now[0].tolist() == was[0].tolist()  # continuous with what was heard
    assert not now[FADE_FRAMES:].any() and all(not frames(t).any() for t in rejoined[before + 1:])


def test_a_first_join_hears_the_rooms_sound_unfaded(sound: Bundle, engine: Engine) -> None:
    """A spectator joining while the room's blip plays: nothing was playing here, so the blip is heard
    as the room's history has it from the first tick, sample for sample what a client there all along hears."""
    joined = heard(sound, engine, messages(sound, engine, lost=False, spectate_from=SPACE_AT + 1))
    stayed = heard(sound, engine, messages(sound, engine, lost=False))
    assert np.abs(frames(joined[0])[:FADE_FRAMES]).max() > 1000  # a fade in would change these
    assert joined == stayed[SPACE_AT + 1 - START:]
