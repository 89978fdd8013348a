"""build: compile a game directory to a build directory (module + assets + layerw.toml).

    layerw build games/pong -o out/pong

Sources compile with ``layerw.toolchain.compiler`` (its docstring has the flags), with DWARF;
``layerw.toolchain.debuginfo`` splits that into the stripped ``game.wasm`` that ships,
``game.symbols.json`` (its source-line table) and ``game.debug.wasm`` (for debuggers); and
in a development build ``layerw.toolchain.replaytwin`` writes ``game.replay.wasm`` and its offset map (a
browser replays a timed-out call on it to name the frames: in a component build, the twin of the
transpiled core module that holds the game's code, whose source-line table is
``game.component.symbols.json``). The result
is checked against the contract before anything is written.

    layerw build games/pong --component -o out/pong-c

also wraps the game as a Component Model component (``layerw.toolchain.component``): the build
directory then holds ``game.component.wasm`` beside ``game.wasm`` and its layerw.toml says
``component = true``, which is what hosts run. Browsers run it transpiled by jco
(``layerw.toolchain.jco``): glue and core modules in ``transpiled/``, published with the build.
Transpiling here rather than at publish keeps a build directory complete for every host (a dev
server can serve it as is) and leaves publish a pure-Python copy of bytes.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import wasmtime

from layerw import abi
from layerw.bundle import (
    ASSETS_DIR,
    COMPONENT_NAME,
    COMPONENT_SYMBOLS_NAME,
    DEBUG_MODULE_NAME,
    GAME_CORE,
    MODULE_NAME,
    SYMBOLS_NAME,
    TRANSPILED_DIR,
)
from layerw.config import CONFIG_NAME, GameConfig
from layerw.contract import check_module, wasm_features
from layerw.errors import CompileError, ConfigError, InvalidModule
from layerw.toolchain.compiler import C_SUFFIXES, CXX_SUFFIXES, compile_module, game_defines
from layerw.toolchain.component import build_component
from layerw.toolchain.debuginfo import retarget, split
from layerw.toolchain.fontatlas import convert_fonts
from layerw.toolchain.jco import transpile
from layerw.toolchain.replaytwin import MAP_NAME, TWIN_NAME, make_twin
from layerw.toolchain.sound import convert_tree


@dataclass(frozen=True)
class BuildResult:
    out: Path
    config: GameConfig
    module_size: int
    assets: int
    warnings: tuple[str, ...] = ()  # the compiler's (file:line: warning: ...), one text per step that had any
    compiled: tuple[Path, ...] = ()  # the game's sources that compiled (the others' objects and warnings came from the cache)


def find_sources(game_dir: Path, config: GameConfig) -> list[Path]:
    if config.sources:
        sources = [game_dir / s for s in config.sources]
        missing = [str(s) for s in sources if not s.is_file()]
        if missing:
            raise ConfigError(f"{game_dir / CONFIG_NAME}: sources not found: {missing}")
        return sources
    sources = sorted(p for p in game_dir.iterdir() if p.suffix in C_SUFFIXES + CXX_SUFFIXES)
    if not sources:
        raise ConfigError(f"{game_dir} has no .c or .cpp sources")
    return sources


def build(game_dir: Path, out: Path | None = None, *, component: bool = False, optimize: bool = True,
          replay_twin: bool = False) -> BuildResult:
    """Build ``game_dir`` into ``out`` (default GAME_DIR/build); without ``optimize`` the C compiles
    at -O0, for stepping through it in a debugger (slower: a development build, not one to publish).
    ``replay_twin`` (development builds: ``layerw dev``, ``layerw build --replay-twin``) also writes the
    module's replay twin and its offset map, so a browser's game worker names a timeout's frames."""
    game_dir = Path(game_dir).resolve()
    config = GameConfig.load(game_dir)
    if component or config.component or config.plugins:
        config = replace(config, component=True)
        config.check(str(game_dir / CONFIG_NAME))  # what a component cannot do ([build] exceptions)
    out = Path(out) if out is not None else game_dir / "build"
    sources = find_sources(game_dir, config)
    assets_src = game_dir / config.assets_dir
    names = {p.relative_to(assets_src).as_posix() for p in assets_src.rglob("*") if p.is_file()} if assets_src.is_dir() else set()
    fonts = config.font_refs
    made = {f"{ref.name}{suffix}" for ref in fonts for suffix in (abi.FONT_ATLAS_SUFFIX, abi.FONT_TABLE_SUFFIX)}
    absent = sorted({ref.file for ref in fonts} - names)
    if absent:
        raise ConfigError(f"{game_dir / CONFIG_NAME}: [assets] fonts names missing font files {absent} "
                          f"(looked in {assets_src})")
    missing = sorted(set(config.preload) - names - made)
    if missing:
        raise ConfigError(f"{game_dir / CONFIG_NAME}: preload names missing assets {missing} (looked in {assets_src})")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".layerw-", dir=out.parent))
    staging.chmod(0o755)
    warnings: tuple[str, ...] = ()
    compiled: tuple[Path, ...] = ()
    try:
        core = b""  # a component build's core module (the game's code)
        if config.plugins:
            # A game that imports plugin interfaces exists only as a component.
            core = build_component(sources, config, staging / COMPONENT_NAME, symbols=staging / COMPONENT_SYMBOLS_NAME,
                                   source_root=game_dir)
            data = (staging / COMPONENT_NAME).read_bytes()
        else:
            wasm = staging / MODULE_NAME
            result = compile_module(sources, staging / DEBUG_MODULE_NAME, cflags=config.cflags,
                                    defines=game_defines(config), exceptions=config.exceptions, rtti=config.rtti,
                                    debug=True, optimize=optimize)
            warnings, compiled = result.warnings, result.compiled
            split(staging / DEBUG_MODULE_NAME, wasm, staging / SYMBOLS_NAME, game_dir)
            if replay_twin and not config.component:
                make_twin(wasm, staging / TWIN_NAME, staging / MAP_NAME)
            data = wasm.read_bytes()
            try:
                module = wasmtime.Module(wasmtime.Engine(wasm_features()), data)
            except wasmtime.WasmtimeError as e:
                raise InvalidModule(f"the compiled module does not validate: {e}") from e
            check_module(module, config.name)
            if config.component:
                core = build_component(sources, config, staging / COMPONENT_NAME,
                                       symbols=staging / COMPONENT_SYMBOLS_NAME, source_root=game_dir)
        if config.component:
            transpile(staging / COMPONENT_NAME, staging / TRANSPILED_DIR)
            game_core = staging / TRANSPILED_DIR / GAME_CORE
            wrapped = game_core.read_bytes() if game_core.is_file() else b""
            if not game_core.is_file() or not wrapped.startswith(core):
                raise CompileError(f"the transpiled component's {GAME_CORE} is not the core module it wraps (the game's "
                                   f"code, {COMPONENT_SYMBOLS_NAME} describes): this jco lays out core modules otherwise")
            retarget(staging / COMPONENT_SYMBOLS_NAME, wrapped)  # the module, as wrapped, hosts run
            if replay_twin:
                make_twin(game_core, staging / TWIN_NAME, staging / MAP_NAME, GAME_CORE)
        if assets_src.is_dir():
            shutil.copytree(assets_src, staging / ASSETS_DIR)
            convert_tree(staging / ASSETS_DIR)  # sounds in the mixer's canonical form
            preload = convert_fonts(staging / ASSETS_DIR, fonts, str(game_dir / CONFIG_NAME))
            config = replace(config, preload=(*config.preload, *(n for n in preload if n not in config.preload)))
        (staging / CONFIG_NAME).write_text(config.to_toml())
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out, config, len(data), len(names), warnings, compiled)
