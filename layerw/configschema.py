"""ConfigKey: the schema of ``layerw.toml``, one declarative line per key.

Each key says its section, name, type, default and what it means; ``GameConfig`` reads a file
through ``validate`` (unknown sections or keys, a wrong type, a string where a list belongs are
``ConfigError`` naming the key and the file), and the key table in ``docs/layerw-toml.md`` is
generated from ``KEYS`` by ``layerw.toolchain.codegen``, so the documentation cannot drift.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from layerw import abi
from layerw.errors import ConfigError


@dataclass(frozen=True)
class ConfigKey:
    """One key of a section: ``kind`` is "int", "str", "bool" or "list" (of strings)."""

    section: str
    name: str
    kind: str
    default: object
    doc: str
    attr: str = ""  # the GameConfig attribute (default: the key's name)
    required: bool = False

    @property
    def field(self) -> str:
        return self.attr or self.name


KINDS = {"int": "an integer", "str": "a string", "bool": "true or false", "list": "a list of strings"}
PLUGIN_SECTION = "plugins.SLOT"

SECTIONS: dict[str, str] = {
    "game": "What the game is and how it runs.",
    "assets": "Files the game reads by name (asset_request).",
    "limits": "What the host allows one instance.",
    "saves": "Save slots (lw_save_write), per player, outliving the process.",
    "build": "How `layerw build` and `layerw dev` compile the sources.",
    "component": "Component Model build (`layerw build --component` sets enabled).",
    PLUGIN_SECTION: "A plugin slot: the game imports `interface` (fixed at build time); `path` names the "
                    "component that implements it, chosen at load time.",
}

KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("game", "name", "str", None, "[a-z0-9-], the game's id in stores and URLs", required=True),
    ConfigKey("game", "version", "str", "0.1.0", "the published version"),
    ConfigKey("game", "tick_rate", "int", abi.DEFAULT_TICK_RATE, "fixed ticks per second, 1..1000 (lw_tick_rate() in C)"),
    ConfigKey("game", "width", "int", 320, "logical width in game pixels, 1..8192 (lw_screen_width() in C)"),
    ConfigKey("game", "height", "int", 240, "logical height in game pixels, 1..8192 (lw_screen_height() in C)"),
    ConfigKey("game", "sources", "list", [], "C/C++ files to compile, relative to layerw.toml; empty: every "
              "*.c, *.cpp, *.cc, *.cxx beside it"),
    ConfigKey("game", "capabilities", "list", [], "extra host capabilities the game asks for (none exist yet)"),
    ConfigKey("game", "players", "int", abi.MAX_PLAYERS, f"seats in a multiplayer room, 1..{abi.MAX_PLAYERS}"),
    ConfigKey("game", "filter", "str", "nearest", "texture sampling: \"nearest\" keeps pixel art crisp (and the "
              "window's upscale whole-pixel), \"linear\" smooths"),
    ConfigKey("assets", "dir", "str", "assets", "every file below it is an asset, named by its relative path",
              attr="assets_dir"),
    ConfigKey("assets", "preload", "list", [], "assets ready before the first tick; the rest stream on request"),
    ConfigKey("assets", "stream", "list", [], "sounds (.wav, .ogg, not preloaded) played while they arrive: no "
              "ASSET_READY event, playable (lw_sound_play) from the tick after lw_asset; a tick whose mix needs frames "
              "not in yet waits for them (never different samples)"),
    ConfigKey("assets", "fonts", "list", [], "TrueType/OpenType fonts below the assets dir, rasterised by `layerw build` "
              "at a pixel size: \"FILE:SIZE\" or \"FILE:SIZE:RANGES\" (hex code point ranges, e.g. \"20-7E,A0-FF\"; "
              "default: every code point the font maps); FILE.ttf at 16 becomes the preloaded assets FILE-16.png "
              "(atlas) and FILE-16.font (metrics), loaded by lw_font_load(&font, \"FILE-16\")"),
    ConfigKey("limits", "memory_mb", "int", 64, "linear memory cap in MiB, 1..4096"),
    ConfigKey("limits", "tick_ms", "int", 100, "CPU deadline of one call into the game, in ms"),
    ConfigKey("saves", "slot_bytes", "int", abi.SAVE_SLOT_BYTES, "the most one slot holds",
              attr="save_slot_bytes"),
    ConfigKey("saves", "total_bytes", "int", abi.SAVE_TOTAL_BYTES,
              f"the most all of the game's slots hold together (at most {abi.SAVE_MAX_BYTES})", attr="save_total_bytes"),
    ConfigKey("build", "cflags", "list", [], "extra compiler flags: warnings (-W...), optimisation (-O...), debug "
              "info (-g...), code generation (-f...), -std=..., -I, -D, -U, -pedantic; flags that change the target, "
              "the output or the link (--target, -o, -m..., -Wl,..., -l, -shared, ...) are refused"),
    ConfigKey("build", "defines", "list", [], "preprocessor macros, NAME or NAME=VALUE (as -DNAME=VALUE)"),
    ConfigKey("build", "exceptions", "bool", False, "C++ exceptions (Wasm exception handling, exnref: wasmtime and "
              "current browsers); libc++ itself still aborts where it would throw; not in component builds"),
    ConfigKey("build", "rtti", "bool", False, "C++ RTTI (dynamic_cast, typeid)"),
    ConfigKey("component", "enabled", "bool", False, "run the game as a Component Model component", attr="component"),
    ConfigKey(PLUGIN_SECTION, "interface", "str", None, "the WIT interface, pkg:name/iface@x.y.z", required=True),
    ConfigKey(PLUGIN_SECTION, "path", "str", "", "the component implementing it, relative to layerw.toml's directory"),
    ConfigKey(PLUGIN_SECTION, "capabilities", "list", [], "granted to the plugin: \"wasi\" (stdio, clocks, random) "
              "or nothing"),
)


# [build] cflags: an allow-list of flag forms that cannot change the contract (the target, the
# reactor entry points, the memory layout, the output or the link), less the few of those forms
# that could. Anything else is refused with this rule in the message.
CFLAG_PREFIXES = ("-W", "-O", "-g", "-f", "-std=", "-D", "-U", "-I")
CFLAG_WORDS = frozenset({"-g", "-O", "-pedantic", "-pedantic-errors", "-w"})
CFLAG_REFUSED: dict[str, str] = {
    "-Wl,": "passes options to the linker, which fixes the module's layout",
    "-Wa,": "passes options to the assembler",
    "-Wp,": "passes options to the preprocessor behind the compiler's back",
    "-fuse-ld": "changes the linker",
    "-fsanitize": "needs a runtime the wasm32 target does not have",
    "-fpic": "makes position-independent code, which a game module is not",
    "-fpie": "makes position-independent code, which a game module is not",
    "-fexceptions": "C++ exceptions need their runtime linked too: set [build] exceptions = true",
    "-fcxx-exceptions": "C++ exceptions need their runtime linked too: set [build] exceptions = true",
    "-fwasm-exceptions": "C++ exceptions need their runtime linked too: set [build] exceptions = true",
}
_MACRO = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(=.*)?$")


def check_cflags(flags: tuple[str, ...], where: str) -> None:
    """Refuse a [build] cflags entry outside the allow-list, or on its refused list."""
    for flag in flags:
        refused = next((why for f, why in CFLAG_REFUSED.items() if flag.lower().startswith(f.lower())), None)
        if refused is None and (flag in CFLAG_WORDS or (flag.startswith(CFLAG_PREFIXES) and len(flag) > 2)):
            if flag.startswith(("-D", "-U")) and not _MACRO.match(flag[2:]):
                refused = "a macro must be -DNAME or -DNAME=VALUE, NAME a C identifier"
            else:
                continue
        allowed = ", ".join([*(f"{p}..." for p in CFLAG_PREFIXES), *sorted(CFLAG_WORDS)])
        why = f"is refused: {refused}" if refused else (
            f"is not one of the allowed forms: {allowed} (flags that change the target, the output or the link "
            "would break the contract)")
        raise ConfigError(f"{where}: [build] cflags: {flag!r} {why}")


def check_defines(defines: tuple[str, ...], where: str) -> None:
    for define in defines:
        if not _MACRO.match(define):
            raise ConfigError(f"{where}: [build] defines: {define!r} must be NAME or NAME=VALUE, NAME a C identifier")


def section_keys(section: str) -> dict[str, ConfigKey]:
    return {k.name: k for k in KEYS if k.section == section}


def _value(key: ConfigKey, value: object, label: str, where: str) -> object:
    """``value`` checked against ``key``'s kind; lists come back as tuples."""
    ok = {"int": isinstance(value, int) and not isinstance(value, bool), "str": isinstance(value, str),
          "bool": isinstance(value, bool),
          "list": isinstance(value, list) and all(isinstance(v, str) for v in value)}[key.kind]
    if ok:
        return tuple(value) if isinstance(value, list) else value
    got = f"the string {value!r}" if isinstance(value, str) else f"{type(value).__name__} {value!r}"
    hint = ""
    if key.kind == "int" and isinstance(value, str):
        hint = " (an invalid literal for an integer: write the number without quotes)"
    elif key.kind == "list" and isinstance(value, str):
        hint = f" (write {label} = [{value!r}])".replace("'", '"')
    elif key.kind == "list" and isinstance(value, list):
        got = f"a list holding {[v for v in value if not isinstance(v, str)]!r}"
    raise ConfigError(f"{where}: {label} must be {KINDS[key.kind]}, got {got}{hint}")


