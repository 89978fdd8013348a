"""CartGame: a WASM-4 cart on wasmtime, as a ``GameHost`` backend (the WASM-4 profile).

# Spec: https://wasm4.org/docs/reference/memory and /docs/reference/functions.
The host makes the cart's memory (exactly one 64 KiB page, maximum one), writes the default
palette, DRAW_COLORS and the off-screen mouse into it, instantiates the cart (its data segments land over those), then
calls ``_start``, ``_initialize`` and ``start`` (each one it exports). Each tick writes GAMEPADS and MOUSE, clears the
framebuffer unless SYSTEM_FLAGS has PRESERVE_FRAMEBUFFER, calls ``update``, then mixes the tick's
``tone()`` calls, each one TONE command (``layerw.tone``), as its sound block. The frame is one
160x160 texture (the framebuffer through PALETTE, handed out by ``take_new_textures``) drawn by a
one-sprite command list, so every Layer-W renderer shows carts, scaled by whole numbers.

What it reuses from the core backend (``Game``): calls under the CPU budget, traps translated to
``GameError``, the failure latch, memory views, and the one mixer (``Audio``). State is the whole
64 KiB, the disk, the tone events of the last tick and the cart's mutable globals (exported for the
host by ``globals``); snapshots also hold the mixer's voices.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import math
import struct
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import fields
from typing import Any

import numpy as np
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.cart import check_cart, code_at
from layerw.errors import GameError, InvalidModule, SnapshotError
from layerw.observability import tracing
from layerw.runtime.assets import Event
from layerw.runtime.engine import Engine
from layerw.runtime.game import MAX_TABLE_ELEMENTS, MAX_TABLES, Game
from layerw.runtime.inputs import InputState, check_event_count
from layerw.runtime.memoryhost import MemoryHost, RawFrame
from layerw.runtime.snapshot import Snapshot
from layerw.runtime.wasi import SplitMix64
from layerw.runtime.wasm4 import controls, drawing, font
from layerw.runtime.wasm4 import memorymap as mm
from layerw.runtime.wasm4.cartimports import MAX_TRACES, CartImports
from layerw.runtime.wasm4.disk import Disk
from layerw.runtime.wasm4.globals import PACK, export_globals
from layerw.runtime.wasm4.netplay import Netplay, room_hash
from layerw.runtime.wasm4.tone import MAX_TONES_PER_TICK, ToneEvent
from layerw.saves import Saves
from layerw.symbols import SourceFrame
from layerw.tone import COMMAND_SIZE, tone_command

TONE_FIELDS = tuple(f.name for f in fields(ToneEvent))
FRAME_TEXTURE = 1  # the texture handle of the framebuffer (a cart has no assets of its own)
BOOT_ORDER = ("_start", "_initialize", "start")  # a toolchain's WASI-style entry points, then WASM-4's start
ENTRY_POINTS = (*BOOT_ORDER, "update")
ENTRY_DEFAULTS: dict[str, int | float] = {"i32": 0, "f32": math.nan, "f64": math.nan}  # undefined, read as JavaScript does


def frame_commands() -> bytes:
    """The command list of every cart frame: the framebuffer texture over the whole screen."""
    header = np.zeros((), abi.HEADER.dtype)
    header["op"] = next(op.code for op in abi.OPS if op.name == "SPRITES")
    header["count"], header["arg"] = 1, FRAME_TEXTURE
    sprite = np.zeros((), abi.SPRITE.dtype)
    for field in ("w", "h", "sw", "sh"):
        sprite[field] = mm.SCREEN
    sprite["tint"] = 0xFFFFFFFF
    return header.tobytes() + sprite.tobytes()


FRAME_COMMANDS = frame_commands()


class CartGame(Game):
    def __init__(self, bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True,
                 saves: Saves | None = None) -> None:
        # not Game's: a cart has no lw_io contract
        MemoryHost.__init__(self, bundle, engine, seed=seed, audio=audio, saves=saves)
        self._funcs: dict[str, wasmtime.Func] = {}
        self._entry_args: dict[str, tuple[int | float, ...]] = {}
        self._view_type: type[ctypes.Array[ctypes.c_ubyte]] | None = None
        self.disk = Disk(slots=self.save_slots if self.saves is not None else None)
        self.tones: list[ToneEvent] = []
        self.snd_capacity = abi.SOUND_CAPACITY  # the tick's sound block: its tones' commands
        self._tones_dropped = 0  # the imports' count already reported to the mixer
        self.traces: deque[str] = deque(maxlen=MAX_TRACES)
        self._frame_changed = True
        self.netplay: Netplay | None = None  # in a room: the player this copy shows (``play_as``)
        check_cart(bundle.module, self.name)
        wasm, self.cart_globals = export_globals(bundle.module)
        # the added exports move the code: frames name offsets in the cart as built (wasm-objdump's, the page's)
        self._code_moved = code_at(wasm) - code_at(bundle.module)
        self._globals: list[wasmtime.Global] = []
        self._closed_globals: list[int | float] = []
        self.module = engine.compile(wasm)
        self.drawing_module = engine.compile(drawing.module_bytes())  # same engine: the same CPU limit
        self._start(self._boot)

    # --- instance ----------------------------------------------------------------------------------

    def _boot(self) -> None:
        self._fresh(SplitMix64(self.seed))
        for name in BOOT_ORDER:  # WASM-4 calls each one the cart exports, in this order
            if name in self._funcs:
                self._call(name)

    def _instantiate(self) -> None:
        self.store = wasmtime.Store(self.engine.wasmtime)
        self.store.set_limits(memory_size=mm.MEMORY_SIZE, table_elements=MAX_TABLE_ELEMENTS, tables=MAX_TABLES,
                              memories=1)
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(1, 1)))
        self.ram = np.frombuffer(self._view(), np.uint8)  # the whole 64 KiB; a cart's memory never grows
        self.ram[mm.PALETTE:mm.PALETTE + 16] = np.frombuffer(np.array(mm.DEFAULT_PALETTE, "<u4").tobytes(), np.uint8)
        self.ram[mm.DRAW_COLORS:mm.DRAW_COLORS + 2] = (mm.DEFAULT_DRAW_COLORS & 0xFF, mm.DEFAULT_DRAW_COLORS >> 8)
        self.ram[mm.MOUSE_X:mm.MOUSE_Y + 2] = np.frombuffer(controls.OFF_SCREEN_BYTES, np.uint8)
        self.tones.clear()
        self.cart = CartImports(self.name, self.ram, font.glyphs(), self.disk, self.tones, self.traces,
                                self._tick_now, self.log)
        self._tones_dropped = 0
        linker = wasmtime.Linker(self.engine.wasmtime)
        linker.define(self.store, "env", "memory", self.memory)
        draw = drawing.instantiate(self.store, self.drawing_module, self.memory,
                                   {"blit": self.cart.blitSub, "text": self.cart.text})
        self.cart.define(linker, self.store, draw)
        self.engine.arm(self.store, self.config.tick_ms)  # a wasm start function runs while instantiating
        try:
            instance = linker.instantiate(self.store, self.module)
        except wasmtime.Trap as trap:
            raise self._translate(trap, "instantiate") from trap
        except wasmtime.WasmtimeError as e:
            raise self._not_instantiated(str(e).splitlines()[0] if str(e) else type(e).__name__, over_cap=False) from e
        exports = instance.exports(self.store)
        self._funcs, self._entry_args = {}, {}
        for name in ENTRY_POINTS:
            func = exports.get(name)
            if isinstance(func, wasmtime.Func):
                self._funcs[name] = func
                self._entry_args[name] = self._entry_arguments(name, func)
        self._globals = []
        for name in self.cart_globals.names:
            value = exports[name]
            assert isinstance(value, wasmtime.Global)  # added by export_globals
            self._globals.append(value)

    def _entry_arguments(self, name: str, func: wasmtime.Func) -> tuple[int | float, ...]:
        """What WASM-4 (JavaScript) passes an entry point: nothing, so an i32 parameter reads 0 and a
        float NaN; any other parameter it cannot pass at all (InvalidModule)."""
        params = [str(p) for p in func.type(self.store).params]
        odd = sorted({p for p in params if p not in ENTRY_DEFAULTS})
        if odd:
            raise InvalidModule(f"{self.name} exports {name} taking {', '.join(odd)} parameters; WASM-4 calls "
                                "its entry points with no arguments, which only i32 and float parameters take")
        return tuple(ENTRY_DEFAULTS[p] for p in params)

    def _invoke(self, name: str, args: tuple[Any, ...]) -> int:
        """Call an entry point as WASM-4 does: its parameters as ``_entry_arguments`` says, its results ignored."""
        self._funcs[name](self.store, *self._entry_args[name])
        return 0

    def _init_io(self) -> Mapping[str, int]:
        """A cart has no lw_io record (``_boot`` never asks for one): asking is a host bug."""
        raise TypeError(f"{self.name} is a WASM-4 cart: it has no lw_io record")

    def backtrace(self, frames: Sequence[RawFrame]) -> list[SourceFrame]:
        """As a game's, at the cart's own code offsets (wasmtime's count the copy with its globals exported)."""
        return super().backtrace([(offset - self._code_moved, index, name) for offset, index, name in frames])

    # --- the frame path ----------------------------------------------------------------------------

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        check_event_count(events)
        self._refuse_if_failed()
        if self.store is None:
            raise GameError(f"{self.name} is closed; start it again", game=self.name, tick=self.tick_count)
        self.tones[:] = [t for t in self.tones if t.tick >= self.tick_count]  # start()'s belong to tick 0
        self.ram[mm.GAMEPADS:mm.MOUSE_BUTTONS + 1] = np.frombuffer(
            controls.registers(inputs, controls.mouse_seen(self.ram)), np.uint8)
        if not self.ram[mm.SYSTEM_FLAGS] & mm.SYSTEM_PRESERVE_FRAMEBUFFER:
            self.cart.framebuffer.clear()
        if "update" in self._funcs:
            with self.netplay.call(self.ram) if self.netplay is not None else nullcontext():
                self._call("update")
        block, dropped = self._sound_block(self.tick_count)
        self._tick_sound(block, dropped + self.cart.tones_dropped - self._tones_dropped)
        self._tones_dropped = self.cart.tones_dropped
        self.tick_count += 1
        self._frame_changed = True

    def _sound_block(self, tick: int) -> tuple[bytes, int]:
        """The sound block of ``tick``: a TONE command per ``tone()`` call of the tick (start's with
        the first), in call order, as many as the block holds; and how many did not fit (counted as
        dropped, like the calls beyond ``MAX_TONES_PER_TICK`` the imports refused)."""
        tones = [t for t in self.tones if t.tick == tick]
        fits = self.snd_capacity // COMMAND_SIZE
        rate = self.config.tick_rate
        return b"".join(tone_command(*t.args(), rate) for t in tones[:fits]), max(len(tones) - fits, 0)

    def _render(self) -> memoryview:
        self._refuse_if_failed()
        return memoryview(FRAME_COMMANDS)

    @property
    def tone_events(self) -> tuple[ToneEvent, ...]:
        """The ``tone()`` calls of the last tick (and of ``start``, with the first), in call order."""
        return tuple(self.tones)

    def frame(self) -> np.ndarray:
        """The screen now: the framebuffer through PALETTE, 160x160x4 RGBA."""
        return self.cart.framebuffer.rgba()

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
        """The frame's texture when a tick (or a restore) may have changed it since the last call."""
        if not self._frame_changed:
            return []
        self._frame_changed = False
        return [(FRAME_TEXTURE, self.frame())]

    def close(self) -> None:
        """Free the instance now. The last state stays readable (``ram``, ``frame``, ``state_hash``)
        from a copy: the views into the freed memory are dropped first."""
        if getattr(self, "store", None) is not None and hasattr(self, "cart"):
            self._closed_globals = self.globals()
            self.ram = self.ram.copy()
            self.cart = CartImports(self.name, self.ram, font.glyphs(), self.disk, self.tones, self.traces,
                                    self._tick_now, self.log)
        super().close()
        self.store = None  # type: ignore[assignment]  # closed: nothing refers to the freed memory any more

    # --- state -------------------------------------------------------------------------------------

    def play_as(self, seat: int | None) -> None:
        """This copy runs in a room and shows ``seat``'s view (None: the room's own copy or a
        spectator's, player 0's): ``update`` reads NETPLAY as 0b100 | its player (``netplay``)."""
        self.netplay = Netplay(seat)
        if self.store is not None:
            self.netplay.leave(self.ram)

    def globals(self) -> list[int | float]:
        """The values of the cart's mutable number globals (see ``globals.export_globals``)."""
        if self.store is None:
            return list(self._closed_globals)
        return [g.value(self.store) for g in self._globals]

    def _host_state(self) -> dict[str, object]:
        # a NaN or infinite float global travels as the hex of its little-endian bits (sign and NaN payload
        # kept): JSON, and so browsers' parser, has no such numbers
        values = [struct.pack(PACK[kind], v).hex() if isinstance(v, float) and not math.isfinite(v) else v
                  for kind, v in zip(self.cart_globals.types, self.globals(), strict=True)]
        return {"rng": 0, "assets": {}, "disk": base64.b64encode(self.disk.data).decode(),
                "tones": [t.to_dict() for t in self.tones], "globals": values,
                **({"audio": self.audio.state()} if self.audio is not None else {})}

    def state_hash(self) -> str:
        """SHA-256 of the cart's 64 KiB (in a room with the framebuffer as zeros: ``netplay``), then its
        disk (u16 length, bytes), the last tick's tone events (each field a u32, in ``ToneEvent`` order)
        and its globals (each in its own type, any NaN as the canonical quiet one), all little-endian:
        one layout for every host (web/cart-game.js hashes the same bytes)."""
        h = hashlib.sha256(self.ram.tobytes()) if self.netplay is None else room_hash(self.ram)
        h.update(len(self.disk.data).to_bytes(2, "little") + self.disk.data)
        for tone in self.tones:
            h.update(struct.pack(f"<{len(TONE_FIELDS)}I", *(int(getattr(tone, f)) for f in TONE_FIELDS)))
        for kind, value in zip(self.cart_globals.types, self.globals(), strict=True):
            # every NaN hashes as the canonical quiet NaN: a browser cannot see a NaN's sign or payload
            h.update(struct.pack(PACK[kind], math.nan if isinstance(value, float) and math.isnan(value) else value))
        return h.hexdigest()

    def snapshot(self) -> Snapshot:
        if self.cart_globals.unsaved:
            raise SnapshotError(f"{self.name} keeps state in {self.cart_globals.unsaved} mutable wasm globals of a "
                                "type a snapshot cannot hold (v128 or references): it cannot be snapshotted")
        return Snapshot(module_sha256=self.module_sha256, tick=self.tick_count, pages=1, state_begin=0,
                        memory=self.ram.tobytes(), host=self._host_state())

    def restore(self, snap: Snapshot, *, allow_other_build: bool = False) -> None:
        """Continue from ``snap`` in a fresh instance (also after a failure)."""
        snap.check_fits(self.name, self.module_sha256, 0, 0, 0, mm.MEMORY_SIZE, allow_other_build=allow_other_build)
        try:
            disk = base64.b64decode(str(snap.host["disk"]), validate=True)
            tones = [ToneEvent.from_dict(dict(t)) for t in snap.host["tones"]]
            values = [float(struct.unpack(PACK[kind], bytes.fromhex(v))[0]) if isinstance(v, str)
                      else float(v) if kind in ("f32", "f64") else int(v)
                      for kind, v in zip(self.cart_globals.types, snap.host["globals"], strict=True)]
        except (KeyError, TypeError, ValueError) as e:
            raise SnapshotError(f"snapshot host state is not a cart's: {e}") from e
        if (len(snap.memory) != mm.MEMORY_SIZE or len(disk) > mm.DISK_SIZE or len(tones) > MAX_TONES_PER_TICK
                or len(values) != len(self.cart_globals.names)):
            raise SnapshotError(f"snapshot does not fit {self.name}: a cart has {mm.MEMORY_SIZE} bytes of memory, "
                                f"{mm.DISK_SIZE} of disk and at most {MAX_TONES_PER_TICK} tones a tick")
        self._failure = None
        try:
            with tracing.span("instantiate", game=self.name, tick=snap.tick):
                self._fresh(SplitMix64(self.seed))
            if self.audio is not None:
                self.audio.restore(snap.host.get("audio"), self.assets.take_ready_sounds())
            self.ram[:] = np.frombuffer(snap.memory, np.uint8)
            if self.netplay is not None:
                self.netplay.leave(self.ram)
            self.disk.restore(disk)
            self.tones[:] = tones
            for g, v in zip(self._globals, values, strict=True):
                g.set_value(self.store, v)
        except BaseException as e:  # the fresh instance holds part of a state: refuse to run it
            self._fail(GameError(f"{self.name}: restoring the snapshot of tick {snap.tick} failed ({e}); "
                                 "restore another snapshot", game=self.name, tick=self.tick_count))
            raise
        self.tick_count = snap.tick
        self._frame_changed = True
