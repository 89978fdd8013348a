"""`layerw new` templates, C and C++: each builds and plays as its comments say (the pointer steers
the ship to the stars, the score counts them, the sprite draws once its asset is ready, a catch
sounds, the best score outlives the game in a save), and both languages play the same game."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.gfx.commands import parse
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.saves import Saves
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold

TICKS = 400
_TEXT = next(op.code for op in abi.OPS if op.name == "TEXT")


def texts(frame: memoryview) -> list[str]:
    """The strings of the frame's TEXT commands."""
    out, at = [], 0
    while at < len(frame):
        code, count, arg, _ = (int(v) for v in np.frombuffer(frame, np.uint32, 4, at))
        op = abi.OP_BY_CODE[code]
        if code == _TEXT:
            out.append(bytes(frame[at + 16 + op.record.size:at + 16 + op.record.size + arg]).decode())
            at += 16 + op.record.size + ((arg + 3) & ~3)
        else:
            at += 16 + op.record.size * count
    return out


def play(build_dir: Path, saves: Saves, engine: Engine, ticks: int) -> list[tuple[object, ...]]:
    """Each tick: point (button held) at the star the last frame drew; what each frame shows."""
    shown: list[tuple[object, ...]] = []
    state = InputState()
    with Game(Bundle.open(build_dir), engine, saves=saves) as game:
        for _ in range(ticks):
            game.tick(state)
            frame = game.render()
            parsed = parse(frame)
            star = next(i for i in parsed.instances if (int(i["flags"]) >> 8) == 1)  # the filled circle
            ship = next(i for i in parsed.instances if (i["w"], i["h"]) == (20, 20))  # the rect or the sprite
            textured = [b.texture for b in parsed.batches if b.texture > 0]
            shown.append((tuple(texts(frame)), round(float(ship["x"]), 3), round(float(ship["y"]), 3), tuple(textured)))
            state.pointer(0, float(star["x"] + star["w"] / 2), float(star["y"] + star["h"] / 2), buttons=1)
        shown.append(("audio", game.audio_hash()))
    return shown


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("templates")
    return {lang: build(scaffold(tmp / f"new-{lang}", language=lang), tmp / f"out-{lang}").out for lang in ("c", "cpp")}


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_the_template_plays_as_it_says(lang: str, templates: dict[str, Path], engine: Engine, tmp_path: Path) -> None:
    saves = Saves(tmp_path / "saves")
    shown = play(templates[lang], saves, engine, TICKS)
    frames = shown[:-1]
    scores = [int(t[0][1].split()[1]) for t in frames]
    assert frames[0][0][0] == "Hello, Layer-W! Arrows move." and frames[0][0][1] == "score 0000  best 0000"
    assert scores == sorted(scores) and scores[-1] >= 3, scores[-1]  # the pointer caught star after star
    assert not frames[0][3] and all(f[3] for f in frames[5:])  # the rect until ship.png is ready, then the sprite
    assert frames[-1][0][1].endswith(f"best {scores[-1]:04d}")
    slot = saves.read("best")
    assert slot is not None and slot.data == scores[-1].to_bytes(4, "little")  # the best score, saved
    again = play(templates[lang], saves, engine, 1)
    assert again[0][0][1] == f"score 0000  best {scores[-1]:04d}"  # a new game starts from the saved best


def test_c_and_cpp_templates_play_the_same_game(templates: dict[str, Path], engine: Engine, tmp_path: Path) -> None:
    c = play(templates["c"], Saves(tmp_path / "c"), engine, TICKS)
    cpp = play(templates["cpp"], Saves(tmp_path / "cpp"), engine, TICKS)
    assert [f[:3] for f in c[:-1]] == [f[:3] for f in cpp[:-1]]  # the same texts and ship positions, tick by tick
    assert c[-1] == cpp[-1]  # and the same sound
