"""Compiler: C/C++ sources plus the guest runtime to one wasm32 module, with the project's flags.

C is compiled as C11, C++ as C++17 without exceptions or RTTI unless the game asks ([build]
exceptions, rtti; exceptions link ``exceptions.objects()``); both -O2, SIMD128 on, stripped,
as a WASI reactor, with the shadow stack first in memory (``abi.STACK_SIZE``) so the game state is
one contiguous range. With ``debug`` the sources compile with ``-g`` and the link keeps its DWARF
(``DEBUG_FLAGS``); ``debuginfo.split`` then makes the stripped module from it (``-g`` does not change
the code clang emits; the libc zig links for an unstripped output may differ by a few bytes).
The game's own sources compile through ``ObjectCache`` (objcache.py): an unchanged source, headers
included, is not compiled again, and its warnings are shown again from the cache.
Shared by the core build (``build.py``) and components (``component.py``).
"""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from layerw import abi
from layerw.config import GameConfig
from layerw.errors import CompileError
from layerw.toolchain import exceptions as exception_runtime
from layerw.toolchain import zig
from layerw.toolchain.objcache import ObjectCache

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
DEBUG_FLAGS = ["-g"]
# A macro no source reads, defined afresh on each compile of a game's source that ObjectCache missed:
# zig would answer it from its own cache without the compiler's warnings, which the entry must keep.
# The object is byte-for-byte the same (the command line is not recorded), and the macro is no part
# of the entry's key.
FRESH_MACRO = "LW__FRESH_COMPILE"
# zig's -O0 turns UBSan on, whose runtime prints through WASI files no host offers
UNOPTIMIZED_FLAGS = ["-fno-sanitize=undefined"]


def game_defines(config: GameConfig) -> tuple[str, ...]:
    """The macros a game's sources compile with: layerw.toml's screen size and tick rate (so C need not
    repeat them; ``abi.CONFIG_MACROS``), then its [build] defines."""
    return (*(f"{macro}={getattr(config, key)}" for macro, key in abi.CONFIG_MACROS.items()), *config.defines)


def cxx_flags(*, exceptions: bool = False, rtti: bool = False) -> list[str]:
    """C++'s flags: C++17, exceptions and RTTI off unless asked for."""
    return [CXX_FLAGS[0], *(exception_runtime.FLAGS if exceptions else CXX_FLAGS[1:2]),
            "-frtti" if rtti else CXX_FLAGS[2]]


@dataclass(frozen=True)
class Compiled:
    """What ``compile_module`` did: the warnings (one text per step that printed any) and which of the
    game's sources compiled and which came from the ``ObjectCache``."""

    warnings: tuple[str, ...]
    compiled: tuple[Path, ...] = ()
    cached: tuple[Path, ...] = ()


def compile_module(sources: list[Path], out: Path, *, runtime: tuple[Path, ...] = (RUNTIME_C,),
                   defines: tuple[str, ...] = (), cflags: tuple[str, ...] = (), exceptions: bool = False,
                   rtti: bool = False, debug: bool = False, optimize: bool = True,
                   cache: ObjectCache | None = None) -> Compiled:
    """Compile and link ``sources`` plus the guest ``runtime`` into ``out`` (a .wasm file); a game's
    ``cflags`` ([build] cflags, checked by ``GameConfig``) come after the project's, so they may
    override them, and apply to the game's sources only. ``exceptions`` and ``rtti`` turn on C++'s.
    With ``debug``, ``out`` keeps its DWARF and names (strip it with ``debuginfo.split``); without
    ``optimize``, -O0 (a debugger then sees every variable and line). The game's sources go through
    ``cache`` (default: the shared one in the local cache folder). Returns the compiler's and
    linker's warnings (file:line: warning: ...) and which sources compiled."""
    cxx = any(s.suffix in CXX_SUFFIXES for s in sources)
    cxx_args = cxx_flags(exceptions=exceptions, rtti=rtti)
    cache = cache if cache is not None else ObjectCache()
    warnings: list[str] = []
    compiled: list[Path] = []
    cached: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="layerw-build-") as tmp:
        objects = []
        for i, src in enumerate([*sources, *runtime]):
            obj = Path(tmp) / f"{i}-{src.stem}.o"
            is_cxx = src.suffix in CXX_SUFFIXES
            common = COMMON_FLAGS if optimize else [*("-O0" if f == "-O2" else f for f in COMMON_FLAGS), *UNOPTIMIZED_FLAGS]
            args = ["c++" if is_cxx else "cc", *common, *(cxx_args if is_cxx else C_FLAGS),
                    *(DEBUG_FLAGS if debug else ()), *(cflags if src in sources else ()), *(f"-D{d}" for d in defines),
                    "-c", str(src)]
            if src in sources:
                made = cache.compile(args, src, obj, partial(_compile_fresh, args, src, obj))
                warnings.append(made.warnings)
                (cached if made.cached else compiled).append(src)
            else:
                warnings.append(_check(zig.run([*args, "-o", str(obj)]), src))
            objects.append(str(obj))
        if exceptions and cxx:
            objects += [*exception_runtime.FLAGS, *map(str, exception_runtime.objects())]
        link = ["c++" if cxx else "cc", f"--target={zig.TARGET}", "-mexec-model=reactor", *objects,
                *(f for f in LINK_FLAGS if not (debug and f == "-s")), "-o", str(out)]
        warnings.append(_check(zig.run(link), None))
    return Compiled(tuple(w for w in warnings if w), tuple(compiled), tuple(cached))


def _compile_fresh(args: list[str], src: Path, obj: Path, extra: list[str]) -> str:
    """Compile one of the game's sources past zig's own cache (``FRESH_MACRO``), so its warnings are heard."""
    return _check(zig.run([*args, f"-D{FRESH_MACRO}={uuid.uuid4().hex}", *extra, "-o", str(obj)]), src)


def _check(proc: subprocess.CompletedProcess[str], src: Path | None) -> str:
    """The step's diagnostics (its warnings: empty when it printed none); CompileError when it failed."""
    diagnostics = (proc.stderr or proc.stdout).strip()
    if proc.returncode != 0:
        what = f"compiling {src}" if src else "linking"
        raise CompileError(f"{what} failed:\n{diagnostics}")
    return diagnostics
