"""Delta: a binary patch from one module to the next — standard zstd with the old module as dictionary.

Content-defined chunking cannot help recompiled code: a small source change shifts addresses and
offsets all through the module. A zstd frame compressed with the old module loaded as a
raw-content dictionary (zstd's "patch-from" mode) encodes the new module as matches into the old
one, a few hundred bytes for a one-function change. It is one ordinary zstd frame, so any zstd
decoder with dictionary support applies it (the browser's wasm zstd included).
"""

from __future__ import annotations

import hashlib

import zstandard

from layerw.errors import ChunkCorrupt

LEVEL = 19
MAX_WINDOW_LOG = 27  # 128 MiB: the largest window decoders accept without opting in
MAX_MODULE_BYTES = 1 << MAX_WINDOW_LOG  # no delta decodes to more when the manifest gives no size


def _window_log(old: bytes, new: bytes) -> int:
    # Spec: zstd --patch-from (programs/fileio.c) sizes the window to cover dictionary + source.
    return max(17, min(MAX_WINDOW_LOG, (len(old) + len(new)).bit_length()))


def _dictionary(old: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(old, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def make_delta(old: bytes, new: bytes, level: int = LEVEL) -> bytes:
    """A zstd frame that decompresses, with ``old`` as raw-content dictionary, to ``new``."""
    params = zstandard.ZstdCompressionParameters.from_level(
        level, window_log=_window_log(old, new), enable_ldm=True, write_content_size=True,
        write_checksum=True)
    return zstandard.ZstdCompressor(dict_data=_dictionary(old), compression_params=params).compress(new)


def apply_delta(old: bytes, delta: bytes, new_sha256: str, size: int = MAX_MODULE_BYTES) -> bytes:
    """The new module, verified against its SHA-256 (ChunkCorrupt if the patch does not give it).

    ``size`` is the new module's size from its manifest: a frame claiming more, or decoding past
    it, is refused before any memory is spent on it (a decompression bomb)."""
    try:
        claimed = zstandard.frame_content_size(delta)
        if claimed > size:
            raise ChunkCorrupt(f"module delta claims {claimed} bytes, the manifest says {size}")
        out = zstandard.ZstdDecompressor(dict_data=_dictionary(old), max_window_size=1 << MAX_WINDOW_LOG) \
            .decompress(delta, max_output_size=size)
    except zstandard.ZstdError as e:
        raise ChunkCorrupt(f"module delta does not apply: {e}") from e
    if hashlib.sha256(out).hexdigest() != new_sha256:
        raise ChunkCorrupt(f"module delta gives a module that does not hash to {new_sha256}")
    return out
