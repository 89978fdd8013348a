"""GameConfig: a game's ``layerw.toml``, parsed and checked.

    [game]
    name = "pong"
    tick_rate = 60
    sources = ["pong.c"]

    [build]
    cflags = ["-Wshadow"]

Every key, its type, default and meaning is one line of ``layerw.configschema.KEYS``; the file is
validated against it (unknown keys, wrong types are ``ConfigError``) and docs/layerw-toml.md is
generated from it. Ranges and relations between keys are checked here (``GameConfig.check``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from layerw import abi, configschema
from layerw.errors import ConfigError
from layerw.pcm import is_sound

CONFIG_NAME = "layerw.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
KNOWN_CAPABILITIES: frozenset[str] = frozenset()
PLUGIN_CAPABILITIES: frozenset[str] = frozenset({"wasi"})
FILTERS = ("nearest", "linear")


@dataclass(frozen=True)
class PluginRef:
    """One ``[plugins.SLOT]`` table: an interface the game imports and the component that provides it."""

    slot: str
    interface: str
    path: str = ""
    capabilities: tuple[str, ...] = ()

    @classmethod
    def from_values(cls, slot: str, values: dict[str, object], where: str) -> PluginRef:
        """A slot from its validated keys (``configschema.validate``)."""
        capabilities = values["capabilities"]
        assert isinstance(capabilities, tuple)  # validate_section gives lists as tuples of str
        ref = cls(slot, str(values["interface"]), str(values["path"]), capabilities)
        bad = set(ref.capabilities) - PLUGIN_CAPABILITIES
        if bad:
            raise ConfigError(f"{where}: [plugins.{slot}] asks for unknown capabilities {sorted(bad)}; "
                              f"a plugin may be granted only {sorted(PLUGIN_CAPABILITIES)}")
        if not re.match(r"^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*/[a-z][a-z0-9-]*@\d+\.\d+\.\d+$", ref.interface):
            raise ConfigError(f"{where}: [plugins.{slot}] interface {ref.interface!r} is not pkg:name/iface@x.y.z")
        return ref


@dataclass(frozen=True)
class FontRef:
    """One ``[assets] fonts`` entry, "FILE:SIZE[:RANGES]": a font file below the assets dir, the pixel
    size to rasterise it at, and the code point ranges to keep (empty: every one the font maps)."""

    file: str
    size: int
    ranges: tuple[tuple[int, int], ...] = ()

    @property
    def name(self) -> str:
        """The asset name the game loads it by (lw_font_load): the file without its suffix, then -SIZE."""
        stem, dot, _ = self.file.rpartition(".")
        return f"{stem if dot else self.file}-{self.size}"

    @classmethod
    def parse(cls, spec: str, where: str = CONFIG_NAME) -> FontRef:
        parts = spec.split(":")
        usage = 'write "FILE:SIZE" or "FILE:SIZE:RANGES", e.g. "ui.ttf:16" or "ui.ttf:16:20-7E,A0-FF"'
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].isdigit():
            raise ConfigError(f"{where}: [assets] fonts entry {spec!r} is malformed: {usage}")
        size = int(parts[1])
        if not 1 <= size <= abi.FONT_MAX_SIZE:
            raise ConfigError(f"{where}: [assets] fonts entry {spec!r}: size {size} must be within 1..{abi.FONT_MAX_SIZE}")
        ranges: list[tuple[int, int]] = []
        for item in parts[2].split(",") if len(parts) == 3 else ():
            lo, _, hi = item.strip().partition("-")
            try:
                first, last = int(lo, 16), int(hi or lo, 16)
            except ValueError:
                raise ConfigError(f"{where}: [assets] fonts entry {spec!r}: range {item!r} is not hex code points "
                                  f"like 20-7E or 2026: {usage}") from None
            if not 0 <= first <= last <= 0x10FFFF:
                raise ConfigError(f"{where}: [assets] fonts entry {spec!r}: range {item!r} must run upwards within "
                                  "0..10FFFF")
            ranges.append((first, last))
        return cls(parts[0], size, tuple(ranges))


@dataclass(frozen=True)
class GameConfig:
    name: str
    version: str = "0.1.0"
    tick_rate: int = abi.DEFAULT_TICK_RATE
    width: int = 320
    height: int = 240
    sources: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    assets_dir: str = "assets"
    preload: tuple[str, ...] = ()
    stream: tuple[str, ...] = ()
    fonts: tuple[str, ...] = ()
    memory_mb: int = 64
    tick_ms: int = 100
    players: int = abi.MAX_PLAYERS
    filter: str = "nearest"
    component: bool = False
    plugins: tuple[PluginRef, ...] = ()
    save_slot_bytes: int = abi.SAVE_SLOT_BYTES
    save_total_bytes: int = abi.SAVE_TOTAL_BYTES
    cflags: tuple[str, ...] = ()
    defines: tuple[str, ...] = ()
    exceptions: bool = False
    rtti: bool = False

    @classmethod
    def load(cls, directory: Path) -> GameConfig:
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            raise ConfigError(f"{path} not found: a game directory needs a {CONFIG_NAME} (see `layerw new`)")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from e
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = CONFIG_NAME) -> GameConfig:
        values, plugins = configschema.validate(data, where)
        refs = tuple(PluginRef.from_values(slot, v, where) for slot, v in plugins.items())
        cfg = cls(**values, plugins=refs)  # type: ignore[arg-type]
        cfg.check(where)
        return cfg

    def check(self, where: str = CONFIG_NAME) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(f"{where}: name {self.name!r} must be lowercase letters, digits and '-'")
        if not 1 <= self.tick_rate <= 1000:
            raise ConfigError(f"{where}: tick_rate {self.tick_rate} must be within 1..1000")
        if not (1 <= self.width <= 8192 and 1 <= self.height <= 8192):
            raise ConfigError(f"{where}: resolution {self.width}x{self.height} must be within 1..8192")
        if not 1 <= self.memory_mb <= 4096:
            raise ConfigError(f"{where}: memory_mb {self.memory_mb} must be within 1..4096")
        if self.tick_ms < 1:
            raise ConfigError(f"{where}: tick_ms must be at least 1")
        if not 1 <= self.players <= abi.MAX_PLAYERS:
            raise ConfigError(f"{where}: players {self.players} must be within 1..{abi.MAX_PLAYERS}")
        if self.filter not in FILTERS:
            raise ConfigError(f"{where}: filter {self.filter!r} must be one of {', '.join(map(repr, FILTERS))}")
        if not 0 <= self.save_slot_bytes <= self.save_total_bytes <= abi.SAVE_MAX_BYTES:
            raise ConfigError(f"{where}: [saves] needs 0 <= slot_bytes ({self.save_slot_bytes}) <= total_bytes "
                              f"({self.save_total_bytes}) <= {abi.SAVE_MAX_BYTES}")
        if set(self.stream) & set(self.preload) or not all(is_sound(n) for n in self.stream):
            raise ConfigError(f"{where}: [assets] stream {list(self.stream)} must name sound assets (.wav, .ogg) "
                              "that are not preloaded")
        bad = set(self.capabilities) - KNOWN_CAPABILITIES
        if bad:
            raise ConfigError(f"{where}: unknown capabilities {sorted(bad)}; this host grants none beyond the contract")
        for spec in self.fonts:
            FontRef.parse(spec, where)
        configschema.check_cflags(self.cflags, where)
        if self.exceptions and (self.component or self.plugins):
            raise ConfigError(f"{where}: [build] exceptions is not supported in component builds ([component] enabled "
                              "or [plugins]): the component's glue and tooling here are built without exception "
                              "handling; build a core module, or turn exceptions off")
        configschema.check_defines(self.defines, where)

    def to_toml(self) -> str:
        """The normalised layerw.toml written into a build directory."""
        d = asdict(self)

        def val(v: Any) -> str:
            if isinstance(v, (tuple, list)):
                return "[" + ", ".join(val(x) for x in v) + "]"
            if isinstance(v, str):
                return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            return str(v)

        game_keys = ("name", "version", "tick_rate", "width", "height", "sources", "capabilities", "players", "filter")
        lines = ["[game]"] + [f"{k} = {val(d[k])}" for k in game_keys]
        lines += ["", "[assets]", f"dir = {val(self.assets_dir)}", f"preload = {val(self.preload)}"]
        if self.stream:
            lines += [f"stream = {val(self.stream)}"]
        if self.fonts:
            lines += [f"fonts = {val(self.fonts)}"]
        lines += ["", "[limits]", f"memory_mb = {self.memory_mb}", f"tick_ms = {self.tick_ms}", ""]
        if (self.save_slot_bytes, self.save_total_bytes) != (abi.SAVE_SLOT_BYTES, abi.SAVE_TOTAL_BYTES):
            lines += ["[saves]", f"slot_bytes = {self.save_slot_bytes}", f"total_bytes = {self.save_total_bytes}", ""]
        if self.cflags or self.defines or self.exceptions or self.rtti:
            lines += ["[build]", f"cflags = {val(self.cflags)}", f"defines = {val(self.defines)}",
                      f"exceptions = {str(self.exceptions).lower()}", f"rtti = {str(self.rtti).lower()}", ""]
        if self.component:
            lines += ["[component]", "enabled = true", ""]
        for ref in self.plugins:
            lines += [f"[plugins.{ref.slot}]", f"interface = {val(ref.interface)}", f"path = {val(ref.path)}",
                      f"capabilities = {val(ref.capabilities)}", ""]
        return "\n".join(lines)

    @property
    def font_refs(self) -> tuple[FontRef, ...]:
        return tuple(FontRef.parse(spec) for spec in self.fonts)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024

