"""ObjectCache: a game source's compiled object and its compiler warnings, kept by what made them.

zig answers a repeat compile from its own cache without replaying the compiler's warnings, so a
warning would show once and then never again. This cache works as ccache's direct mode does
instead: an entry's key is the compile's command line (minus the output), the compiler's version
and the source's bytes; the entry holds every input the compiler read (its depfile, ``-MD -MF``)
with each one's SHA-256, the object, and the warnings. A compile whose inputs all hash the same is
answered from the entry, warnings included, and nothing compiles; a changed header the source
includes misses, and the source compiles afresh (its entry replaced).

An entry is one file (``<cache>/objects/KEY``: a JSON head, then the object), written whole and
renamed into place, so a reader never sees half of one and a trim removes whole entries; the
folder is kept under the local caches' bound (``DiskBudget``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import struct
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from layerw.diskbudget import DiskBudget, cache_root, max_bytes_from_env

log = logging.getLogger(__name__)
FORMAT = 1  # the entries' layout: a change makes old entries miss
HEAD = struct.Struct("<I")  # the JSON head's length
DEPENDENCY = re.compile(r"(?:\\.|[^\s\\])+")  # one path of a depfile's prerequisites (backslash escapes a space)

# compile(extra_args) -> the compiler's warnings; CompileError when it fails
Compile = Callable[[list[str]], str]


class Made(NamedTuple):
    """What ``ObjectCache.compile`` answers: the source's warnings, and whether its object came
    from the cache (nothing compiled)."""

    warnings: str
    cached: bool


def compiler_version() -> str:
    try:
        return metadata.version("ziglang")
    except metadata.PackageNotFoundError:
        return "unknown"


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def read_depfile(text: str, cwd: Path) -> list[Path]:
    """The prerequisites of a make-style depfile (clang's -MD -MF), as absolute paths."""
    joined = text.replace("\\\r\n", " ").replace("\\\n", " ")
    _, _, prerequisites = joined.partition(": ")
    paths = (m.group(0).replace("\\ ", " ").replace("$$", "$") for m in DEPENDENCY.finditer(prerequisites))
    return [(cwd / p).resolve() for p in paths]


def _changed_since(path: Path, ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns >= ns
    except OSError:
        return True


class ObjectCache:
    """Compiled objects with their warnings under ``root``; ``hits`` and ``misses`` count this
    instance's answers (a miss is a compile)."""

    def __init__(self, root: Path | None = None, max_bytes: int | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root() / "objects"
        self.budget = DiskBudget([self.root], max_bytes if max_bytes is not None else max_bytes_from_env())
        self.hits = 0
        self.misses = 0

    def key(self, args: list[str], source: Path) -> str:
        """What an entry is for: the command line (without the output), the compiler and the source's bytes."""
        digest = hashlib.sha256(json.dumps([FORMAT, compiler_version(), args, str(source)]).encode())
        digest.update(source.read_bytes())
        return digest.hexdigest()

    def compile(self, args: list[str], source: Path, out: Path, compile: Compile) -> Made:
        """Make ``out`` (the object of ``source`` compiled with ``args``) and return its warnings:
        from the cache when every input still hashes as it did, else by ``compile(extra_args)``
        (the extra arguments write the depfile), which is then kept; ``Made.cached`` says which."""
        key = self.key(args, source)
        path = self.root / key[:2] / key
        found = self._read(path)
        if found is not None:
            head, obj = found
            if all(file_sha256(Path(p)) == sha for p, sha in head["inputs"]):
                out.write_bytes(obj)
                self.budget.used(path)
                self.hits += 1
                return Made(str(head["warnings"]), cached=True)
        self.misses += 1
        depfile = out.with_suffix(".d")
        started = time.time_ns()
        warnings = compile(["-MD", "-MF", str(depfile)])
        read = read_depfile(depfile.read_text(), Path.cwd())
        inputs = [(str(p), file_sha256(p)) for p in read]
        if not any(_changed_since(p, started) for p in read):  # an input edited while it compiled: keep nothing
            self._write(path, {"source": str(source), "inputs": inputs, "warnings": warnings}, out.read_bytes())
        return Made(warnings, cached=False)

    @staticmethod
    def _read(path: Path) -> tuple[dict[str, Any], bytes] | None:
        try:
            data = path.read_bytes()
            (size,) = HEAD.unpack_from(data)
            head = json.loads(data[HEAD.size:HEAD.size + size])
        except (OSError, struct.error, ValueError):
            return None  # none yet, or damaged: compile again and replace it
        if not isinstance(head, dict) or not isinstance(head.get("inputs"), list):
            return None
        return head, data[HEAD.size + size:]

    def _write(self, path: Path, head: dict[str, object], obj: bytes) -> None:
        """Keep an entry; a cache folder that cannot be written only costs a compile next time."""
        encoded = json.dumps(head).encode()
        try:
            self.budget.write(path, HEAD.pack(len(encoded)) + encoded + obj)
        except OSError as e:
            log.warning("cannot keep %s's object in the cache (%s): it compiles again next time", head.get("source"), e)
