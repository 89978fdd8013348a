"""Every error Layer-W raises, in one tree.

    LayerWError
    ├── ConfigError(ValueError)           layerw.toml is missing, malformed or inconsistent
    ├── ToolchainError                    the C toolchain could not run
    │   ├── CompileError                  the compiler rejected the sources (file:line in message)
    │   └── ContractError                 a module misses an export or imports what no host offers
    ├── InvalidModule(ValueError)         bytes that are not a wasm module, or fail validation
    ├── AssetError                        an asset is missing or cannot be decoded
    │   ├── AssetNotFound(KeyError)
    │   ├── SoundError(ValueError)        a sound asset is corrupt, truncated, too long or of an unknown format
    │   └── FontError(ValueError)         a font asset is no TrueType/OpenType file, or too big for one atlas
    ├── GameError                         the game failed while running; carries game and tick
    │   ├── GameCrashed                   the guest trapped (trap code attached)
    │   ├── GameTimedOut(TimeoutError)    a call ran past its CPU deadline
    │   ├── GameOutOfMemory(MemoryError)  the guest tried to grow past its memory cap
    │   ├── GameExited                    the guest called proc_exit
    │   ├── PluginError                   a plugin the game links failed; names the plugin
    │   │   └── PluginCrashed             the plugin trapped (trap code attached)
    │   └── NotDeterministic              a rolled-back, resimulated tick differs from its first run (SyncTest)
    ├── CapabilityDenied(PermissionError) a component imports a capability its manifest does not grant
    ├── UnsupportedCpuLimit(ValueError)   an Engine asked for a CPU limit it cannot enforce in-process
    ├── UnsupportedTier(ValueError)       an execution tier that cannot run this build (or here)
    ├── SnapshotError(ValueError)         a snapshot does not fit this module or is corrupt
    ├── SaveError                         a save slot could not be written or read (bad name, I/O)
    │   ├── SaveTooBig(ValueError)        over [saves] slot_bytes or total_bytes
    │   ├── SaveCorrupt(ValueError)       a stored slot fails its header or checksum
    │   └── SaveUnauthorized(PermissionError)  a save server refused the player's key (missing, malformed or revoked)
    ├── InputError(ValueError)            an input recording is malformed
    ├── SessionError                      a multiplayer session refused or lost a client
    │   ├── ProtocolError(ValueError)     a malformed, oversized or out-of-order message
    │   │   └── OutOfStep                 a player sends inputs but never acknowledges the room's frames
    │   ├── RoomFull                      no free seat (or room) for a new player
    │   ├── SeatTaken                     a HELLO names a seat whose connection is live
    │   ├── RoomLost                      the room could not be resumed and started over: the seat is gone
    │   └── RoomUnreachable(ConnectionError)  a client gave up rejoining a room after its retries
    ├── CheckpointError                   a room checkpoint could not be written or read
    │   └── CheckpointCorrupt(ValueError)  a checkpoint is truncated, tampered with, or of another build
    ├── CommandListError(ValueError)      a frame's command list is malformed (bad op, overrun)
    │   └── GpuStreamError                a frame's GPU commands name, size or bind what they may not
    ├── ShaderError(ValueError)           a WGSL shader does not compile (asset and line attached)
    ├── RenderError                       the GPU backend failed or is missing
    ├── AudioDeviceError(ValueError)      no such audio backend or setting, or the device would not open
    └── StoreError                        a store could not be opened, read or written
        ├── StoreUnavailable(ConnectionError)  the backend cannot be reached or refused the request
        ├── NotPublished(KeyError)        no such game, channel, version or chunk in the store
        ├── VersionExists                 that version is published already with other content
        ├── ManifestError(ValueError)     a manifest or channel file is malformed or of an unknown schema
        ├── ChunkCorrupt(ValueError)      a chunk's bytes do not hash to its id (never passed on)
        └── Unauthorized(PermissionError) publishing, a channel move or gc without the store's token

Messages say what happened and what to do about it.
"""

from __future__ import annotations


