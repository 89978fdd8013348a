"""build: compile a game directory to a build directory (module + assets + layerw.toml).

    layerw build games/pong -o out/pong

C is compiled as C11, C++ as C++17 without exceptions or RTTI; both -O2, SIMD128 on, stripped,
as a WASI reactor, with the shadow stack first in memory (``abi.STACK_SIZE``) so the game state is
one contiguous range. The result is checked against the contract before anything is written.

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
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import wasmtime

from layerw import abi
from layerw.bundle import ASSETS_DIR, COMPONENT_NAME, MODULE_NAME, TRANSPILED_DIR
from layerw.config import CONFIG_NAME, GameConfig
from layerw.errors import CompileError, ConfigError, InvalidModule
from layerw.runtime.contract import check_module
from layerw.toolchain import zig

TOOLCHAIN = Path(__file__).resolve().parent
INCLUDE = TOOLCHAIN / "include"
RUNTIME_C = TOOLCHAIN / "runtime" / "lw_runtime.c"
C_SUFFIXES = (".c",)
CXX_SUFFIXES = (".cpp", ".cc", ".cxx")

COMMON_FLAGS = [
    f"--target={zig.TARGET}", "-O2", "-msimd128", "-mexec-model=reactor",
    "-Wall", "-Wextra", "-fno-common", f"-I{INCLUDE}",
]
C_FLAGS = ["-std=c11"]
CXX_FLAGS = ["-std=c++17", "-fno-exceptions", "-fno-rtti"]
LINK_FLAGS = ["-s", f"-Wl,-z,stack-size={abi.STACK_SIZE}", "-lm"]


@dataclass(frozen=True)
class BuildResult:
    out: Path
    config: GameConfig
    module_size: int
    assets: int


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


def compile_module(sources: list[Path], out: Path, *, runtime: tuple[Path, ...] = (RUNTIME_C,),
                   defines: tuple[str, ...] = ()) -> None:
    """Compile and link ``sources`` plus the guest ``runtime`` into ``out`` (a .wasm file)."""
    cxx = any(s.suffix in CXX_SUFFIXES for s in sources)
    with tempfile.TemporaryDirectory(prefix="layerw-build-") as tmp:
        objects = []
        for i, src in enumerate([*sources, *runtime]):
            obj = Path(tmp) / f"{i}-{src.stem}.o"
            is_cxx = src.suffix in CXX_SUFFIXES
            args = ["c++" if is_cxx else "cc", *COMMON_FLAGS, *(CXX_FLAGS if is_cxx else C_FLAGS),
                    *(f"-D{d}" for d in defines), "-c", str(src), "-o", str(obj)]
            _check(zig.run(args), src)
            objects.append(str(obj))
        link = ["c++" if cxx else "cc", f"--target={zig.TARGET}", "-mexec-model=reactor", *objects,
                *LINK_FLAGS, "-o", str(out)]
        _check(zig.run(link), None)


def _check(proc: subprocess.CompletedProcess[str], src: Path | None) -> None:
    if proc.returncode != 0:
        what = f"compiling {src}" if src else "linking"
        diagnostics = (proc.stderr or proc.stdout).strip()
        raise CompileError(f"{what} failed:\n{diagnostics}")


def build(game_dir: Path, out: Path | None = None, *, component: bool = False) -> BuildResult:
    game_dir = Path(game_dir).resolve()
    config = GameConfig.load(game_dir)
    if component or config.component or config.plugins:
        config = replace(config, component=True)
    out = Path(out) if out is not None else game_dir / "build"
    sources = find_sources(game_dir, config)
    assets_src = game_dir / config.assets_dir
    names = {p.relative_to(assets_src).as_posix() for p in assets_src.rglob("*") if p.is_file()} if assets_src.is_dir() else set()
    missing = sorted(set(config.preload) - names)
    if missing:
        raise ConfigError(f"{game_dir / CONFIG_NAME}: preload names missing assets {missing} (looked in {assets_src})")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".layerw-", dir=out.parent))
    staging.chmod(0o755)
    try:
        if config.plugins:
            # A game that imports plugin interfaces exists only as a component.
            from layerw.toolchain.component import build_component

            build_component(sources, config, staging / COMPONENT_NAME)
            data = (staging / COMPONENT_NAME).read_bytes()
        else:
            wasm = staging / MODULE_NAME
            compile_module(sources, wasm)
            data = wasm.read_bytes()
            try:
                module = wasmtime.Module(wasmtime.Engine(), data)
            except wasmtime.WasmtimeError as e:
                raise InvalidModule(f"the compiled module does not validate: {e}") from e
            check_module(module, config.name)
            if config.component:
                from layerw.toolchain.component import build_component

                build_component(sources, config, staging / COMPONENT_NAME)
        if config.component:
            from layerw.toolchain.jco import transpile

            transpile(staging / COMPONENT_NAME, staging / TRANSPILED_DIR)
        if assets_src.is_dir():
            shutil.copytree(assets_src, staging / ASSETS_DIR)
        (staging / CONFIG_NAME).write_text(config.to_toml())
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out, config, len(data), len(names))
