"""Manifest and Channel: deterministic JSON, strict parsing with typed errors."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from layerw.config import GameConfig
from layerw.errors import ManifestError
from layerw.store.channel import Channel
from layerw.store.chunk import ChunkRef, chunk_id
from layerw.store.manifest import Delta, FileEntry, Manifest, ReplayFiles

A, B, C, D = (chunk_id(x) for x in (b"a", b"b", b"c", b"d"))


def sample() -> Manifest:
    config = GameConfig(name="demo", version="2.1.0", tick_rate=30, width=640, height=360, preload=("ui/font.png",),
                        memory_mb=16, tick_ms=50)
    module = FileEntry(30, C, (ChunkRef(A, 10, "zstd", 7), ChunkRef(B, 20, "identity", 20)))
    assets = {"ui/font.png": FileEntry(10, A, (ChunkRef(A, 10, "zstd", 7),)), "music.ogg": FileEntry(0, C, ())}
    return Manifest(config, module, assets, (Delta(B, C, 42),), {"algorithm": "fastcdc-2020"})


def test_round_trip_is_exact_and_deterministic() -> None:
    m = sample()
    data = m.to_bytes()
    again = Manifest.parse(data)
    assert again == m and again.to_bytes() == data and again.sha256 == m.sha256
    assert m.chunk_ids() == {A, B, C}
    doc = json.loads(data)
    assert doc["schema"] == 1 and doc["game"]["tick_rate"] == 30 and doc["game"]["preload"] == ["ui/font.png"]
    assert doc["module"]["chunks"][0] == {"id": A, "size": 10, "encoding": "zstd", "stored_size": 7}
    assert doc["deltas"] == [{"from_sha256": B, "id": C, "size": 42}]


def test_filter_is_written_only_where_it_is_not_the_default() -> None:
    nearest = sample()
    assert "filter" not in json.loads(nearest.to_bytes())["game"]  # the same bytes as before the key existed
    linear = replace(nearest, config=replace(nearest.config, filter="linear"))
    data = linear.to_bytes()
    assert json.loads(data)["game"]["filter"] == "linear"
    assert Manifest.parse(data) == linear and Manifest.parse(data).to_bytes() == data
    assert Manifest.parse(mutate(["game", "filter"], "nearest")).config.filter == "nearest"


def test_stream_is_written_only_where_a_game_streams() -> None:
    assert "stream" not in json.loads(sample().to_bytes())["game"]  # the same bytes as before the key existed
    streamed = replace(sample(), config=replace(sample().config, stream=("music.ogg",)))
    data = streamed.to_bytes()
    assert json.loads(data)["game"]["stream"] == ["music.ogg"]
    assert Manifest.parse(data) == streamed and Manifest.parse(data).to_bytes() == data
    with pytest.raises(ManifestError, match="stream names assets the manifest does not list"):
        Manifest.parse(mutate(["game", "stream"], ["nope.ogg"]))


def mutate(path: list[object], value: object) -> bytes:
    doc = json.loads(sample().to_bytes())
    target = doc
    for p in path[:-1]:
        target = target[p]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("path", "value", "message"), [
    (["schema"], 2, "schema 2"),
    (["extra"], 1, "keys"),
    (["game", "tick_rate"], "60", "integer"),
    (["game", "tick_rate"], 0, "tick_rate"),
    (["game", "name"], "Bad Name", "name"),
    (["game", "version"], "../1", "version"),
    (["game", "preload"], ["nope.png"], "preload"),
    (["game", "filter"], "cubic", "filter 'cubic'"),
    (["game", "filter"], 1, "game.filter: expected a string"),
    (["module", "chunks", 0, "id"], "xyz", "SHA-256"),
    (["module", "chunks", 0, "encoding"], "brotli", "encoding"),
    (["module", "size"], 31, "add up"),
    (["module", "chunks", 1, "stored_size"], KeyError, "keys"),
    (["assets", "../../etc/passwd"], {"size": 0, "sha256": A, "chunks": []}, "unsafe"),
    (["deltas"], {}, "list"),
])
def test_malformed_manifests_raise_manifest_error(path: list[object], value: object, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.parse(mutate(path, value))


def test_component_build_round_trips_with_its_transpiled_files() -> None:
    m = sample()
    m = Manifest(replace(m.config, component=True), m.module, m.assets, m.deltas, m.chunking,
                 {"game.component.js": FileEntry(20, B, (ChunkRef(B, 20, "zstd", 9),))})
    again = Manifest.parse(m.to_bytes())
    assert again == m and again.config.component and B in again.chunk_ids()  # gc keeps them
    doc = json.loads(m.to_bytes())
    assert doc["game"]["component"] is True and list(doc["transpiled"]) == ["game.component.js"]
    assert json.loads(sample().to_bytes())["transpiled"] == {}  # a core build has none
    entry = {"size": 0, "sha256": A, "chunks": []}
    with pytest.raises(ManifestError, match="only a component build"):
        Manifest.parse(mutate(["transpiled", "game.component.js"], entry))
    with pytest.raises(ManifestError, match="plain file name"):
        Manifest.parse(json.dumps({**doc, "transpiled": {"a/b.js": entry}}).encode())
    with pytest.raises(ManifestError, match="true or false"):
        Manifest.parse(mutate(["game", "component"], 1))


def test_a_replay_twin_round_trips_and_is_optional() -> None:
    twin, offsets = FileEntry(10, B, (ChunkRef(B, 10, "zstd", 8),)), FileEntry(5, D, (ChunkRef(D, 5, "identity", 5),))
    m = replace(sample(), replay=ReplayFiles(twin, offsets))
    again = Manifest.parse(m.to_bytes())
    assert again == m and {B, D} <= again.chunk_ids()  # gc keeps them
    assert json.loads(m.to_bytes())["replay"] == {"twin": twin.to_json(), "map": offsets.to_json()}
    assert "replay" not in json.loads(sample().to_bytes())  # a version without one: the bytes as before the key
    with pytest.raises(ManifestError, match="keys"):
        Manifest.parse(json.dumps({**json.loads(m.to_bytes()), "replay": {"twin": twin.to_json()}}).encode())
    component = replace(m, config=replace(m.config, component=True))
    with pytest.raises(ManifestError, match="replay twin"):
        Manifest.parse(component.to_bytes())


def test_not_json_is_a_manifest_error_and_a_value_error() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        Manifest.parse(b"\xff{")


def test_channel_round_trip_and_strictness() -> None:
    ch = Channel("demo", "beta", "2.1.0", A)
    assert Channel.parse(ch.to_bytes()) == ch
    doc = json.loads(ch.to_bytes())
    for key, value in (("manifest_sha256", "x"), ("channel", "Beta!"), ("schema", 9), ("version", 3)):
        with pytest.raises(ManifestError):
            Channel.parse(json.dumps({**doc, key: value}).encode())