class LayerWError(Exception):
    """Root of every error Layer-W raises."""

    def __reduce__(self) -> tuple[object, ...]:
        # Keep keyword fields (game, tick, trap_code, ...) when an error crosses a process boundary.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[LayerWError], args: tuple[object, ...], state: dict[str, object]) -> LayerWError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class ConfigError(LayerWError, ValueError):
    """layerw.toml is missing, malformed or inconsistent."""


class ToolchainError(LayerWError):
    """The C toolchain could not run."""


class CompileError(ToolchainError):
    """The compiler rejected a game's sources; the message holds the diagnostics."""


class ContractError(ToolchainError):
    """A module does not follow the game contract (missing export, unknown import)."""


class InvalidModule(LayerWError, ValueError):
    """Bytes that are not a wasm binary module, or a module that fails validation."""


class AssetError(LayerWError):
    """An asset is missing or cannot be decoded."""


class AssetNotFound(AssetError, KeyError):
    """No asset of that name exists in the game."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class SoundError(AssetError, ValueError):
    """A sound asset is corrupt, truncated, too long or of an unknown format (or the game's sounds
    exceed the mixer's budget)."""


class FontError(AssetError, ValueError):
    """A font asset ([assets] fonts) is not a TrueType/OpenType file FreeType can read, maps no code
    point asked for, or its glyphs do not fit one atlas texture."""


class GameError(LayerWError):
    """The game failed while running; ``frames`` is the guest's backtrace where the host read one
    (innermost first, each ``{"function", "file", "line", "offset"}``; file and line from the
    build's symbols, see ``layerw.symbols``)."""

    def __init__(self, message: str, *, game: str = "", tick: int = -1) -> None:
        super().__init__(message)
        self.game = game
        self.tick = tick
        self.frames: list[dict[str, object]] = []


class GameCrashed(GameError):
    """The guest trapped; ``trap_code`` names the trap (e.g. ``unreachable``)."""

    def __init__(self, message: str, *, game: str = "", tick: int = -1, trap_code: str = "") -> None:
        super().__init__(message, game=game, tick=tick)
        self.trap_code = trap_code


class GameTimedOut(GameError, TimeoutError):
    """A call into the guest ran past its CPU deadline."""


class GameOutOfMemory(GameError, MemoryError):
    """The guest tried to grow its memory past the cap its manifest allows."""


class GameExited(GameError):
    """The guest called WASI proc_exit."""

    def __init__(self, message: str, *, game: str = "", tick: int = -1, code: int = 0) -> None:
        super().__init__(message, game=game, tick=tick)
        self.code = code


class PluginError(GameError):
    """A plugin linked into the game failed; ``plugin`` is its slot in ``[plugins]``."""

    def __init__(self, message: str, *, game: str = "", tick: int = -1, plugin: str = "") -> None:
        super().__init__(message, game=game, tick=tick)
        self.plugin = plugin


class PluginCrashed(PluginError):
    """A plugin trapped while the game called it; ``trap_code`` names the trap."""

    def __init__(self, message: str, *, game: str = "", tick: int = -1, plugin: str = "", trap_code: str = "") -> None:
        super().__init__(message, game=game, tick=tick, plugin=plugin)
        self.trap_code = trap_code


class NotDeterministic(GameError):
    """The game's state after a rollback and resimulation with the same inputs differs from its first
    simulation (found by SyncTest): ``tick`` is the first tick whose state differs, ``rollback`` how
    many ticks were resimulated. Such a game desyncs under rollback: it must keep all its state in
    memory above ``state_begin`` and read nothing but its inputs and the host's seeded random."""

    def __init__(self, message: str, *, game: str = "", tick: int = -1, rollback: int = 0) -> None:
        super().__init__(message, game=game, tick=tick)
        self.rollback = rollback


class CapabilityDenied(LayerWError, PermissionError):
    """A component (game or plugin) imports something its manifest does not grant; ``component``
    names it and ``missing`` lists the capabilities it would need."""

    def __init__(self, message: str, *, component: str = "", missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.component = component
        self.missing = missing


class UnsupportedCpuLimit(LayerWError, ValueError):
    """A CPU limit an Engine cannot enforce in-process (the watchdog bounds a worker process)."""


class UnsupportedTier(LayerWError, ValueError):
    """An execution tier that cannot run this build (a component or cart on the AOT tier) or here."""


class SnapshotError(LayerWError, ValueError):
    """A snapshot does not belong to this module or is corrupt."""


class SaveError(LayerWError):
    """A save slot could not be written or read: a bad name or version, or the storage failed."""


class SaveTooBig(SaveError, ValueError):
    """A save is over [saves] slot_bytes (``limit`` "slot") or total_bytes (``limit`` "total")."""

    def __init__(self, message: str, *, limit: str = "slot") -> None:
        super().__init__(message)
        self.limit = limit


class SaveCorrupt(SaveError, ValueError):
    """A stored save slot fails its header or checksum (a torn or tampered file)."""


class SaveUnauthorized(SaveError, PermissionError):
    """A save server refused the player's key: none or a malformed one (HTTP 401), or one its
    operator revoked (403)."""


class InputError(LayerWError, ValueError):
    """An input recording is malformed."""


class CommandListError(LayerWError, ValueError):
    """A frame's command list is malformed: an unknown op, or a command that overruns the list."""


class GpuStreamError(CommandListError):
    """A frame's GPU commands are malformed or refer to what they may not (an unknown handle, a size,
    offset, format or binding out of range, a limit exceeded); checked before anything reaches the GPU."""


class ShaderError(LayerWError, ValueError):
    """A WGSL shader does not compile; ``asset`` names it (empty when it came only from a frame) and
    ``line`` is the first line the compiler points at (0 if none)."""

    def __init__(self, message: str, *, asset: str = "", line: int = 0) -> None:
        super().__init__(message)
        self.asset = asset
        self.line = line


class SessionError(LayerWError):
    """A multiplayer session refused or lost a client."""


class ProtocolError(SessionError, ValueError):
    """A malformed, oversized or out-of-order protocol message."""


class OutOfStep(ProtocolError):
    """A player is out of step with its room over time: it sends inputs but no hash (the hash is how a
    client acknowledges the frames it applied) for ``Limits.unacked_s`` seconds. The connection
    is closed with ``CLOSE_OUT_OF_STEP``; the room and its other players go on. (A single message out
    of step, an input or hash for a tick it cannot be for, is a plain ``ProtocolError``.)"""


class RoomFull(SessionError):
    """No free seat (or room) for a new player."""


class SeatTaken(SessionError):
    """A HELLO carries the token of a seat whose connection is still live (it keeps sending)."""


class RoomLost(SessionError):
    """A HELLO carries a seat token of a room that could not be resumed from its checkpoint and
    started over: that seat is gone; join again without the token."""


class RoomUnreachable(SessionError, ConnectionError):
    """A client lost its room and gave up rejoining it after every retry (``wire.RETRY_DELAYS_MS``)."""


class CheckpointError(LayerWError):
    """A room checkpoint could not be written to or read from the store."""


class CheckpointCorrupt(CheckpointError, ValueError):
    """A room checkpoint is truncated, fails its digest, or holds a snapshot of another build."""


class RenderError(LayerWError):
    """The GPU backend failed or is not available."""


class AudioDeviceError(LayerWError, ValueError):
    """No such audio backend or setting, or the audio device would not open."""


class StoreError(LayerWError):
    """A store could not be opened, read or written."""


class StoreUnavailable(StoreError, ConnectionError):
    """The store's backend cannot be reached, or refused the request (credentials, bucket)."""


class NotPublished(StoreError, KeyError):
    """No such game, channel, version or chunk in the store."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class VersionExists(StoreError):
    """A version is published already with different content; versions are immutable."""


class ManifestError(StoreError, ValueError):
    """A manifest or channel file is malformed, or written in a schema this host does not read."""


class ChunkCorrupt(StoreError, ValueError):
    """A chunk's bytes do not hash to its id; such bytes are never passed on."""


class Unauthorized(StoreError, PermissionError):
    """The store's publish token is missing or another one was given (publish, promote, gc)."""
