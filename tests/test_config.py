"""GameConfig: layerw.toml parsing and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.config import GameConfig
from layerw.errors import ConfigError


def test_round_trip() -> None:
    cfg = GameConfig.from_dict({"game": {"name": "pong", "tick_rate": 30, "sources": ["a.c"]},
                                "assets": {"preload": ["x.png"]}, "limits": {"memory_mb": 8}})
    import tomllib
    assert GameConfig.from_dict(tomllib.loads(cfg.to_toml())) == cfg
    assert cfg.filter == "nearest"
    linear = GameConfig.from_dict({"game": {"name": "map", "filter": "linear"}})
    assert linear.filter == "linear" and GameConfig.from_dict(tomllib.loads(linear.to_toml())) == linear
    streamed = GameConfig.from_dict({"game": {"name": "jukebox"}, "assets": {"stream": ["music.ogg"]}})
    assert streamed.stream == ("music.ogg",) and GameConfig.from_dict(tomllib.loads(streamed.to_toml())) == streamed


@pytest.mark.parametrize("data, match", [
    ({"game": {}}, "name is required"),
    ({"game": {"name": "Bad Name"}}, "lowercase"),
    ({"game": {"name": "a", "tick_rate": 0}}, "tick_rate"),
    ({"game": {"name": "a", "width": 0}}, "resolution"),
    ({"game": {"name": "a"}, "limits": {"memory_mb": 99999}}, "memory_mb"),
    ({"game": {"name": "a", "capabilities": ["sockets"]}}, "unknown capabilities"),
    ({"game": {"name": "a"}, "extra": {}}, "unknown section"),
    ({"game": {"name": "a", "tick_rate": "fast"}}, "invalid literal"),
    ({"game": {"name": "a", "filter": "smooth"}}, "filter 'smooth' must be one of 'nearest', 'linear'"),
    ({"game": {"name": "a"}, "saves": {"slot_bytes": 10, "total_bytes": 5}}, r"\[saves\] needs"),
    ({"game": {"name": "a"}, "saves": {"slot_bytes": -1}}, r"\[saves\] needs"),
    ({"game": {"name": "a"}, "saves": {"total_bytes": 1 << 30}}, r"\[saves\] needs"),
    ({"game": {"name": "a"}, "assets": {"stream": ["map.png"]}}, r"\[assets\] stream"),
    ({"game": {"name": "a"}, "assets": {"stream": ["m.ogg"], "preload": ["m.ogg"]}}, r"not preloaded"),
])
def test_bad_config(data: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=match):
        GameConfig.from_dict(data)


def test_saves_limits_default_and_round_trip() -> None:
    import tomllib

    plain = GameConfig.from_dict({"game": {"name": "a"}})
    assert (plain.save_slot_bytes, plain.save_total_bytes) == (64 << 10, 1 << 20)
    assert "[saves]" not in plain.to_toml()  # defaults stay implicit in a build's layerw.toml
    small = GameConfig.from_dict({"game": {"name": "a"}, "saves": {"slot_bytes": 100, "total_bytes": 300}})
    assert (small.save_slot_bytes, small.save_total_bytes) == (100, 300)
    assert GameConfig.from_dict(tomllib.loads(small.to_toml())) == small


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        GameConfig.load(tmp_path)
    (tmp_path / "layerw.toml").write_text("[game\nname=")
    with pytest.raises(ConfigError, match="layerw.toml"):
        GameConfig.load(tmp_path)
