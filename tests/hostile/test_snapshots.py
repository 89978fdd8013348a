"""Snapshots and snapshot deltas from a hostile peer (a STATE message carries them): parsing gives a
Snapshot or SnapshotError, never anything else, with bounded memory; restoring a parsed one into a
game gives the game or SnapshotError."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerw.errors import SnapshotError
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import DELTA_MAGIC, MAGIC, Snapshot, apply_delta, delta
from tests.hostile.harness import bounded_memory, fuzz
from tests.hostile.test_inputs import json_values
from tests.wat import bundle, contract_wat

TICK = "(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[Game]:
    with Game(bundle(tmp_path_factory.mktemp("snap"), contract_wat(tick=TICK, pages=2), memory_mb=1), engine) as g:
        yield g


@pytest.fixture(scope="module")
def snaps(game: Game) -> tuple[Snapshot, Snapshot]:
    base = game.snapshot()
    for _ in range(5):
        game.tick(InputState())
    return base, game.snapshot()


def pack(magic: bytes, header: object, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return magic + struct.pack("<I", len(text)) + text + body


def parse_or_refuse(data: bytes) -> Snapshot | None:
    try:
        snap = Snapshot.from_bytes(data)
    except SnapshotError:
        return None
    assert len(snap.memory) == snap.memory_size
    return snap


def restore_or_refuse(game: Game, snap: Snapshot) -> None:
    try:
        game.restore(snap)
    except SnapshotError:
        pass


@st.composite
def mutated_header(draw: st.DrawFn, snap: Snapshot) -> dict[str, object]:
    header = json.loads(snap.to_bytes()[len(MAGIC) + 4:][:struct.unpack_from("<I", snap.to_bytes(), len(MAGIC))[0]])
    for key in draw(st.lists(st.sampled_from([*header, "extra"]), max_size=3)):
        header[key] = draw(json_values | st.integers(-(2**40), 2**40))
    if draw(st.booleans()):
        host = header.get("host")
        if isinstance(host, dict):
            host[draw(st.sampled_from(["rng", "assets"]))] = draw(json_values)
    return header  # type: ignore[no-any-return]


@fuzz(200)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    parse_or_refuse(data)
    parse_or_refuse(MAGIC + data)


@fuzz(200)
@given(st.data())
def test_mutated_snapshots_restore_or_refuse(game: Game, snaps: tuple[Snapshot, Snapshot], data: st.DataObject) -> None:
    base, _ = snaps
    header = data.draw(mutated_header(base))
    body = data.draw(st.sampled_from([zlib.compress(base.memory), zlib.compress(base.memory)[:-7], b"", b"junk",
                                      zlib.compress(base.memory + b"x")]))
    snap = parse_or_refuse(pack(MAGIC, header, body))
    if snap is not None:
        restore_or_refuse(game, snap)
    game.restore(base)  # the game is still whole


@fuzz(200)
@given(st.data())
def test_mutated_deltas_apply_or_refuse(snaps: tuple[Snapshot, Snapshot], data: st.DataObject) -> None:
    base, new = snaps
    good = delta(base, new)
    n = struct.unpack_from("<I", good, len(DELTA_MAGIC))[0]
    header = json.loads(good[len(DELTA_MAGIC) + 4:len(DELTA_MAGIC) + 4 + n])
    for key in data.draw(st.lists(st.sampled_from(list(header)), max_size=3)):
        header[key] = data.draw(json_values | st.integers(-(2**40), 2**40)
                                | st.lists(st.integers(-3, 600), max_size=5))
    body = data.draw(st.sampled_from([good[len(DELTA_MAGIC) + 4 + n:], b"", zlib.compress(bytes(4096 * 3))]))
    try:
        out = apply_delta(base, pack(DELTA_MAGIC, header, body))
    except SnapshotError:
        return
    assert len(out.memory) == out.memory_size


@pytest.mark.parametrize("make", [
    lambda s: pack(MAGIC, {"module_sha256": s.module_sha256, "tick": 1, "pages": 10**12, "state_begin": 0,
                           "host": {}, "hole": [0, 0]}, zlib.compress(b"")),
    lambda s: pack(MAGIC, {"module_sha256": s.module_sha256, "tick": 1e999, "pages": 2, "state_begin": 0,
                           "host": {}, "hole": [0, 0]}, zlib.compress(b"")),
    lambda s: MAGIC + struct.pack("<I", 200_000) + b"[" * 100_000 + b"]" * 100_000,
    lambda s: MAGIC + struct.pack("<I", 2**32 - 1) + b"{}",
])
def test_hostile_headers(snaps: tuple[Snapshot, Snapshot], make: object) -> None:
    with pytest.raises(SnapshotError):
        Snapshot.from_bytes(make(snaps[0]))  # type: ignore[operator]


def test_zlib_bomb_is_refused_with_bounded_memory(snaps: tuple[Snapshot, Snapshot]) -> None:
    """256 MiB of zeros in 256 KB, under a header promising two pages: refused, at most a page or
    so decompressed."""
    base, _ = snaps
    bomb = zlib.compress(bytes(256 << 20), 9)
    header = {"module_sha256": base.module_sha256, "tick": 1, "pages": base.pages, "state_begin": base.state_begin,
              "host": base.host, "hole": [base.hole_at, base.hole_size]}
    with bounded_memory(32):
        with pytest.raises(SnapshotError, match="more"):
            Snapshot.from_bytes(pack(MAGIC, header, bomb))
        changed = {"tick": 9, "pages": base.pages, "base_tick": base.tick, "changed": [0], "host": base.host}
        with pytest.raises(SnapshotError, match="more"):
            apply_delta(base, pack(DELTA_MAGIC, changed, bomb))


def test_a_delta_naming_ten_billion_pages(snaps: tuple[Snapshot, Snapshot]) -> None:
    base, _ = snaps
    header = {"tick": 9, "pages": 10**10, "base_tick": base.tick, "changed": [], "host": {}}
    with bounded_memory(32), pytest.raises(SnapshotError, match="pages"):
        apply_delta(base, pack(DELTA_MAGIC, header, zlib.compress(b"")))


def test_snapshot_files_round_trip(tmp_path: Path, snaps: tuple[Snapshot, Snapshot]) -> None:
    base, new = snaps  # the hardened parser still reads what the host writes
    assert Snapshot.from_bytes(base.to_bytes()) == base
    assert apply_delta(base, delta(base, new)) == new


@pytest.mark.parametrize("host", [
    {"rng": float("inf"), "assets": {}},
    {"rng": "seven", "assets": {}},
    {"rng": 1, "assets": {"requested": ["../../etc/passwd"], "ready": [True], "pending": []}},
    {"rng": 1, "assets": {"requested": [], "ready": [True, False], "pending": []}},
    {"rng": 1, "assets": {"requested": [], "ready": [], "pending": [[float("inf"), 1, 0, 0, 0]]}},
    {"rng": 1, "assets": {"requested": [], "ready": [], "pending": [[1, 2**40, 0, 0, 0]]}},
    {"rng": 1, "assets": {"requested": [], "ready": [], "pending": [[1, 2, 3, 4, 5, 6]]}},
    {"rng": 1, "assets": 5},
])
def test_hostile_host_state_is_refused(game: Game, snaps: tuple[Snapshot, Snapshot], host: dict[str, object]) -> None:
    base, _ = snaps
    snap = Snapshot(base.module_sha256, base.tick, base.pages, base.state_begin, base.memory, host,
                    base.hole_at, base.hole_size)
    with pytest.raises(SnapshotError):
        game.restore(Snapshot.from_bytes(snap.to_bytes()))
    game.restore(base)
    game.tick(InputState())  # the game goes on from a good snapshot
