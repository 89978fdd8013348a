"""BaseHost: what every game host backend shares, whatever runs the guest.

The game's identity (name, config, module hash, seed), its logger, the failure latch (a failed
game refuses further calls into the guest until ``restore``), the tracing spans around start-up,
tick and render, close-on-failed-start, close as a context manager, the game's ``Saves`` (bound by
its [saves] limits; None in rooms) and the game's ``Audio``
(each tick's sound block mixed here, whichever backend ran the tick). A backend implements
``_tick``, ``_render`` and ``close`` (and the rest of ``GameHost``); ``memoryhost.MemoryHost``
adds what the in-process backends share.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Self

from layerw.bundle import Bundle
from layerw.errors import GameError
from layerw.observability import tracing
from layerw.observability.logs import ContextLog
from layerw.runtime.assets import Event
from layerw.runtime.audio import Audio
from layerw.runtime.inputs import InputState
from layerw.saves import Saves

SEED_MASK = (1 << 64) - 1
log = logging.getLogger("layerw.game")


class BaseHost(ABC):
    def __init__(self, bundle: Bundle, *, seed: int = 0, audio: bool = True, saves: Saves | None = None) -> None:
        self.bundle = bundle
        self.config = bundle.config
        self.saves = saves.limited(self.config.save_slot_bytes, self.config.save_total_bytes) if saves else None
        self.name = bundle.config.name
        self.seed = seed & SEED_MASK
        self.module_sha256 = hashlib.sha256(bundle.module).hexdigest()
        self.tick_count = 0
        # wasmtime-py keeps host functions in a process-wide table until their store is freed, so
        # whatever they call back into holds this game weakly: a game nobody closed is still collected.
        me = weakref.proxy(self)
        self._me = me
        self._tick_now: Callable[[], int] = lambda: me.tick_count
        self.log = ContextLog(log, tick=self._tick_now, game=self.name)  # game and tick on every record
        self._failure: GameError | None = None
        # None in a worker process: its parent mixes the sound blocks it sends back (``last_sound``)
        self.audio = Audio(self.name, self.config.tick_rate, bundle.read_asset, self.log) if audio else None
        self.last_sound: tuple[bytes, int, list[tuple[int, str]]] = (b"", 0, [])
        self.sound_heard = True  # False once ``drop_sound``: ticks leave the sound block unread

    def _start(self, start: Callable[[], None]) -> None:
        """Run a backend's start-up in an ``instantiate`` span; a game that failed to start keeps
        no instance, process or memory alive."""
        try:
            with tracing.span("instantiate", game=self.name, tick=self.tick_count):
                start()
        except BaseException:
            self.close()
            raise

    # --- the failure latch ------------------------------------------------------------------------

    def _refuse_if_failed(self) -> None:
        """Raise when the game failed and was not restored since."""
        if self._failure is not None:
            raise GameError(f"{self.name} already failed at tick {self._failure.tick} "
                            f"({self._failure}); restore a snapshot or start it again",
                            game=self.name, tick=self.tick_count)

    def _fail(self, error: GameError) -> GameError:
        """Latch ``error`` as the game's failure; returns it for the caller to raise."""
        self._failure = error
        return error

    # --- the frame path ---------------------------------------------------------------------------

    def tick(self, inputs: InputState, events: Sequence[Event] = ()) -> None:
        """Advance one tick (see ``GameHost.tick``)."""
        if tracing.enabled:  # the only cost of tracing when it is off
            with tracing.span("tick", game=self.name, tick=self.tick_count):
                return self._tick(inputs, events)
        self._tick(inputs, events)

    def render(self) -> memoryview:
        """This frame's command list (see ``GameHost.render``)."""
        if tracing.enabled:
            with tracing.span("render", game=self.name, tick=self.tick_count):
                return self._render()
        return self._render()

    def _sound(self, block: bytes | memoryview, dropped: int, sounds: list[tuple[int, str]]) -> None:
        """A tick's sound: the sounds that became ready, then its block (``dropped``: commands that
        did not fit), mixed; kept as ``last_sound`` for the parent when this host has no audio."""
        if self.audio is None:
            self.last_sound = (bytes(block), dropped, sounds)
            return
        self.audio.register(sounds)
        self.audio.mix(block, dropped)

    def drop_sound(self) -> None:
        """Nobody hears this host: no mixer here and no parent to send its sound to (a room's
        authoritative game). Each tick from now on leaves the sound block unread, where reading and
        copying it to ``last_sound`` cost a pong room ~8 us a tick (a sixth of its tick)."""
        self.sound_heard = False
        self.last_sound = (b"", 0, [])

    def play_as(self, seat: int | None) -> None:  # noqa: B027  (a Layer-W game has nothing to set)
        """This copy runs in a room for ``seat`` (see ``GameHost.play_as``). A Layer-W game reads every
        player's input and has no local player, so nothing changes; a WASM-4 cart's NETPLAY does."""

    def take_samples(self) -> bytes:
        """The samples mixed since the last call (see ``GameHost.take_samples``)."""
        self.wait()
        return self.audio.take_samples() if self.audio is not None else b""

    def resimulated(self) -> None:
        """The ticks since the last restore were simulated again (see ``GameHost.resimulated``)."""
        if self.audio is not None:
            self.audio.resimulated()

    def skip_samples(self, *, fade: bool = False) -> None:
        """Drop the sound mixed since it was last taken, unheard (see ``GameHost.skip_samples``)."""
        if self.audio is not None:
            self.audio.skip(fade=fade)

    def audio_hash(self) -> str:
        """SHA-256 of every sample mixed (see ``GameHost.audio_hash``)."""
        self.wait()
        return self.audio.audio_hash() if self.audio is not None else ""

    def _close_audio(self) -> None:
        if self.audio is not None:
            self.audio.close()

    @abstractmethod
    def wait(self) -> None:
        """Finish every call still in flight (see ``GameHost.wait``)."""

    @abstractmethod
    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        """Advance one tick, the backend's way; ``tick_count`` counts it."""

    @abstractmethod
    def _render(self) -> memoryview:
        """This frame's command list, the backend's way."""

    # --- closing ----------------------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None:
        """Free the instance (and any process) now; closing twice, or a half-started game, is harmless."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
