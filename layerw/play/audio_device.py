"""AudioDevice: a miniaudio playback device (s16, stereo) whose data callback is a C function, called
on the device's thread with no Python (and no GIL) in between.

pyminiaudio's ``PlaybackDevice`` always installs its own cffi callback, which runs Python; this
class opens the device through the same bundled miniaudio (pyminiaudio's cffi ``lib``: context,
device config, init, start, uninit) with ``dataCallback`` pointing at ``lw_speaker_data``
(``SpeakerLibrary``) and ``pUserData`` at the speaker's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import miniaudio
from _miniaudio import ffi, lib

from layerw import abi
from layerw.errors import AudioDeviceError


def _check(result: int, what: str) -> None:
    if result != lib.MA_SUCCESS:
        raise AudioDeviceError(f"the audio device would not {what} (miniaudio result {result}); try --sound null, "
                               "or run without --sound")


class AudioDevice:
    """Opened at once, playing from ``start()`` until ``close()``. ``callback``: the C function's address
    (``void (ma_device*, void* out, const void* in, ma_uint32 frames)``); ``user_data``: the address it
    finds in the device's pUserData (kept alive by the caller until close)."""

    def __init__(self, callback: int, user_data: int, *, period_ms: int, periods: int,
                 backends: Sequence[miniaudio.Backend] | None = None, app_name: str = "layerw") -> None:
        self.running = False
        self._app_name = app_name.encode()
        self._context: Any = ffi.new("ma_context *")
        config = lib.ma_context_config_init()
        config.threadPriority = lib.ma_thread_priority_highest
        config.pulse.pApplicationName = ffi.from_buffer(self._app_name)
        config.jack.pClientName = ffi.from_buffer(self._app_name)
        wanted = list(backends or [])
        chosen = ffi.new("ma_backend[]", [b.value for b in wanted]) if wanted else ffi.NULL
        _check(lib.ma_context_init(chosen, len(wanted), ffi.addressof(config), self._context), "open (no audio context)")
        self._device: Any = ffi.new("ma_device *")
        self._config = lib.ma_device_config_init(lib.ma_device_type_playback)
        self._config.sampleRate = abi.SAMPLE_RATE
        self._config.playback.channels = abi.CHANNELS
        self._config.playback.format = miniaudio.SampleFormat.SIGNED16.value
        self._config.periodSizeInMilliseconds = period_ms
        self._config.periods = periods
        self._config.dataCallback = ffi.cast(ffi.typeof(self._config.dataCallback), callback)
        self._config.pUserData = ffi.cast("void *", user_data)
        result = lib.ma_device_init(self._context, ffi.addressof(self._config), self._device)
        if result != lib.MA_SUCCESS:
            lib.ma_context_uninit(self._context)
            _check(result, "open")
        backend = self._device.pContext.backend
        self.backend: str = ffi.string(lib.ma_get_backend_name(backend)).decode()
        if backend == lib.ma_backend_null and wanted and miniaudio.Backend.NULL not in wanted:
            self.close()
            raise AudioDeviceError("no suitable audio backend found; try --sound null, or run without --sound")

    def start(self) -> None:
        _check(lib.ma_device_start(self._device), "start")
        self.running = True

    def close(self) -> None:
        """Stop the device (its thread never calls back after this returns) and release it."""
        if self._device is not None:
            lib.ma_device_uninit(self._device)  # stops it first, waiting for the callback in progress
            lib.ma_context_uninit(self._context)
            self._device = None
        self.running = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
