"""GameConfig: a game's ``layerw.toml``, parsed and checked.

    [game]
    name = "pong"                 # [a-z0-9-], the game's id in stores and URLs
    version = "1.0.0"
    tick_rate = 60                # fixed ticks per second
    width = 320                   # logical resolution in game pixels
    height = 240
    sources = ["pong.c"]          # default: every *.c / *.cpp beside layerw.toml
    capabilities = []             # extra host capabilities the game asks for
    players = 4                   # seats in a multiplayer room (1..4)
    filter = "nearest"            # texture sampling: "nearest" keeps pixel art crisp (and the
                                  # frame's upscale to the window whole-pixel); "linear" smooths

    [assets]
    dir = "assets"                # every file below it is an asset, named by its relative path
    preload = ["ball.png"]        # ready before the first tick; the rest stream on request
    stream = ["music.ogg"]        # sounds played while they arrive: no ASSET_READY event, playable
                                  # (lw_sound_play) from the tick after lw_asset; a tick whose mix
                                  # needs frames not in yet waits for them (never different samples)

    [limits]
    memory_mb = 64                # linear memory cap
    tick_ms = 100                 # CPU deadline for one call into the game

    [saves]                       # save slots (lw_save_write), per player, outliving the process
    slot_bytes = 65536            # the most one slot holds
    total_bytes = 1048576         # the most all of the game's slots hold together

    [component]                   # Component Model build (`layerw build --component` sets enabled)
    enabled = false

    [plugins.physics]             # a plugin slot: the game imports `interface` (fixed at build time)
    interface = "layerw:physics/step@1.0.0"
    path = "plugins/bounce.wasm"  # which component implements it, chosen at load time (relative to
                                  # the directory of this file); swap it without rebuilding the game
    capabilities = []             # granted to the plugin: "wasi" (stdio, clocks, random) or nothing
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from layerw import abi
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
    def from_dict(cls, slot: str, data: Any, where: str) -> PluginRef:
        if not isinstance(data, dict) or "interface" not in data:
            raise ConfigError(f"{where}: [plugins.{slot}] needs interface = \"pkg:name/iface@x.y.z\"")
        ref = cls(slot, str(data["interface"]), str(data.get("path", "")),
                  tuple(str(c) for c in data.get("capabilities", ())))
        bad = set(ref.capabilities) - PLUGIN_CAPABILITIES
        if bad:
            raise ConfigError(f"{where}: [plugins.{slot}] asks for unknown capabilities {sorted(bad)}; "
                              f"a plugin may be granted only {sorted(PLUGIN_CAPABILITIES)}")
        if not re.match(r"^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*/[a-z][a-z0-9-]*@\d+\.\d+\.\d+$", ref.interface):
            raise ConfigError(f"{where}: [plugins.{slot}] interface {ref.interface!r} is not pkg:name/iface@x.y.z")
        return ref


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
    memory_mb: int = 64
    tick_ms: int = 100
    players: int = abi.MAX_PLAYERS
    filter: str = "nearest"
    component: bool = False
    plugins: tuple[PluginRef, ...] = ()
    save_slot_bytes: int = abi.SAVE_SLOT_BYTES
    save_total_bytes: int = abi.SAVE_TOTAL_BYTES

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
        game, assets, limits, component, saves = (
            data.get(k, {}) for k in ("game", "assets", "limits", "component", "saves"))
        unknown = set(data) - {"game", "assets", "limits", "component", "plugins", "saves"}
        if unknown:
            raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)}")
        if "name" not in game:
            raise ConfigError(f"{where}: [game] name is required")
        try:
            cfg = cls(
                name=str(game["name"]),
                version=str(game.get("version", cls.version)),
                tick_rate=int(game.get("tick_rate", cls.tick_rate)),
                width=int(game.get("width", cls.width)),
                height=int(game.get("height", cls.height)),
                sources=tuple(str(s) for s in game.get("sources", ())),
                capabilities=tuple(str(c) for c in game.get("capabilities", ())),
                assets_dir=str(assets.get("dir", cls.assets_dir)),
                preload=tuple(str(p) for p in assets.get("preload", ())),
                stream=tuple(str(p) for p in assets.get("stream", ())),
                memory_mb=int(limits.get("memory_mb", cls.memory_mb)),
                tick_ms=int(limits.get("tick_ms", cls.tick_ms)),
                players=int(game.get("players", cls.players)),
                filter=str(game.get("filter", cls.filter)),
                component=bool(component.get("enabled", cls.component)),
                save_slot_bytes=int(saves.get("slot_bytes", cls.save_slot_bytes)),
                save_total_bytes=int(saves.get("total_bytes", cls.save_total_bytes)),
                plugins=tuple(PluginRef.from_dict(str(k), v, where) for k, v in dict(data.get("plugins", {})).items()),
            )
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: {e}") from e
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
        lines += ["", "[limits]", f"memory_mb = {self.memory_mb}", f"tick_ms = {self.tick_ms}", ""]
        if (self.save_slot_bytes, self.save_total_bytes) != (abi.SAVE_SLOT_BYTES, abi.SAVE_TOTAL_BYTES):
            lines += ["[saves]", f"slot_bytes = {self.save_slot_bytes}", f"total_bytes = {self.save_total_bytes}", ""]
        if self.component:
            lines += ["[component]", "enabled = true", ""]
        for ref in self.plugins:
            lines += [f"[plugins.{ref.slot}]", f"interface = {val(ref.interface)}", f"path = {val(ref.path)}",
                      f"capabilities = {val(ref.capabilities)}", ""]
        return "\n".join(lines)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024