def _table(data: object, title: str, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [{title}] must be a table, got {type(data).__name__} {data!r}")
    return data


def validate_section(section: str, data: object, where: str, title: str = "") -> dict[str, object]:
    """The values of one section's keys by GameConfig attribute (defaults filled in); ``title`` is
    how the section is named in errors (default ``section``)."""
    title = title or section
    table = _table(data, title, where)
    keys = section_keys(section)
    for name in table:
        if name not in keys:
            near = difflib.get_close_matches(str(name), keys, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise ConfigError(f"{where}: [{title}] has no key {name!r}; {hint}its keys are {', '.join(keys)} "
                              "(see docs/layerw-toml.md)")
    out: dict[str, object] = {}
    for key in keys.values():
        if key.name in table:
            out[key.field] = _value(key, table[key.name], f"[{title}] {key.name}", where)
        elif key.required:
            raise ConfigError(f"{where}: [{title}] {key.name} is required ({key.doc})")
        else:
            out[key.field] = tuple(key.default) if isinstance(key.default, list) else key.default
    return out


def validate(data: dict[str, Any], where: str) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """A parsed layerw.toml checked against ``KEYS``: GameConfig's values by attribute, and each
    plugin slot's values by key."""
    plain = [s for s in SECTIONS if s != PLUGIN_SECTION]
    unknown = set(data) - {*plain, "plugins"}
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)}; sections are "
                          f"{', '.join(f'[{s}]' for s in SECTIONS)} (see docs/layerw-toml.md)")
    values: dict[str, object] = {}
    for section in plain:
        values.update(validate_section(section, data.get(section, {}), where))
    plugins = {str(slot): validate_section(PLUGIN_SECTION, table, where, f"plugins.{slot}")
               for slot, table in _table(data.get("plugins", {}), "plugins", where).items()}
    return values, plugins


def markdown() -> str:
    """The key table of docs/layerw-toml.md."""
    lines = ["# layerw.toml", "",
             "A game directory's `layerw.toml` says what the game is and how it builds and runs. Every key is",
             "optional but `[game] name` (and a plugin's `interface`); an unknown section or key, or a value of",
             "the wrong type, is an error naming the key and the file.", "",
             "```toml", "[game]", 'name = "pong"', "tick_rate = 60", 'sources = ["pong.c"]', "",
             "[build]", 'cflags = ["-Wshadow", "-O3"]', 'defines = ["DEBUG_HUD", "LEVELS=12"]', "```", ""]
    for section, doc in SECTIONS.items():
        lines += [f"## [{section}]", "", doc, "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key in KEYS:
            if key.section == section:
                default = "required" if key.required else f"`{_toml(key.default)}`"
                doc = key.doc.replace("|", "\\|")
                lines.append(f"| `{key.name}` | {KINDS[key.kind]} | {default} | {doc} |")
        lines.append("")
    return "\n".join(lines)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)
