"""The Layer-W contract: the one source of the game ABI.

Everything a game module and a host agree on is defined here and nowhere else: the ABI version,
the entry points a game exports, the host functions it may import (namespace ``layerw``), the
per-tick input struct, the I/O block, and the binary command list. ``layerw.toolchain.codegen``
writes the C header (``layerw.h``), the browser's constants module (``abi.js``) and the Component
Model world (``game.wit``, package ``WIT_PACKAGE``) from it; a test fails when those generated files
drift from this module.

Memory layout of a game built by the toolchain (wasm32):

    [0, state_begin)        shadow stack: dead between calls, skipped by snapshots and hashes
    [state_begin, end)      data, bss and heap: the game state, snapshotted and hashed,
                            except the command buffer [cmd_ptr, cmd_ptr + cmd_capacity)
                            (the sound block is state: each tick rewrites it)

Per frame the host makes at most two calls: ``lw_tick`` (after writing the tick's input into the
input block; the tick leaves its sound commands in the sound block) and ``lw_render`` (which
returns the command list's length in bytes).

The last ``COMMAND_SCRATCH`` bytes of the command buffer are never part of a frame: the count of
records that did not fit is at its very end, and component builds keep the canonical ABI's return
areas there, so neither touches game state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

ABI_VERSION = 1
IMPORT_MODULE = "layerw"
WASI_MODULE = "wasi_snapshot_preview1"
IO_MAGIC = 0x4F49574C  # "LWIO" little-endian
STACK_SIZE = 256 * 1024
DEFAULT_TICK_RATE = 60
MAX_PLAYERS = 4
MAX_TOUCHES = 8
MAX_GAMEPADS = 4
MAX_EVENTS = 16
KEY_WORDS = 8  # 256 key bits
COMMAND_CAPACITY = 4 << 20  # 4 MiB: ~87k sprite records per frame
COMMAND_SCRATCH = 64  # tail of the command buffer: dropped-record count (last 4 bytes), component scratch
NO_TEXTURE = 0

# --- scalar and struct layout -------------------------------------------------------------------

SCALARS: dict[str, tuple[str, str, str]] = {
    # name: (C type, numpy dtype, JS DataView getter suffix)
    "u8": ("uint8_t", "<u1", "Uint8"),
    "u16": ("uint16_t", "<u2", "Uint16"),
    "u32": ("uint32_t", "<u4", "Uint32"),
    "i32": ("int32_t", "<i4", "Int32"),
    "f32": ("float", "<f4", "Float32"),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str | Struct
    count: int = 1
    doc: str = ""

    @property
    def item_size(self) -> int:
        if isinstance(self.type, Struct):
            return self.type.size
        return np.dtype(SCALARS[self.type][1]).itemsize

    @property
    def size(self) -> int:
        return self.item_size * self.count


@dataclass(frozen=True)
class Struct:
    """A C struct with natural 4-byte alignment and no implicit padding (checked)."""

    name: str
    fields: tuple[Field, ...]
    doc: str = ""

    @cached_property
    def offsets(self) -> dict[str, int]:
        offsets, at = {}, 0
        for f in self.fields:
            align = 4 if isinstance(f.type, Struct) else min(4, f.item_size)
            if at % align:
                raise ValueError(f"{self.name}.{f.name} is misaligned at offset {at}")
            offsets[f.name] = at
            at += f.size
        return offsets

    @cached_property
    def size(self) -> int:
        last = self.fields[-1]
        total = self.offsets[last.name] + last.size
        if total % 4:
            raise ValueError(f"{self.name} size {total} is not a multiple of 4")
        return total

    @cached_property
    def dtype(self) -> np.dtype:
        """The numpy structured dtype with the exact C layout."""
        parts = []
        for f in self.fields:
            base = f.type.dtype if isinstance(f.type, Struct) else np.dtype(SCALARS[f.type][1])
            parts.append((f.name, base, (f.count,)) if f.count > 1 else (f.name, base))
        dt = np.dtype(parts)
        assert dt.itemsize == self.size, (self.name, dt.itemsize, self.size)
        return dt


def _s(name: str, doc: str, *fields: Field) -> Struct:
    return Struct(name, tuple(fields), doc)


F = Field

# --- input ---------------------------------------------------------------------------------------

POINTER = _s(
    "lw_pointer", "Mouse or primary pointer, in game pixels.",
    F("x", "f32"), F("y", "f32"),
    F("buttons", "u32", doc="bit 0 left, 1 right, 2 middle"),
    F("inside", "u32", doc="1 while the pointer is over the game"),
)
TOUCH = _s(
    "lw_touch", "One touch point, in game pixels.",
    F("id", "u32"), F("x", "f32"), F("y", "f32"), F("active", "u32"),
)
GAMEPAD = _s(
    "lw_gamepad", "A gamepad in the W3C standard mapping.",
    F("connected", "u32"),
    F("buttons", "u32", doc="bit i = standard button i (LW_PAD_*)"),
    F("axes", "f32", 6, doc="left x/y, right x/y, left/right trigger; -1..1"),
)
PLAYER = _s(
    "lw_player", "Everything one player's devices report for one tick.",
    F("keys", "u32", KEY_WORDS, doc="bit k set while key k (LW_KEY_*) is down"),
    F("pointer", POINTER),
    F("touches", TOUCH, MAX_TOUCHES),
    F("gamepads", GAMEPAD, MAX_GAMEPADS),
    F("connected", "u32"),
    F("reserved", "u32", 3),
)
EVENT = _s(
    "lw_event", "Something the host learned asynchronously, delivered at a stamped tick.",
    F("kind", "u32", doc="LW_EVENT_*"), F("player", "u32"), F("a", "u32"), F("b", "u32"),
)
INPUT = _s(
    "lw_input", "The whole input of one tick; the host writes it before calling lw_tick.",
    F("tick", "u32"), F("player_count", "u32"), F("event_count", "u32"), F("reserved", "u32"),
    F("players", PLAYER, MAX_PLAYERS),
    F("events", EVENT, MAX_EVENTS),
)
IO = _s(
    "lw_io", "Where things live in guest memory; lw_init returns its address.",
    F("magic", "u32"), F("abi_version", "u32"),
    F("input_ptr", "u32"), F("input_size", "u32"),
    F("cmd_ptr", "u32"), F("cmd_capacity", "u32"),
    F("state_begin", "u32", doc="first byte of game state (end of the shadow stack)"),
    F("snd_ptr", "u32", doc="the sound block (0: the game makes no sound)"),
    F("snd_capacity", "u32"),
    F("snd_len", "u32", doc="bytes of sound commands the last lw_tick wrote"),
    F("snd_dropped", "u32", doc="sound commands the last lw_tick could not fit"),
)

EVENTS: dict[str, int] = {"ASSET_READY": 1, "ASSET_FAILED": 2, "PLAYER_JOINED": 3, "PLAYER_LEFT": 4}
POINTER_BUTTONS: dict[str, int] = {"LEFT": 1, "RIGHT": 2, "MIDDLE": 4}

# Gamepad buttons, W3C "standard" mapping order.
PAD_BUTTONS: tuple[str, ...] = (
    "A", "B", "X", "Y", "LB", "RB", "LT", "RT", "BACK", "START", "LSTICK", "RSTICK",
    "UP", "DOWN", "LEFT", "RIGHT", "HOME",
)

# Key codes: index = code. Names are the browser's KeyboardEvent.code values.
KEYS: tuple[str, ...] = (
    ("Unknown",)
    + tuple(f"Key{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    + tuple(f"Digit{d}" for d in range(10))
    + (
        "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Space", "Enter", "Escape", "Tab",
        "Backspace", "ShiftLeft", "ShiftRight", "ControlLeft", "ControlRight", "AltLeft",
        "AltRight", "Minus", "Equal", "BracketLeft", "BracketRight", "Semicolon", "Quote",
        "Comma", "Period", "Slash", "Backquote", "Backslash", "Insert", "Delete", "Home", "End",
        "PageUp", "PageDown",
    )
    + tuple(f"F{i}" for i in range(1, 13))
)
assert len(KEYS) <= KEY_WORDS * 32

# --- command list -------------------------------------------------------------------------------

HEADER = _s(
    "lw_cmd", "Every command starts with this header; `count` records of the op's type follow.",
    F("op", "u32"), F("count", "u32"), F("arg", "u32", doc="texture for SPRITES/TRIANGLES, byte length for TEXT"),
    F("reserved", "u32"),
)
CLEAR = _s("lw_clear_rec", "Fill the whole target with one colour.", F("color", "u32"))
VIEWPORT = _s(
    "lw_viewport_rec", "Draw only inside this rect (game pixels); w = 0 resets to the whole target.",
    F("x", "f32"), F("y", "f32"), F("w", "f32"), F("h", "f32"),
)
TRANSFORM = _s(
    "lw_transform_rec", "Camera: x' = a*x + c*y + tx, y' = b*x + d*y + ty, for what follows.",
    F("a", "f32"), F("b", "f32"), F("c", "f32"), F("d", "f32"), F("tx", "f32"), F("ty", "f32"),
)
RECT = _s(
    "lw_rect_rec", "A rect at top-left (x, y), rotated about its centre; thickness 0 fills it, > 0 outlines it.",
    F("x", "f32"), F("y", "f32"), F("w", "f32"), F("h", "f32"),
    F("rotation", "f32"), F("thickness", "f32"), F("color", "u32"), F("reserved", "u32"),
)
LINE = _s(
    "lw_line_rec", "A line segment of the given thickness.",
    F("x0", "f32"), F("y0", "f32"), F("x1", "f32"), F("y1", "f32"),
    F("thickness", "f32"), F("color", "u32"),
)
CIRCLE = _s(
    "lw_circle_rec", "A circle; thickness 0 fills it, > 0 draws a ring.",
    F("x", "f32"), F("y", "f32"), F("radius", "f32"), F("thickness", "f32"),
    F("color", "u32"), F("reserved", "u32"),
)
SPRITE = _s(
    "lw_sprite_rec", "A textured quad: source rect in texels, destination rect (top-left x, y) in game pixels, "
    "rotated about its centre; texture 0 draws the tint as a solid colour.",
    F("x", "f32"), F("y", "f32"), F("w", "f32"), F("h", "f32"),
    F("sx", "f32"), F("sy", "f32"), F("sw", "f32"), F("sh", "f32"),
    F("rotation", "f32"), F("tint", "u32"), F("flags", "u32", doc="LW_FLIP_X | LW_FLIP_Y"),
    F("reserved", "u32"),
)
TEXT = _s(
    "lw_text_rec", "Text in the built-in font at top-left (x, y); `arg` bytes of ASCII follow, padded to 4. "
    "Each glyph advances size * FONT_CELL_W / FONT_CELL_H pixels.",
    F("x", "f32"), F("y", "f32"), F("size", "f32", doc="glyph height in pixels"), F("color", "u32"),
)
VERTEX = _s(
    "lw_vertex_rec", "One vertex of a triangle list; u, v in 0..1; texture 0 draws vertex colours only.",
    F("x", "f32"), F("y", "f32"), F("u", "f32"), F("v", "f32"), F("color", "u32"),
)


@dataclass(frozen=True)
class Op:
    name: str
    code: int
    record: Struct
    batch: bool  # consecutive pushes with the same arg merge into one header


OPS: tuple[Op, ...] = (
    Op("CLEAR", 1, CLEAR, False),
    Op("VIEWPORT", 2, VIEWPORT, False),
    Op("TRANSFORM", 3, TRANSFORM, False),
    Op("RECTS", 4, RECT, True),
    Op("LINES", 5, LINE, True),
    Op("CIRCLES", 6, CIRCLE, True),
    Op("SPRITES", 7, SPRITE, True),
    Op("TEXT", 8, TEXT, False),
    Op("TRIANGLES", 9, VERTEX, True),
)
OP_BY_CODE: dict[int, Op] = {op.code: op for op in OPS}
SPRITE_FLAGS: dict[str, int] = {"FLIP_X": 1, "FLIP_Y": 2}

# Built-in font: printable ASCII in a 16 x 6 grid of cells; glyph cell aspect width/height.
FONT_FIRST = 32
FONT_COLUMNS = 16
FONT_ROWS = 6
FONT_CELL_W = 8
FONT_CELL_H = 12

# --- sound block ------------------------------------------------------------------------------
# Written by lw_tick (never by lw_render), read by the host after each tick and handed to the one
# mixer (layerw/toolchain/runtime/lw_mixer.c, shipped as web/mixer.wasm, run by every host), which
# turns it into exactly that tick's samples. Values are fixed point so every host mixes the same
# integers: Q16 means 65536 = 1.0. The mixer clamps every field to its documented range.

SAMPLE_RATE = 48000  # frames per second, stereo s16
CHANNELS = 2
MAX_VOICES = 32
SOUND_CAPACITY = 64 << 10  # bytes of sound commands one tick may write
VOICE_ANY = 0xFFFFFFFF  # PLAY/TONE: the first free voice (else the oldest); STOP/FADE: every voice
PCM_QUEUE_FRAMES = 12000  # raw PCM the mixer holds ahead (0.25 s); more is dropped and counted
MAX_SOUNDS = 1024  # asset handles a sound may have (1 .. MAX_SOUNDS - 1)
MAX_SOUND_BYTES = 256 << 20  # decoded sound data one game may hold in the mixer
Q16 = 65536
MAX_VOLUME = 4 * Q16
MIN_RATE, MAX_RATE = Q16 // 256, 16 * Q16
MAX_STAGE_FRAMES = 1 << 24  # one envelope stage (~350 s)
MAX_FREQUENCY = SAMPLE_RATE // 2 * Q16  # Nyquist, Q16.16 Hz

SOUND_HEADER = _s(
    "lw_snd", "Every sound command starts with this header; the op's record follows "
    "(PCM: then `arg` stereo s16 frames).",
    F("op", "u32"), F("voice", "u32", doc="0 .. LW_MAX_VOICES - 1, or LW_VOICE_ANY"),
    F("arg", "u32", doc="PCM: frame count"), F("reserved", "u32"),
)
PLAY = _s(
    "lw_play_rec", "Play a ready sound asset on a voice from its start.",
    F("asset", "u32", doc="asset handle (lw_asset)"), F("flags", "u32", doc="LW_SOUND_LOOP"),
    F("volume", "i32", doc="Q16, 0 .. 4.0"), F("pan", "i32", doc="Q16, -1.0 left .. 1.0 right"),
    F("rate", "i32", doc="Q16 playback rate, 1/256 .. 16.0 (pitch)"),
)
STOP = _s("lw_stop_rec", "Stop a voice, fading out over `frames` (0: at once).", F("frames", "u32"))
FADE = _s(
    "lw_fade_rec", "Move a voice's volume linearly to `volume` over `frames`; a fade to 0 stops the voice.",
    F("volume", "i32", doc="Q16, 0 .. 4.0"), F("frames", "u32"),
)
TONE = _s(
    "lw_tone_rec", "A synth voice (WASM-4's tone() is one of these): a wave whose frequency slides linearly "
    "from freq_start to freq_end over the whole envelope, shaped by ADSR stages in frames: rises to "
    "`peak` over attack, falls to `level` over decay, holds for sustain, falls to 0 over release.",
    F("wave", "u32", doc="LW_WAVE_*"),
    F("duty", "u32", doc="pulse: Q16 fraction of the period that is high (1/8, 1/4, 1/2, 3/4)"),
    F("freq_start", "u32", doc="Q16.16 Hz, 0 .. 24000"), F("freq_end", "u32", doc="Q16.16 Hz"),
    F("attack", "u32"), F("decay", "u32"), F("sustain", "u32"), F("release", "u32"),
    F("peak", "i32", doc="Q16 volume at the end of attack, 0 .. 4.0"),
    F("level", "i32", doc="Q16 sustain volume, 0 .. 4.0"),
    F("pan", "i32", doc="Q16, -1.0 left .. 1.0 right"),
)
PCM = _s("lw_pcm_rec", "Queue raw stereo s16 frames the game made (`arg` of them follow) at a volume.",
         F("volume", "i32", doc="Q16, 0 .. 4.0"))

SOUND_OPS: tuple[Op, ...] = (
    Op("PLAY", 1, PLAY, False),
    Op("STOP", 2, STOP, False),
    Op("FADE", 3, FADE, False),
    Op("TONE", 4, TONE, False),
    Op("PCM", 5, PCM, False),
)
SOUND_OP_BY_CODE: dict[int, Op] = {op.code: op for op in SOUND_OPS}
SOUND_FLAGS: dict[str, int] = {"LOOP": 1}
WAVES: dict[str, int] = {"PULSE": 0, "TRIANGLE": 1, "NOISE": 2, "SINE": 3}

STRUCTS: tuple[Struct, ...] = (
    POINTER, TOUCH, GAMEPAD, PLAYER, EVENT, INPUT, IO, HEADER,
    CLEAR, VIEWPORT, TRANSFORM, RECT, LINE, CIRCLE, SPRITE, TEXT, VERTEX,
    SOUND_HEADER, PLAY, STOP, FADE, TONE, PCM,
)

# --- entry points and host functions --------------------------------------------------------------

I32 = "i32"


@dataclass(frozen=True)
class Signature:
    """A core wasm function of the contract; ``wit`` is its Component Model type (named ``wit_name``
    in the world), empty for core-only entry points."""

    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]
    doc: str
    param_names: tuple[str, ...] = ()
    wit: str = ""

    @property
    def wit_name(self) -> str:
        return self.name.removeprefix("lw_").replace("_", "-")


EXPORTS: tuple[Signature, ...] = (
    Signature("_initialize", (), (), "WASI reactor start: runs C constructors once."),
    Signature("lw_init", (I32, I32), (I32,), "Seed the game (low, high 32 bits); returns the lw_io address.",
              ("seed_lo", "seed_hi"), "func(seed: u64) -> io"),
    Signature("lw_tick", (), (), "Advance one fixed tick; the input block holds this tick's input. "
              "The tick's sound commands are then in the sound block (lw_io snd_ptr, snd_len).",
              (), "func(input: list<u8>) -> list<u8>"),
    Signature("lw_render", (), (I32,), "Write this frame's command list; returns its length in bytes.",
              (), "func() -> frame"),
)
EXPORTED_MEMORY = "memory"

IMPORTS: tuple[Signature, ...] = (
    Signature("asset_request", (I32, I32), (I32,),
              "Ask for an asset by name; returns its handle (> 0) or -1 if the game has no such asset. "
              "Readiness arrives as an LW_EVENT_ASSET_READY event unless the asset is preloaded.",
              ("name_ptr", "name_len"), "func(name: string) -> s32"),
    Signature("asset_size", (I32,), (I32,), "Byte size of a ready asset, or -1 while it is not ready.",
              ("handle",), "func(handle: s32) -> s32"),
    Signature("asset_read", (I32, I32, I32, I32), (I32,),
              "Copy up to len bytes of a ready asset from offset to dst; returns bytes copied or -1.",
              ("handle", "offset", "dst", "len"), "func(handle: s32, offset: s32, len: s32) -> option<list<u8>>"),
    Signature("image_size", (I32,), (I32,),
              "Width << 16 | height of a ready image asset, or -1.", ("handle",), "func(handle: s32) -> s32"),
    Signature("log", (I32, I32, I32), (), "Log a message at a level (0 debug .. 3 error).",
              ("level", "ptr", "len"), "func(level: s32, message: string)"),
    Signature("save_write", (I32, I32, I32, I32, I32), (I32,),
              "Replace save slot `name` with data_len bytes and a version (0 .. 2^31 - 1), atomically; "
              "returns LW_SAVE_OK or an LW_SAVE_* error (the slot then keeps its old bytes).",
              ("name_ptr", "name_len", "data_ptr", "data_len", "version"),
              "func(name: string, data: list<u8>, version: s32) -> s32"),
    Signature("save_read", (I32, I32, I32, I32), (I32,),
              "Copy up to len bytes of save slot `name` to dst; returns the bytes copied or an LW_SAVE_* error.",
              ("name_ptr", "name_len", "dst", "len"), "func(name: string, len: s32) -> option<list<u8>>"),
    Signature("save_size", (I32, I32), (I32,),
              "Byte size of save slot `name`, or an LW_SAVE_* error (LW_SAVE_EMPTY: no such slot).",
              ("name_ptr", "name_len"), "func(name: string) -> s32"),
    Signature("save_version", (I32, I32), (I32,),
              "The version save slot `name` was written with, or an LW_SAVE_* error.",
              ("name_ptr", "name_len"), "func(name: string) -> s32"),
)

# --- save slots ----------------------------------------------------------------------------------
# A game's named save slots (save_write, save_read, save_size, save_version). Saves outlive the
# process and are not part of the game state: a read returns the slot as stored at that tick.
# Rooms give their games no saves (every call returns LW_SAVE_UNAVAILABLE): machines differ in
# what they have stored, and a room's simulation must not.

SAVE_NAME_MAX = 64  # slot names: 1..64 bytes of [A-Za-z0-9_.-], not starting with '.'
SAVE_SLOT_BYTES = 64 << 10  # default [saves] slot_bytes
SAVE_TOTAL_BYTES = 1 << 20  # default [saves] total_bytes (every slot of one game)
SAVE_MAX_BYTES = 16 << 20  # the most layerw.toml may ask for, per slot and per game
SAVE_RESULTS: dict[str, int] = {
    "OK": 0,
    "EMPTY": -1,  # no such slot
    "BAD_ARGUMENT": -2,  # a bad name, pointer, length or version
    "TOO_BIG": -3,  # over [saves] slot_bytes
    "FULL": -4,  # over [saves] total_bytes for the game
    "CORRUPT": -5,  # the stored slot fails its checksum
    "STORAGE": -6,  # the storage failed (disk full, quota exceeded, I/O error)
    "UNAVAILABLE": -7,  # this host keeps no saves (a multiplayer room)
}

# The WASI preview 1 subset a host offers: what libc needs for stdio, clocks and randomness.
WASI_IMPORTS: frozenset[str] = frozenset({
    "fd_write", "fd_close", "fd_seek", "fd_fdstat_get", "fd_prestat_get", "fd_prestat_dir_name",
    "clock_time_get", "clock_res_get", "random_get", "environ_get", "environ_sizes_get",
    "args_get", "args_sizes_get", "proc_exit", "sched_yield",
})

# --- Component Model -----------------------------------------------------------------------------
# A component build exports the entry points above (by ``wit_name``) and the ``state`` interface
# below, and imports the host functions from the ``host`` interface. Lists cross as list<u8> holding
# exactly the C layouts above: a typed list would cost the host one Python object per record.

WIT_PACKAGE = f"layerw:game@{ABI_VERSION}.0.0"
WIT_WORLD = "game"
WIT_HOST = "host"
WIT_STATE = "state"

STATE_EXPORTS: tuple[Signature, ...] = (
    Signature("hash", (), (I32,), "SHA-256 of the game state (what Game.state_hash hashes), computed in the guest.",
              (), "func() -> list<u8>"),
    Signature("pages", (), (I32,), "Linear memory size in 64 KiB pages.", (), "func() -> u32"),
    Signature("grow", (I32,), (I32,), "Grow linear memory by delta pages; the old size, or -1.",
              ("delta",), "func(delta: u32) -> s32"),
    Signature("read", (I32, I32), (I32,), "Copy len bytes of linear memory from offset (for snapshots).",
              ("offset", "len"), "func(offset: u32, len: u32) -> list<u8>"),
    Signature("write", (I32, I32, I32), (), "Copy data into linear memory at offset (to restore snapshots).",
              ("offset", "data_ptr", "data_len"), "func(offset: u32, data: list<u8>)"),
)

# === devcheck: input recordings, developer checks and the API a game reaches for ====================
# (kept in one block at the end of the contract to ease merging with other work on this file)

# --- input recordings (``layerw run --inputs FILE``, the page's ?inputs=URL) ------------------------
# JSON Lines: an optional header line {"layerw_inputs": RECORDING_VERSION}, then one change per line,
# applied at its tick and held until changed again. Any other field, or a value of the wrong type or
# range, is an InputError naming the line (docs/inputs.md).

RECORDING_VERSION = 1
RECORDING_HEADER = "layerw_inputs"
RECORDING_FIELDS: dict[str, str] = {
    "tick": "the tick the change applies at: an integer >= 0 (required)",
    "player": f"the seat it applies to: 0 .. {MAX_PLAYERS - 1} (default 0)",
    "down": "keys pressed: a list of KeyboardEvent.code names (\"KeyW\", \"ArrowUp\", \"Space\")",
    "up": "keys released: a list of key names",
    "pointer": "[x, y] or [x, y, buttons]: game pixels, buttons a mask (1 left, 2 right, 4 middle)",
    "gamepad": f"a gamepad index 0 .. {MAX_GAMEPADS - 1}; with it, buttons and axes replace that pad's state",
    "buttons": "with gamepad: the buttons held, a list of names (\"A\", \"START\", \"UP\", ...)",
    "axes": "with gamepad: up to 6 numbers in -1..1 (left x/y, right x/y, left/right trigger)",
}

# --- guest helpers (layerw.h only: header code the game compiles in, so every host agrees) ----------
# Transform push/pop keeps its stack in lw_frame (on lw_render's stack, never in game state); the
# random helper is PCG32 (pcg-random.org) seeded from the game's seed; the screen size and tick rate
# are layerw.toml's, given to the compiler as LW_SCREEN_WIDTH, LW_SCREEN_HEIGHT and LW_TICK_RATE.

TRANSFORM_DEPTH = 16  # lw_push_transform nesting; deeper pushes are counted as dropped and ignored
CONFIG_MACROS: dict[str, str] = {"LW_SCREEN_WIDTH": "width", "LW_SCREEN_HEIGHT": "height", "LW_TICK_RATE": "tick_rate"}
