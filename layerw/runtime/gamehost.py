"""GameHost: the one interface every native game host implements.

A host runs one instance of a game build and is driven one fixed tick at a time. The backends are
siblings behind this interface, chosen in one place (``layerw.runtime.open_game`` and
``layerw.runtime.start.start_game``): ``Game`` (a core module on wasmtime), ``ComponentGame`` (a
component on wasmtime's component model), ``CanonGame`` (a component of the game's module alone, the
canonical ABI done by the host) and ``WorkerGame`` (any of them, in a child process bounded by a
watchdog). Rooms, replicas, the runner, ``layerw run`` and the benches are written against
this interface alone. Each member's docstring is its contract; ``layerw.runtime.basehost`` holds
what the backends share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from types import TracebackType

    import numpy as np

    from layerw.config import GameConfig
    from layerw.observability.logs import ContextLog
    from layerw.runtime.assets import Event
    from layerw.runtime.inputs import InputState
    from layerw.runtime.snapshot import Snapshot


@runtime_checkable
class GameHost(Protocol):
    """One running game. Calls are not thread-safe; a host belongs to one loop or thread."""

    @property
    def name(self) -> str:
        """The game's name (``[game] name``), on every error and log record the host makes."""
        ...

    @property
    def config(self) -> GameConfig:
        """The build's layerw.toml: tick rate, limits, screen size, players."""
        ...

    @property
    def tick_count(self) -> int:
        """Ticks simulated so far: the number of the next tick. After a failure, the failed tick."""
        ...

    @property
    def module_sha256(self) -> str:
        """SHA-256 (hex) of the module or component bytes; snapshots carry it to refuse another build's."""
        ...

    @property
    def log(self) -> ContextLog:
        """The game's logger (game and tick on every record); ``bind`` adds fields, e.g. a room id."""
        ...

    def tick(self, inputs: InputState, events: Sequence[Event] = ()) -> None:
        """Advance one fixed tick with ``inputs``: the host's own asset events due at this tick reach
        the game first, then ``events`` (players joining or leaving, stamped by a session server).
        More than ``abi.MAX_EVENTS`` events in all raise ``InputError``. A trap, the CPU deadline or
        the memory cap raise a ``GameError`` carrying the game's name and tick, here or (for a host
        that pipelines ticks) at the next call that waits for an answer; from then on every call
        into the guest raises ``GameError`` until ``restore``."""
        ...

    def play_as(self, seat: int | None) -> None:
        """This host runs a room's copy of the game, shown to the player in ``seat`` (None: the room's
        own copy or a spectator's). What the game shows may depend on it, its state never: a WASM-4
        cart reads it as NETPLAY while ``update`` runs, and its state hash and snapshots do not."""
        ...

    def render(self) -> memoryview:
        """This frame's command list (``abi`` opcodes), valid until the next call into the host."""
        ...

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
        """Images that became ready since the last call, as (asset handle, HxWx4 RGBA uint8), for
        the renderer to upload before drawing the next command list."""
        ...

    def take_samples(self) -> bytes:
        """The sound mixed since the last call: interleaved stereo s16 LE frames at ``abi.SAMPLE_RATE``,
        exactly ``SAMPLE_RATE / tick_rate`` per tick (the remainder carried from tick to tick). At most
        two seconds are kept for a caller who does not take them; older samples are dropped."""
        ...

    def resimulated(self) -> None:
        """The ticks since the last restore were simulated again (a rollback): their sound is dropped
        unheard, and the next samples fade in over 5 ms from what was playing before the restore
        (when that differs from what plays now), so a voice the rollback took back is faded out,
        never cut, and none is heard twice."""
        ...

    def skip_samples(self, *, fade: bool = False) -> None:
        """Drop the sound mixed since it was last taken, unheard: a room's fast-forward, whose sounds
        are past. With ``fade`` (a heal or rejoin, after a restore) the next samples fade in over 5 ms
        from what was playing before the restore (when that differs from what plays now), so the jump
        to the room's state does not click."""
        ...

    def audio_hash(self) -> str:
        """SHA-256 (hex) of every sample mixed since the host started or was last restored: equal on
        every host, backend and browser given the same build, seed and inputs."""
        ...

    def state_hash(self) -> str:
        """SHA-256 (hex) of the game state: guest memory from ``state_begin`` up, minus the command
        buffer. Equal on every host, backend and build of the same game given the same frames."""
        ...

    def snapshot(self) -> Snapshot:
        """The game's whole state at this tick boundary (memory plus host state), to restore here
        or on another host running the same build."""
        ...

    def restore(self, snap: Snapshot, *, allow_other_build: bool = False) -> None:
        """Continue from ``snap``, also after a failure (this clears it): exactly as a fresh instance
        given ``snap`` would (the game's next frame is GPU-fresh), whether the host starts one or,
        for its own build's snapshot on a live instance, writes the state back in place. A snapshot
        of another build, or above the memory cap, raises ``SnapshotError`` and changes nothing;
        one that fails after the instance was touched leaves the game failed.

        ``allow_other_build`` is hot reload's path (``layerw dev``): a snapshot of another build of
        the same game passes when the state layout the host can see fits (where state begins, the
        command buffer, and the memory, whose pages must cover the new module's initial memory, else
        ``SnapshotError`` after the start). Whether the game's own data still means the same (a
        struct's fields, a global's address) the host cannot see: that is the developer's call. Rooms,
        joins and saves never pass it."""
        ...

    def wait(self) -> None:
        """Finish every call still in flight, raising the first error among them (a no-op for a
        host whose calls finish before they return)."""
        ...

    def close(self) -> None:
        """Free the instance (and any worker process) now; closing twice is harmless."""
        ...

    def __enter__(self) -> GameHost:
        ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Close the host."""
        ...
