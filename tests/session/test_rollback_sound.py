"""Sound under rollback: a sound a rollback took back fades out over 5 ms (no click), and one the
resimulation starts again at the same tick is heard once, as a run without prediction hears it."""

from __future__ import annotations

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.audio import FADE_FRAMES
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.session import protocol as p
from layerw.session.rollback import Rollback
from tests.runtime.sound.game import SCORE, build_game

START = 100  # the score's own sounds have ended (stopped at tick 80)
SPACE_AT = 106  # the local player's Space: a blip (4 ticks long at its rate)
END = 114
WINDOW = 2  # the blip still plays when the room's frame for SPACE_AT arrives


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return Bundle.open(build_game(tmp_path_factory.mktemp("sound")))


def player(seat: int, key: str, down: bool) -> bytes:
    state = InputState(players=2)
    state.key(seat, key, down)
    return bytes(state.record["players"][seat].tobytes())


def frames(samples: bytes) -> np.ndarray:
    return np.frombuffer(samples, dtype="<i2").reshape(-1, 2).astype(np.int64)


def plain(bundle: Bundle, engine: Engine, changes: dict[int, list[tuple[int, bytes]]]) -> dict[int, bytes]:
    """Each tick's samples from START with the confirmed ``changes`` (tick: [(seat, lw_player)]), no prediction."""
    out = {}
    with Game(bundle, engine, seed=SCORE) as game:
        held = InputState(players=2)
        for tick in range(END):
            for seat, bytes_ in changes.get(tick, []):
                held.record["players"][seat] = np.frombuffer(bytes_, dtype=held.record["players"].dtype)[0]
            game.tick(held)
            samples = game.take_samples()
            if tick >= START:
                out[tick] = samples
    return out


def predicted(bundle: Bundle, engine: Engine, changes: dict[int, list[tuple[int, bytes]]]) -> tuple[dict[int, bytes], int]:
    """Each tick's samples as a predicting client hears them (its own Space applied at once, the
    room's frames carrying ``changes``), and how many rollbacks it made."""
    heard: list[bytes] = []
    with Game(bundle, engine, seed=SCORE) as game:
        held = InputState(players=2)
        for _ in range(START):
            game.tick(held)
        game.take_samples()
        rollback = Rollback(game, held, seat=0, window=WINDOW, on_samples=heard.append)
        rollback.local(SPACE_AT, player(0, "Space", True))
        rollback.local(SPACE_AT + 1, player(0, "Space", False))
        while rollback.confirmed < END:
            while rollback.present < END and rollback.predict():
                pass
            tick = rollback.confirmed
            rollback.confirm(p.Frame(tick, tuple(changes.get(tick, []))))
        assert game.audio is not None and game.audio.frames_resimulated > 0
        return dict(zip(range(START, END), heard, strict=True)), rollback.rollbacks


def test_a_sound_a_rollback_took_back_fades_out(sound: Bundle, engine: Engine) -> None:
    """The room never applied the local Space: the blip the prediction started is heard up to the
    rollback, then ramps linearly to zero over FADE_FRAMES from where it was, and silence follows."""
    heard, rollbacks = predicted(sound, engine, {})
    blip = plain(sound, engine, {SPACE_AT: [(0, player(0, "Space", True))], SPACE_AT + 1: [(0, player(0, "Space", False))]})
    silent = plain(sound, engine, {})
    assert rollbacks == 1
    assert all(not frames(silent[t]).any() for t in silent)  # nothing else plays
    for tick in range(START, SPACE_AT + WINDOW):
        assert heard[tick] == blip[tick]  # heard as predicted, before the frame said otherwise
    cut = SPACE_AT + WINDOW  # the first tick heard after the rollback
    was, now = frames(blip[cut]), frames(heard[cut])
    assert np.abs(was[:FADE_FRAMES]).max() > 1000  # a hard cut here would click
    ramp = np.arange(FADE_FRAMES)[:, None]
    assert np.array_equal(now[:FADE_FRAMES], (was[:FADE_FRAMES] * (FADE_FRAMES - ramp)) // FADE_FRAMES)
    assert now[0].tolist() == was[0].tolist()  # continuous with what was heard: no step
    steps = np.abs(np.diff(np.concatenate([frames(heard[cut - 1]), now]), axis=0)).max()
    assert steps <= np.abs(np.diff(np.concatenate([frames(blip[cut - 1]), was]), axis=0)).max()  # no step the blip lacks
    assert not now[FADE_FRAMES:].any() and all(not frames(heard[t]).any() for t in range(cut + 1, END))


def test_a_sound_started_again_by_the_resimulation_is_heard_once(sound: Bundle, engine: Engine) -> None:
    """The room applied the local Space, but the remote player's unguessed key forces a rollback that
    starts the blip again at the same tick: the client hears exactly what a run without prediction
    hears, the blip once, unfaded."""
    changes = {SPACE_AT: [(0, player(0, "Space", True)), (1, player(1, "KeyW", True))],
               SPACE_AT + 1: [(0, player(0, "Space", False))]}
    heard, rollbacks = predicted(sound, engine, changes)
    expected = plain(sound, engine, changes)
    assert rollbacks == 1 and any(frames(expected[t]).any() for t in expected)
    assert heard == expected


# the remote player's key (unguessed, inaudible) forces a rollback whose first tick heard is SPACE_AT
UNCHANGED_KEYS = {SPACE_AT - WINDOW: [(1, "KeyW", True)], SPACE_AT: [(0, "Space", True)], SPACE_AT + 1: [(0, "Space", False)]}
UNCHANGED = {t: [(seat, player(seat, key, down)) for seat, key, down in c] for t, c in UNCHANGED_KEYS.items()}


def test_a_rollback_that_changes_nothing_audible_leaves_the_samples_untouched(sound: Bundle, engine: Engine) -> None:
    """The remote player's unguessed key forces a rollback that changes no voice, and the local blip
    starts at the first tick heard after it: the blip is heard whole, not faded in, sample for sample
    what a run without prediction hears."""
    heard, rollbacks = predicted(sound, engine, UNCHANGED)
    expected = plain(sound, engine, UNCHANGED)
    assert rollbacks == 1
    assert np.abs(frames(expected[SPACE_AT])[:FADE_FRAMES]).max() > 1000  # a fade in would change these
    assert heard == expected
