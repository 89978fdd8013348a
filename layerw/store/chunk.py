"""Chunk: an immutable piece of a module or asset, named by the SHA-256 of its bytes.

A chunk is stored once for every game and version that holds it, at ``chunks/<id[:2]>/<id>``,
zstd-compressed when that is smaller (``encoding`` "zstd") and as is otherwise ("identity"); the
names are HTTP ``Content-Encoding`` tokens, so a server can send the stored bytes unchanged. The id
is the digest of the *uncompressed* bytes: what browsers' WebCrypto/SRI, S3 checksums and OCI
digests verify. Every read is checked against it; bytes that do not match raise ``ChunkCorrupt``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import zstandard

from layerw.errors import ChunkCorrupt

IDENTITY = "identity"
ZSTD = "zstd"
ENCODINGS = (IDENTITY, ZSTD)
LEVEL = 9  # zstd level for chunks: ~100 MB/s, most of level 19's ratio on game assets
MAX_CHUNK_BYTES = 16 * 1024 * 1024  # a decoded chunk is never larger (bounds hostile frames)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # Spec: RFC 8878 section 3.1.1, frame magic number
_ID = re.compile(r"^[0-9a-f]{64}$")


def chunk_id(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def is_chunk_id(text: str) -> bool:
    return bool(_ID.match(text))


def chunk_key(id_: str) -> str:
    """The chunk's key in a store; ``id_`` must be a chunk id (64 lowercase hex digits)."""
    if not is_chunk_id(id_):
        raise ValueError(f"{id_!r} is not a chunk id (64 lowercase hex digits of SHA-256)")
    return f"chunks/{id_[:2]}/{id_}"


@dataclass(frozen=True)
class ChunkRef:
    """What a manifest says about one chunk: id, decoded size, encoding and stored size."""

    id: str
    size: int
    encoding: str = IDENTITY
    stored_size: int = 0

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "size": self.size, "encoding": self.encoding, "stored_size": self.stored_size}


def encode(data: bytes | memoryview, level: int = LEVEL) -> tuple[ChunkRef, bytes]:
    """The chunk's reference and the bytes to store: zstd when smaller, else the bytes as they are."""
    raw = bytes(data)
    packed = zstandard.ZstdCompressor(level=level).compress(raw)
    id_ = chunk_id(raw)
    if len(packed) < len(raw):
        return ChunkRef(id_, len(raw), ZSTD, len(packed)), packed
    return ChunkRef(id_, len(raw), IDENTITY, len(raw)), raw


def encode_as(data: bytes | memoryview, encoding: str, level: int = LEVEL) -> bytes:
    """The bytes to store for a chunk whose reference already says ``encoding``."""
    raw = bytes(data)
    return zstandard.ZstdCompressor(level=level).compress(raw) if encoding == ZSTD else raw


def decode(id_: str, stored: bytes, encoding: str | None = None, size: int | None = None) -> tuple[bytes, str]:
    """The verified chunk bytes and the encoding they were stored in.

    With ``encoding`` unknown (a server asked for a bare id) the zstd frame magic picks the first
    guess and the digest decides: stored bytes are accepted only if some decoding hashes to ``id_``.
    A zstd frame is never decoded past ``size`` (the manifest's, when known) or ``MAX_CHUNK_BYTES``,
    whatever its header claims, so a decompression bomb costs no memory.
    """
    limit = MAX_CHUNK_BYTES if size is None else min(size, MAX_CHUNK_BYTES)
    guesses = [encoding] if encoding else ([ZSTD, IDENTITY] if stored[:4] == ZSTD_MAGIC else [IDENTITY])
    why = "do not hash to its id"
    for enc in guesses:
        if enc == ZSTD:
            try:
                claimed = zstandard.frame_content_size(stored)  # -1: not in the header
                if claimed > limit:
                    why = f"are a zstd frame claiming {claimed} bytes, above the limit of {limit}"
                    continue
                # Spec: RFC 8878 3.1.1.1.4; without a content size the output stops at the limit.
                data = zstandard.ZstdDecompressor().decompress(stored, max_output_size=limit)
            except zstandard.ZstdError as e:
                why = f"are not a zstd frame decoding within {limit} bytes ({e})"
                continue
        elif enc == IDENTITY:
            data = stored
        else:
            raise ChunkCorrupt(f"chunk {id_} has unknown encoding {enc!r}; known: {', '.join(ENCODINGS)}")
        if chunk_id(data) == id_:
            return data, enc
    raise ChunkCorrupt(f"chunk {id_} is corrupt: its stored bytes ({len(stored)}) {why}; "
                       "re-publish the game to rewrite it, or delete the chunk from the store")
