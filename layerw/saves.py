"""Saves: one game's save slots in a directory, each written atomically and checked on read.

A slot is one file ``<name>.slot``: a 48-byte header (magic ``LWSV``, format 1, the game's
version, the data's length, the data's SHA-256) and the data. A write goes to a temporary file in
the same directory, is fsynced, renamed over the slot and the directory is fsynced, so after a
crash the slot holds the old bytes or the new, never a mix; a slot whose header or checksum does
not match reads as ``SaveCorrupt``. Sizes are bounded per slot and per game ([saves] in
layerw.toml). The runtime gets a ``Saves`` from above (``layerw play``); rooms give none.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from layerw import abi
from layerw.errors import SaveCorrupt, SaveError, SaveTooBig

MAGIC = b"LWSV"
FORMAT = 1
HEADER = struct.Struct("<4sIiI32s")  # magic, format, version, length, sha256
SUFFIX = ".slot"
MAX_VERSION = 0x7FFFFFFF  # a slot's version is an i32 in the header and in the contract, never negative
_NAME = re.compile(rf"^[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,{abi.SAVE_NAME_MAX - 1}}}$")


@dataclass(frozen=True)
class Slot:
    """One slot's contents: the game's version number and its bytes."""

    version: int
    data: bytes


def check_name(name: str) -> str:
    """``name`` if it is a valid slot name ([A-Za-z0-9_.-], 1..64 bytes, not starting with '.')."""
    if not _NAME.match(name):
        raise SaveError(f"save slot name {name!r} must be 1..{abi.SAVE_NAME_MAX} of [A-Za-z0-9_.-], not starting with '.'")
    return name


def encode(slot: Slot) -> bytes:
    """A slot's file: header, then data."""
    return HEADER.pack(MAGIC, FORMAT, slot.version, len(slot.data), hashlib.sha256(slot.data).digest()) + slot.data


def decode(name: str, blob: bytes) -> Slot:
    """The slot a file holds; ``SaveCorrupt`` when its header, length or checksum is wrong."""
    if len(blob) < HEADER.size:
        raise SaveCorrupt(f"save slot {name!r} is truncated ({len(blob)} bytes, shorter than its header)")
    magic, fmt, version, length, digest = HEADER.unpack_from(blob)
    data = blob[HEADER.size:]
    if magic != MAGIC or fmt != FORMAT:
        raise SaveCorrupt(f"save slot {name!r} is not a Layer-W save of format {FORMAT}")
    if length != len(data) or hashlib.sha256(data).digest() != digest or version < 0:
        raise SaveCorrupt(f"save slot {name!r} fails its length or checksum: delete it or write it again")
    return Slot(version, data)


def default_directory(game: str) -> Path:
    """Where ``game``'s saves live: ``$LAYERW_SAVE_DIR/<game>``, else ``$XDG_DATA_HOME`` (or
    ``~/.local/share``) ``/layerw/saves/<game>``."""
    root = os.environ.get("LAYERW_SAVE_DIR")
    if root:
        return Path(root) / game
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "layerw" / "saves" / game


class Saves:
    """The save slots of one game in ``directory`` (created on first write), bounded by
    ``slot_bytes`` per slot and ``total_bytes`` for all of them. Holds no open file: it can be
    passed to a worker process as it is."""

    def __init__(self, directory: Path, *, slot_bytes: int = abi.SAVE_SLOT_BYTES,
                 total_bytes: int = abi.SAVE_TOTAL_BYTES) -> None:
        self.directory = Path(directory)
        self.slot_bytes = slot_bytes
        self.total_bytes = total_bytes

    @classmethod
    def for_game(cls, game: str, *, slot_bytes: int = abi.SAVE_SLOT_BYTES,
                 total_bytes: int = abi.SAVE_TOTAL_BYTES) -> Saves:
        """``game``'s saves in the user's data directory (``default_directory``)."""
        return cls(default_directory(game), slot_bytes=slot_bytes, total_bytes=total_bytes)

    def limited(self, slot_bytes: int, total_bytes: int) -> Saves:
        """These saves under other limits (a game's [saves] in layerw.toml)."""
        return Saves(self.directory, slot_bytes=slot_bytes, total_bytes=total_bytes)

    def path(self, name: str) -> Path:
        return self.directory / (check_name(name) + SUFFIX)

    def names(self) -> list[str]:
        """The slots stored, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.name[:-len(SUFFIX)] for p in self.directory.iterdir()
                      if p.name.endswith(SUFFIX) and _NAME.match(p.name[:-len(SUFFIX)]))

    def read(self, name: str) -> Slot | None:
        """Slot ``name``, or None when it was never written; ``SaveCorrupt`` when it fails its
        checks, ``SaveError`` when it cannot be read."""
        path = self.path(name)
        try:
            with open(path, "rb") as f:
                blob = f.read(HEADER.size + self.slot_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise SaveError(f"save slot {name!r} cannot be read from {path}: {e.strerror}") from e
        return decode(name, blob)

    def used(self, *, besides: str = "") -> int:
        """Data bytes stored in every slot but ``besides`` (by file size, less headers)."""
        total = 0
        for other in self.names():
            if other != besides:
                try:
                    total += max(0, self.path(other).stat().st_size - HEADER.size)
                except FileNotFoundError:
                    continue
        return total

    def write(self, name: str, data: bytes, version: int) -> None:
        """Replace slot ``name`` atomically; ``SaveTooBig`` over a limit, ``SaveError`` for a bad
        version or a failed write (the slot then keeps its old bytes)."""
        path = self.path(name)
        if not 0 <= version <= MAX_VERSION:
            raise SaveError(f"save slot {name!r}: version {version} must be within 0..2^31-1")
        if len(data) > self.slot_bytes:
            raise SaveTooBig(f"save slot {name!r}: {len(data)} bytes, over [saves] slot_bytes = {self.slot_bytes}",
                             limit="slot")
        if self.used(besides=name) + len(data) > self.total_bytes:
            raise SaveTooBig(f"save slot {name!r}: {len(data)} more bytes would put the game's saves over "
                             f"[saves] total_bytes = {self.total_bytes}", limit="total")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                blob = encode(Slot(version, bytes(data)))
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            self._sync_directory()
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise SaveError(f"save slot {name!r} could not be written to {path}: {e.strerror or e}; "
                            "the slot keeps its old bytes") from e

    def delete(self, name: str) -> None:
        """Remove slot ``name`` (nothing if it was never written)."""
        self.path(name).unlink(missing_ok=True)
        self._sync_directory()

    def _sync_directory(self) -> None:
        """fsync the directory, so the rename itself survives a power cut."""
        if not self.directory.is_dir():
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
