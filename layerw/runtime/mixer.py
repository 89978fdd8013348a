"""Mixer: the one sound mixer (``web/mixer.wasm``, built from ``toolchain/runtime/lw_mixer.c``)
running on wasmtime, the same module browsers run, so both produce the same samples.

It gets a tick's sound block and returns that tick's stereo s16 frames; its voices (and the raw
PCM it still holds) are the state snapshots carry. Sounds are registered by asset handle once
ready. It also keeps a SHA-256 of every sample it mixed (``digest``, what browsers report).
"""

from __future__ import annotations

import ctypes
import functools
import struct
from pathlib import Path

import numpy as np
import wasmtime

from layerw import abi
from layerw.errors import SnapshotError, SoundError

MODULE_PATH = Path(__file__).resolve().parent.parent / "web" / "mixer.wasm"
COUNTERS = ("bad_commands", "bad_handles", "pcm_dropped", "voices_stolen", "voices_on")


@functools.cache
def _module() -> tuple[wasmtime.Engine, wasmtime.Module]:
    engine = wasmtime.Engine()
    return engine, wasmtime.Module(engine, MODULE_PATH.read_bytes())


class Mixer:
    def __init__(self, tick_rate: int) -> None:
        engine, module = _module()
        self.tick_rate = tick_rate
        self._store = wasmtime.Store(engine)
        exports = wasmtime.Instance(self._store, module, []).exports(self._store)
        memory = exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self._memory = memory
        self._f = {name: exports[name] for name in ("mx_init", "mx_block", "mx_out", "mx_state", "mx_state_size",
                                                      "mx_counter", "mx_sound_alloc", "mx_mix", "mx_check_state",
                                                      "mx_state_used", "mx_digest", "mx_hash_out",
                                                      "mx_mix_batch", "mx_batch_capacity", "mx_frames")}
        mix = self._f["mx_mix"]
        assert isinstance(mix, wasmtime.Func)
        self._mix = mix  # called every tick: no lookup
        self.reset()
        self._block = self._call("mx_block")
        self._out = self._call("mx_out")
        self._state = self._call("mx_state")
        self.state_size = self._call("mx_state_size")
        self.batch_capacity = self._call("mx_batch_capacity")
        self.state_min = self.state_size - abi.PCM_QUEUE_FRAMES * 4  # the state with no PCM queued

    def _call(self, name: str, *args: int) -> int:
        func = self._f[name]
        assert isinstance(func, wasmtime.Func)
        return int(func(self._store, *args) or 0)

    def _base(self) -> int:
        return ctypes.addressof(self._memory.data_ptr(self._store).contents)

    def reset(self) -> None:
        """Silence: no voices, no sounds registered."""
        if self._call("mx_init", self.tick_rate) != 0:
            raise ValueError(f"the mixer refuses tick rate {self.tick_rate}")

    def add_sound(self, handle: int, frames: np.ndarray) -> None:
        """Register ``frames`` (n x 2 int16) as the sound of asset ``handle``."""
        ptr = self._call("mx_sound_alloc", handle, len(frames))
        if ptr == 0:
            raise SoundError(f"the mixer cannot hold sound {handle} ({len(frames)} frames): a handle above "
                             f"{abi.MAX_SOUNDS - 1}, or the game's sounds exceed {abi.MAX_SOUND_BYTES} bytes")
        data = np.ascontiguousarray(frames, dtype="<i2").tobytes()
        ctypes.memmove(self._base() + ptr, data, len(data))

    def mix(self, block: bytes | memoryview) -> bytes:
        """Apply one tick's sound block and return that tick's samples (interleaved s16 LE)."""
        n = min(len(block), abi.SOUND_CAPACITY)
        base = self._base()
        if n:
            ctypes.memmove(base + self._block, bytes(block[:n]), n)
        frames = self._mix(self._store, n)
        return ctypes.string_at(base + self._out, frames * 2 * abi.CHANNELS)

    def mix_batch(self, blocks: list[bytes]) -> tuple[int, bytes]:
        """Mix several ticks' blocks in one call (each call from Python costs more than mixing a
        silent tick): how many it mixed (from the front; the mixer's output may fill first) and
        their samples, one tick after another. The blocks must fit ``batch_capacity`` with a u32
        length each, padded to 4."""
        packed = b"".join(struct.pack("<I", len(b)) + b + bytes(-len(b) % 4) for b in blocks)
        if len(packed) > self.batch_capacity:
            raise ValueError(f"{len(blocks)} sound blocks need {len(packed)} bytes, "
                             f"the mixer's batch holds {self.batch_capacity}")
        base = self._base()
        ctypes.memmove(base + self._block, packed, len(packed))
        done = self._call("mx_mix_batch", len(blocks))
        return done, ctypes.string_at(base + self._out, self._call("mx_frames") * 2 * abi.CHANNELS)

    def hash_out(self) -> None:
        """Add the last mix's samples to the mixer's own running hash (``digest``)."""
        self._call("mx_hash_out")

    def counters(self) -> dict[str, int]:
        return {name: self._call("mx_counter", i) for i, name in enumerate(COUNTERS)}

    def state(self) -> bytes:
        """The voices and the PCM still queued (the state's used part)."""
        return ctypes.string_at(self._base() + self._state, self._call("mx_state_used"))

    def digest(self) -> bytes:
        """SHA-256 of the samples given to ``hash_out`` since the last reset (as browsers use it)."""
        return ctypes.string_at(self._base() + self._call("mx_digest"), 32)

    def set_state(self, data: bytes) -> None:
        """Continue from ``data`` (from ``state``); a state of another size, tick rate or out of range
        raises SnapshotError and changes nothing."""
        if not self.state_min <= len(data) <= self.state_size:
            raise SnapshotError(f"mixer state is {len(data)} bytes, this mixer's is {self.state_min}..{self.state_size}")
        before = ctypes.string_at(self._base() + self._state, self.state_size)
        ctypes.memmove(self._base() + self._state, data.ljust(self.state_size, b"\0"), self.state_size)
        if self._call("mx_check_state", self.tick_rate) != 0:
            ctypes.memmove(self._base() + self._state, before, len(before))
            raise SnapshotError("mixer state in the snapshot is corrupt or of another tick rate")

    def close(self) -> None:
        self._f = {}
        self._store.close()

    def __enter__(self) -> Mixer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
