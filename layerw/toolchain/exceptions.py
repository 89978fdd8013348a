"""ExceptionRuntime: what C++ exceptions need in a game module (``[build] exceptions = true``).

The project's zig builds libc++ and libc++abi for wasm32-wasi without exceptions, so a game that
throws links the missing pieces itself: libc++abi's throw/catch and personality routine and
libunwind's Wasm unwinder, compiled from the sources zig ships, plus the ``__cpp_exception`` tag
(``runtime/lw_cpp_exception.S``). They use Wasm exception handling with exnref (``FLAGS``), which
wasmtime runs with ``Config.wasm_exceptions`` and current browsers run natively. Objects are
compiled once per zig version into the zig cache.

What stays without exceptions: libc++ itself (an out-of-range ``std::vector::at`` aborts rather
than throws), and component builds (refused by ``GameConfig``).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import ziglang

from layerw.errors import CompileError
from layerw.toolchain import zig

FLAGS = ["-fwasm-exceptions", "-mexception-handling", "-mllvm", "-wasm-use-legacy-eh=false"]
TAG = Path(__file__).resolve().parent / "runtime" / "lw_cpp_exception.S"
ZIG_LIB = Path(ziglang.__file__).resolve().parent / "lib"
ABI_SOURCES = ("cxa_exception.cpp", "cxa_personality.cpp")  # the rest of libc++abi is zig's
ABI_DEFINES = ["-D_LIBCXXABI_BUILDING_LIBRARY", "-D_LIBCPP_BUILDING_LIBRARY", "-DLIBCXXABI_USE_LLVM_UNWINDER",
               "-D_LIBCXXABI_HAS_NO_THREADS"]


def _sources() -> list[tuple[Path, list[str]]]:
    unwind = ZIG_LIB / "libunwind"
    abi = ZIG_LIB / "libcxxabi"
    out: list[tuple[Path, list[str]]] = [
        (unwind / "src" / "Unwind-wasm.c", ["cc", "-D_LIBUNWIND_HIDE_SYMBOLS", f"-I{unwind / 'include'}"]),
        (TAG, ["cc"]),
    ]
    for name in ABI_SOURCES:
        out.append((abi / "src" / name, ["c++", "-frtti", *ABI_DEFINES, f"-I{abi / 'include'}",
                                         f"-I{unwind / 'include'}", f"-I{ZIG_LIB / 'libcxx' / 'src'}"]))
    return out


def objects() -> list[Path]:
    """The exception runtime's objects, compiled on first use and kept in the zig cache."""
    sources = _sources()
    missing = [str(src) for src, _ in sources if not src.is_file()]
    if missing:
        raise CompileError(f"C++ exceptions need sources this zig does not ship: {missing}; build with "
                           "[build] exceptions = false")
    key = hashlib.sha256(b"".join(src.read_bytes() for src, _ in sources) + " ".join(FLAGS).encode()).hexdigest()[:16]
    folder = zig.cache_dir() / "layerw-exceptions" / key
    out = []
    for src, (driver, *flags) in sources:
        obj = folder / f"{src.stem}.o"
        if not obj.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = obj.with_suffix(".tmp.o")
            proc = zig.run([driver, f"--target={zig.TARGET}", "-O2", *FLAGS, *flags, "-c", str(src), "-o", str(tmp)])
            _check(proc, src)
            tmp.replace(obj)
        out.append(obj)
    return out


def _check(proc: subprocess.CompletedProcess[str], src: Path) -> None:
    if proc.returncode != 0:
        raise CompileError(f"compiling the C++ exception runtime ({src.name}) failed; build with "
                           f"[build] exceptions = false:\n{(proc.stderr or proc.stdout).strip()}")
