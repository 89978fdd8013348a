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


@pytest.mark.parametrize("data, match", [
    ({"game": {"name": "a", "tick_rte": 30}}, r"\[game\] has no key 'tick_rte'; did you mean tick_rate\?"),
    ({"game": {"name": "a", "width": "320"}}, r"\[game\] width must be an integer, got the string '320'"),
    ({"game": {"name": "a", "width": 320.0}}, r"\[game\] width must be an integer, got float 320.0"),
    ({"game": {"name": "a", "players": True}}, r"\[game\] players must be an integer, got bool True"),
    ({"game": {"name": "a"}, "assets": {"preload": "a.png"}},
     r'\[assets\] preload must be a list of strings, got the string \'a.png\' \(write \[assets\] preload = \["a.png"\]\)'),
    ({"game": {"name": "a", "sources": ["a.c", 3]}}, r"\[game\] sources must be a list of strings, got a list holding \[3\]"),
    ({"game": {"name": "a"}, "component": {"enabled": 1}}, r"\[component\] enabled must be true or false"),
    ({"game": {"name": "a"}, "limits": {"memory": 8}}, r"\[limits\] has no key 'memory'; did you mean memory_mb\?"),
    ({"game": {"name": "a"}, "assets": []}, r"\[assets\] must be a table"),
    ({"game": {"name": "a"}, "plugins": {"p": {"interface": "a:b/c@1.0.0", "paht": "x"}}},
     r"\[plugins.p\] has no key 'paht'; did you mean path\?"),
    ({"game": {"name": "a"}, "plugins": {"p": {"path": "x"}}}, r"\[plugins.p\] interface is required"),
    ({"game": {"name": "a"}, "build": {"cflags": "-O3"}}, r"\[build\] cflags must be a list of strings"),
    ({"game": {"name": "a"}, "build": {"cflags": ["--target=x86_64-linux"]}}, "is not one of the allowed forms"),
    ({"game": {"name": "a"}, "build": {"cflags": ["-o", "x.wasm"]}}, r"'-o' is not one of the allowed forms"),
    ({"game": {"name": "a"}, "build": {"cflags": ["-mno-simd128"]}}, "'-mno-simd128' is not one of the allowed forms"),
    ({"game": {"name": "a"}, "build": {"cflags": ["-Wl,--export=x"]}}, "passes options to the linker"),
    ({"game": {"name": "a"}, "build": {"cflags": ["-fPIC"]}}, "position-independent"),
    ({"game": {"name": "a"}, "build": {"cflags": ["-fexceptions"]}},
     r"'-fexceptions' is refused: C\+\+ exceptions need their runtime linked too: set \[build\] exceptions = true"),
    ({"game": {"name": "a"}, "build": {"exceptions": True}, "component": {"enabled": True}},
     r"\[build\] exceptions is not supported in component builds"),
    ({"game": {"name": "a"}, "build": {"rtti": "yes"}}, r"\[build\] rtti must be true or false"),
    ({"game": {"name": "a"}, "build": {"cflags": ["-D1X"]}}, "must be -DNAME or -DNAME=VALUE"),
    ({"game": {"name": "a"}, "build": {"defines": ["A B"]}}, r"\[build\] defines: 'A B' must be NAME or NAME=VALUE"),
])
def test_schema_errors_name_the_key_and_file(data: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=match) as e:
        GameConfig.from_dict(data, where="g/layerw.toml")
    assert str(e.value).startswith("g/layerw.toml: ")


def test_build_flags_allowed_and_round_trip() -> None:
    import tomllib

    cfg = GameConfig.from_dict({"game": {"name": "a"}, "build": {
        "cflags": ["-O3", "-Wshadow", "-Werror=return-type", "-g", "-std=c17", "-DX=1", "-UY", "-Iinclude",
                   "-pedantic", "-fno-builtin", "-frtti"],
        "defines": ["DEBUG", "LEVELS=12", "NAME=\"x y\""], "exceptions": True, "rtti": True}})
    assert cfg.cflags[0] == "-O3" and cfg.defines == ("DEBUG", "LEVELS=12", 'NAME="x y"')
    assert GameConfig.from_dict(tomllib.loads(cfg.to_toml())) == cfg
    assert "[build]" not in GameConfig.from_dict({"game": {"name": "a"}}).to_toml()


def test_every_key_is_documented() -> None:
    from layerw import configschema
    from layerw.toolchain import codegen

    doc = codegen.CONFIG_DOC.read_text()
    assert doc == codegen.config_doc()  # generated from the schema (the codegen drift test checks it too)
    for key in configschema.KEYS:
        assert key.doc and f"| `{key.name}` |" in doc
        assert hasattr(GameConfig(name="a"), key.field) or key.section == configschema.PLUGIN_SECTION
    for section in configschema.SECTIONS:
        assert f"## [{section}]" in doc
