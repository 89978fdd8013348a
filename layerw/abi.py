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
    F("reserved", "u32", doc="0; lw_font_text's replacement glyph: the code point the font lacks"),
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
    "lw_play_rec", "Play a ready sound asset on a voice from its start. A streamed sound ([assets] stream "
    "in layerw.toml: no ASSET_READY, never readable) plays from the tick after its lw_asset while it still arrives: "
    "a host holds a tick back until the frames its mix needs are in, so the samples never depend on arrival.",
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

# --- GPU stream --------------------------------------------------------------------------------
# A WebGPU-shaped API, encoded in the same command list as the 2D commands (so a frame still costs
# at most two host crossings): every GPU command is an ``lw_cmd`` header whose op is in the GPU
# range, then ``count`` records of the op's type (1 except for the batched draws), then ``arg``
# bytes of tail (data, WGSL text, descriptor arrays) padded to 4. Resources are named by handles
# the guest chooses (1 .. GPU_MAX_HANDLE - 1, one namespace per kind) and live across frames until
# destroyed or RESET. Texture handle GPU_FRAME (0) in a pass is the frame's own colour target; the
# frame's 2D commands draw over what the GPU passes drew. Enum fields below hold the index of a
# name in the tables that follow (the names are WebGPU's own strings).
#
# After a fresh start, a restore or a join the host holds none of a game's resources: the guest
# runtime then reports the frame as fresh (lw_gpu_fresh), and the game RESETs and declares every
# resource again in that frame ("the guest declares them again"; see layerw/gfx/gpureplay.py).

GPU_OP_BASE = 0x100
GPU_FRAME = 0  # texture handle of the frame's colour target (format rgba8unorm, game size)
GPU_MAX_HANDLE = 4096  # handles are 1 .. 4095 per kind
GPU_MAX_RESOURCES = 4096  # alive at once, every kind together
GPU_MAX_BUFFER_BYTES = 64 << 20
GPU_MAX_MEMORY_BYTES = 256 << 20  # buffers and textures (as width * height * texel size) of one game
GPU_MAX_TEXTURE_SIZE = 4096
GPU_MAX_SHADER_BYTES = 256 << 10
GPU_MAX_COLOR_TARGETS = 8
GPU_MAX_VERTEX_BUFFERS = 8
GPU_MAX_ATTRIBUTES = 16
GPU_MAX_STRIDE = 2048
GPU_MAX_BIND_GROUPS = 4
GPU_MAX_BINDINGS = 16  # entries per bind group (layout); binding numbers 0 .. GPU_MAX_BINDINGS - 1
GPU_MAX_PASSES = 16  # render and compute passes per frame
GPU_MAX_DRAWS = 65536  # draw records per frame
GPU_MAX_VERTICES = 1 << 24  # vertex invocations (count * instances) per frame: bounds GPU time
GPU_MAX_WORKGROUPS = 1 << 20  # compute workgroups (x * y * z, every dispatch) per frame: bounds GPU time
GPU_MAX_WORKGROUPS_PER_DIMENSION = 65535  # WebGPU's default maxComputeWorkgroupsPerDimension
GPU_MAX_LOOP_ITERATIONS = 65535  # iterations of all WGSL loops of a shader invocation together (gfx/wgslloops.py)
GPU_UNIFORM_ALIGN = 256  # bind group buffer offsets are multiples of this

GPU_KINDS: dict[str, int] = {"BUFFER": 1, "TEXTURE": 2, "SAMPLER": 3, "SHADER": 4, "LAYOUT": 5,
                             "BIND_GROUP": 6, "PIPELINE": 7}
GPU_BUFFER_USAGE: dict[str, int] = {"COPY_SRC": 4, "COPY_DST": 8, "INDEX": 16, "VERTEX": 32,
                                    "UNIFORM": 64, "STORAGE": 128, "INDIRECT": 256}
GPU_TEXTURE_USAGE: dict[str, int] = {"COPY_SRC": 1, "COPY_DST": 2, "TEXTURE_BINDING": 4,
                                     "STORAGE_BINDING": 8, "RENDER_ATTACHMENT": 16}
GPU_VISIBILITY: dict[str, int] = {"VERTEX": 1, "FRAGMENT": 2, "COMPUTE": 4}
# name: bytes per texel (0: a depth format, which the guest cannot write)
GPU_TEXTURE_FORMATS: dict[str, int] = {
    "invalid": 0, "rgba8unorm": 4, "rgba8unorm-srgb": 4, "bgra8unorm": 4, "bgra8unorm-srgb": 4,
    "r8unorm": 1, "rg8unorm": 2, "r16float": 2, "rg16float": 4, "rgba16float": 8, "r32float": 4,
    "rg32float": 8, "rgba32float": 16, "r32uint": 4, "depth16unorm": 0, "depth24plus": 0,
    "depth24plus-stencil8": 0, "depth32float": 0,
}
# name: bytes
GPU_VERTEX_FORMATS: dict[str, int] = {
    "invalid": 0, "float32": 4, "float32x2": 8, "float32x3": 12, "float32x4": 16, "uint32": 4,
    "uint32x2": 8, "uint32x3": 12, "uint32x4": 16, "sint32": 4, "sint32x2": 8, "sint32x3": 12,
    "sint32x4": 16, "unorm8x4": 4, "snorm8x4": 4, "uint8x4": 4, "float16x2": 4, "float16x4": 8,
}
GPU_BINDING_TYPES: tuple[str, ...] = (
    "invalid", "uniform", "storage", "read-only-storage", "float", "unfilterable-float", "depth",
    "filtering", "non-filtering", "comparison",
)
GPU_TOPOLOGIES: tuple[str, ...] = ("triangle-list", "triangle-strip", "line-list", "line-strip", "point-list")
GPU_CULL_MODES: tuple[str, ...] = ("none", "front", "back")
GPU_FRONT_FACES: tuple[str, ...] = ("ccw", "cw")
GPU_COMPARE: tuple[str, ...] = ("none", "never", "less", "equal", "less-equal", "greater", "not-equal",
                                "greater-equal", "always")
GPU_FILTERS: tuple[str, ...] = ("nearest", "linear")
GPU_ADDRESS_MODES: tuple[str, ...] = ("clamp-to-edge", "repeat", "mirror-repeat")
GPU_BLENDS: tuple[str, ...] = ("replace", "alpha", "additive", "premultiplied")
GPU_STEP_MODES: tuple[str, ...] = ("vertex", "instance")
GPU_INDEX_FORMATS: tuple[str, ...] = ("uint16", "uint32")
GPU_LOAD_OPS: tuple[str, ...] = ("clear", "load")
GPU_STORE_OPS: tuple[str, ...] = ("store", "discard")

GPU_RESET = _s("lw_gpu_reset_rec", "Destroy every GPU resource of the game; what follows declares them again.",
               F("reserved", "u32"))
GPU_DESTROY = _s("lw_gpu_destroy_rec", "Destroy one resource.", F("kind", "u32", doc="LW_GPU_KIND_*"),
                 F("handle", "u32"))
GPU_BUFFER = _s(
    "lw_gpu_buffer_rec", "Create a buffer of `size` bytes (a multiple of 4), zero-filled.",
    F("handle", "u32"), F("size", "u32"), F("usage", "u32", doc="LW_GPU_BUFFER_* bits"), F("reserved", "u32"),
)
GPU_WRITE_BUFFER = _s(
    "lw_gpu_write_buffer_rec", "Write the tail's `arg` bytes (a multiple of 4) into a COPY_DST buffer at `offset`.",
    F("handle", "u32"), F("offset", "u32", doc="a multiple of 4"),
)
GPU_TEXTURE = _s(
    "lw_gpu_texture_rec", "Create a 2D texture (one sample) with `mip_levels` mip levels, each written by the guest.",
    F("handle", "u32"), F("width", "u32"), F("height", "u32"), F("format", "u32", doc="LW_GPU_FORMAT_*"),
    F("usage", "u32", doc="LW_GPU_TEXTURE_* bits"),
    F("mip_levels", "u32", doc="0 or 1: one level; up to 1 + log2(max(width, height)) for a sampled colour texture"),
)
GPU_WRITE_TEXTURE = _s(
    "lw_gpu_write_texture_rec", "Write texels (the tail: `height` rows of `bytes_per_row`) into a COPY_DST "
    "colour texture's rect, in mip level `mip_level` (its size: the texture's halved `mip_level` times, at least 1).",
    F("handle", "u32"), F("x", "u32"), F("y", "u32"), F("width", "u32"), F("height", "u32"),
    F("bytes_per_row", "u32"), F("mip_level", "u32"),
)
GPU_SAMPLER = _s(
    "lw_gpu_sampler_rec", "Create a sampler.",
    F("handle", "u32"), F("mag_filter", "u32", doc="LW_GPU_FILTER_*"), F("min_filter", "u32"),
    F("mipmap_filter", "u32"), F("address_u", "u32", doc="LW_GPU_ADDRESS_*"), F("address_v", "u32"),
    F("address_w", "u32"), F("compare", "u32", doc="LW_GPU_COMPARE_* (NONE: not a comparison sampler)"),
)
GPU_SHADER = _s("lw_gpu_shader_rec", "Create a WGSL shader module from the tail's `arg` bytes of UTF-8 source.",
                F("handle", "u32"), F("reserved", "u32"))
GPU_LAYOUT_ENTRY = _s(
    "lw_gpu_layout_entry", "One binding of a bind group layout.",
    F("binding", "u32"), F("visibility", "u32", doc="LW_GPU_VISIBILITY_* bits"),
    F("type", "u32", doc="LW_GPU_BINDING_*"), F("reserved", "u32"),
)
GPU_LAYOUT = _s("lw_gpu_layout_rec", "Create a bind group layout; `entry_count` lw_gpu_layout_entry follow.",
                F("handle", "u32"), F("entry_count", "u32"))
GPU_COLOR_TARGET = _s(
    "lw_gpu_color_target", "A pipeline's colour target.",
    F("format", "u32", doc="LW_GPU_FORMAT_*"), F("blend", "u32", doc="LW_GPU_BLEND_*"),
    F("write_mask", "u32", doc="RGBA bits 1, 2, 4, 8; 0 writes all"),
)
GPU_VERTEX_BUFFER = _s(
    "lw_gpu_vertex_buffer", "A pipeline's vertex buffer slot; its `attribute_count` attributes follow the previous slot's.",
    F("stride", "u32"), F("step_mode", "u32", doc="LW_GPU_STEP_*"), F("attribute_count", "u32"),
)
GPU_ATTRIBUTE = _s("lw_gpu_attribute", "One vertex attribute.", F("location", "u32"), F("offset", "u32"),
                   F("format", "u32", doc="LW_GPU_VERTEX_*"))
GPU_PIPELINE = _s(
    "lw_gpu_pipeline_rec", "Create a render pipeline. The tail: color_count lw_gpu_color_target, buffer_count "
    "lw_gpu_vertex_buffer, attribute_count lw_gpu_attribute, then the vertex and fragment entry point names "
    "(vs_len, fs_len bytes).",
    F("handle", "u32"), F("shader", "u32"),
    F("layout_count", "u32", doc="0: the layout is derived from the shader ('auto')"),
    F("layouts", "u32", GPU_MAX_BIND_GROUPS, doc="bind group layout handles, group 0 first"),
    F("topology", "u32", doc="LW_GPU_TOPOLOGY_*"), F("cull_mode", "u32", doc="LW_GPU_CULL_*"),
    F("front_face", "u32", doc="LW_GPU_FRONT_*"),
    F("depth_format", "u32", doc="a depth LW_GPU_FORMAT_*, or 0: no depth"),
    F("depth_write", "u32"), F("depth_compare", "u32", doc="LW_GPU_COMPARE_*"),
    F("color_count", "u32"), F("buffer_count", "u32"), F("attribute_count", "u32"),
    F("vs_len", "u32"), F("fs_len", "u32"),
)
GPU_BIND_ENTRY = _s(
    "lw_gpu_bind_entry", "One resource of a bind group.",
    F("binding", "u32"), F("kind", "u32", doc="LW_GPU_KIND_BUFFER, _TEXTURE or _SAMPLER"), F("handle", "u32"),
    F("offset", "u32", doc="buffers: a multiple of LW_GPU_UNIFORM_ALIGN"), F("size", "u32", doc="buffers: 0 = the rest"),
)
GPU_BIND_GROUP = _s(
    "lw_gpu_bind_group_rec", "Create a bind group; `entry_count` lw_gpu_bind_entry follow. Its layout is "
    "`layout`, or (layout 0) group `group` of pipeline `pipeline`'s auto layout.",
    F("handle", "u32"), F("layout", "u32"), F("pipeline", "u32"), F("group", "u32"), F("entry_count", "u32"),
)
GPU_COLOR_ATTACHMENT = _s(
    "lw_gpu_color_attachment", "A render pass's colour attachment.",
    F("texture", "u32", doc="LW_GPU_FRAME or a RENDER_ATTACHMENT texture"),
    F("load_op", "u32", doc="LW_GPU_LOAD_*"), F("store_op", "u32", doc="LW_GPU_STORE_*"),
    F("clear", "f32", 4, doc="RGBA 0..1"),
)
GPU_PASS = _s(
    "lw_gpu_pass_rec", "Begin a render pass; `color_count` lw_gpu_color_attachment follow.",
    F("color_count", "u32"), F("depth_texture", "u32", doc="a depth texture, or 0: none"),
    F("depth_load_op", "u32"), F("depth_store_op", "u32"), F("depth_clear", "f32"), F("reserved", "u32"),
)
GPU_END_PASS = _s("lw_gpu_end_pass_rec", "End the render or compute pass.", F("reserved", "u32"))
GPU_SET_PIPELINE = _s("lw_gpu_set_pipeline_rec", "Use a pipeline for the draws that follow.", F("handle", "u32"))
GPU_SET_BIND_GROUP = _s("lw_gpu_set_bind_group_rec", "Bind a bind group at `index`.",
                        F("index", "u32"), F("handle", "u32"))
GPU_SET_VERTEX_BUFFER = _s(
    "lw_gpu_set_vertex_buffer_rec", "Bind a VERTEX buffer's range to a slot.",
    F("slot", "u32"), F("handle", "u32"), F("offset", "u32"), F("size", "u32", doc="0: the rest"),
)
GPU_SET_INDEX_BUFFER = _s(
    "lw_gpu_set_index_buffer_rec", "Bind an INDEX buffer's range.",
    F("handle", "u32"), F("format", "u32", doc="LW_GPU_INDEX_*"), F("offset", "u32"), F("size", "u32", doc="0: the rest"),
)
GPU_DRAW = _s("lw_gpu_draw_rec", "Draw vertices (batched: consecutive draws share one header).",
              F("vertex_count", "u32"), F("instance_count", "u32"), F("first_vertex", "u32"), F("first_instance", "u32"))
GPU_DRAW_INDEXED = _s(
    "lw_gpu_draw_indexed_rec", "Draw indexed vertices (batched).",
    F("index_count", "u32"), F("instance_count", "u32"), F("first_index", "u32"), F("base_vertex", "i32"),
    F("first_instance", "u32"),
)
GPU_COMPUTE_PIPELINE = _s(
    "lw_gpu_compute_pipeline_rec", "Create a compute pipeline (in the PIPELINE namespace); the tail is its entry "
    "point's name (`entry_len` bytes).",
    F("handle", "u32"), F("shader", "u32"),
    F("layout_count", "u32", doc="0: the layout is derived from the shader ('auto')"),
    F("layouts", "u32", GPU_MAX_BIND_GROUPS, doc="bind group layout handles, group 0 first"),
    F("entry_len", "u32"),
)
GPU_COMPUTE_PASS = _s(
    "lw_gpu_compute_pass_rec", "Begin a compute pass: SET_PIPELINE (a compute pipeline), SET_BIND_GROUP and "
    "DISPATCH follow, then END_PASS.", F("reserved", "u32"))
GPU_DISPATCH = _s("lw_gpu_dispatch_rec", "Run x * y * z workgroups of the compute pipeline set.",
                  F("x", "u32"), F("y", "u32"), F("z", "u32"))

GPU_OPS: tuple[Op, ...] = (
    Op("RESET", GPU_OP_BASE + 0, GPU_RESET, False),
    Op("DESTROY", GPU_OP_BASE + 1, GPU_DESTROY, False),
    Op("BUFFER", GPU_OP_BASE + 2, GPU_BUFFER, False),
    Op("WRITE_BUFFER", GPU_OP_BASE + 3, GPU_WRITE_BUFFER, False),
    Op("TEXTURE", GPU_OP_BASE + 4, GPU_TEXTURE, False),
    Op("WRITE_TEXTURE", GPU_OP_BASE + 5, GPU_WRITE_TEXTURE, False),
    Op("SAMPLER", GPU_OP_BASE + 6, GPU_SAMPLER, False),
    Op("SHADER", GPU_OP_BASE + 7, GPU_SHADER, False),
    Op("LAYOUT", GPU_OP_BASE + 8, GPU_LAYOUT, False),
    Op("PIPELINE", GPU_OP_BASE + 9, GPU_PIPELINE, False),
    Op("BIND_GROUP", GPU_OP_BASE + 10, GPU_BIND_GROUP, False),
    Op("BEGIN_PASS", GPU_OP_BASE + 11, GPU_PASS, False),
    Op("END_PASS", GPU_OP_BASE + 12, GPU_END_PASS, False),
    Op("SET_PIPELINE", GPU_OP_BASE + 13, GPU_SET_PIPELINE, False),
    Op("SET_BIND_GROUP", GPU_OP_BASE + 14, GPU_SET_BIND_GROUP, False),
    Op("SET_VERTEX_BUFFER", GPU_OP_BASE + 15, GPU_SET_VERTEX_BUFFER, False),
    Op("SET_INDEX_BUFFER", GPU_OP_BASE + 16, GPU_SET_INDEX_BUFFER, False),
    Op("DRAW", GPU_OP_BASE + 17, GPU_DRAW, True),
    Op("DRAW_INDEXED", GPU_OP_BASE + 18, GPU_DRAW_INDEXED, True),
    Op("COMPUTE_PIPELINE", GPU_OP_BASE + 19, GPU_COMPUTE_PIPELINE, False),
    Op("BEGIN_COMPUTE_PASS", GPU_OP_BASE + 20, GPU_COMPUTE_PASS, False),
    Op("DISPATCH", GPU_OP_BASE + 21, GPU_DISPATCH, False),
)
GPU_OP_BY_CODE: dict[int, Op] = {op.code: op for op in GPU_OPS}
GPU_STRUCTS: tuple[Struct, ...] = (
    GPU_RESET, GPU_DESTROY, GPU_BUFFER, GPU_WRITE_BUFFER, GPU_TEXTURE, GPU_WRITE_TEXTURE, GPU_SAMPLER,
    GPU_SHADER, GPU_LAYOUT_ENTRY, GPU_LAYOUT, GPU_COLOR_TARGET, GPU_VERTEX_BUFFER, GPU_ATTRIBUTE,
    GPU_PIPELINE, GPU_BIND_ENTRY, GPU_BIND_GROUP, GPU_COLOR_ATTACHMENT, GPU_PASS, GPU_END_PASS,
    GPU_SET_PIPELINE, GPU_SET_BIND_GROUP, GPU_SET_VERTEX_BUFFER, GPU_SET_INDEX_BUFFER, GPU_DRAW,
    GPU_DRAW_INDEXED, GPU_COMPUTE_PIPELINE, GPU_COMPUTE_PASS, GPU_DISPATCH,
)
# The guest runtime's mark that this instance's frames declared their GPU resources: a word in the
# command buffer's scratch tail at this distance from its end (not state, zero in a fresh instance).
GPU_DECLARED_MARK = 8

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

# === devloop: fonts from assets ====================================================================
# `[assets] fonts` in layerw.toml names TrueType/OpenType files and pixel sizes; `layerw build`
# rasterises each (layerw/toolchain/fontatlas.py, FreeType through Pillow) into two assets: NAME.png,
# a glyph atlas (white, coverage in alpha), and NAME.font, the metrics table below. The game loads
# both with lw_font_load and draws UTF-8 with lw_font_text, which writes plain SPRITES records with
# the atlas as texture, so every renderer draws fonts as it draws sprites. A code point the font
# lacks draws the replacement glyph, and its SPRITE record's `reserved` holds the code point (0
# otherwise) so dev checks report it once.

FONT_MAGIC = 0x4E46574C  # "LWFN" little-endian
FONT_VERSION = 1
FONT_TABLE_SUFFIX = ".font"
FONT_ATLAS_SUFFIX = ".png"
FONT_MAX_SIZE = 256  # pixel sizes 1 .. FONT_MAX_SIZE
FONT_FILE = _s(
    "lw_font_file", "The head of a NAME.font asset; `glyph_count` lw_glyph_rec follow, sorted by code point.",
    F("magic", "u32", doc="LW_FONT_MAGIC"), F("version", "u32", doc="LW_FONT_VERSION"),
    F("size", "u32", doc="the pixel size it was rasterised at"),
    F("line_height", "i32", doc="pixels from one baseline to the next"),
    F("ascent", "i32", doc="pixels from a line's top to its baseline"),
    F("glyph_count", "u32"), F("replacement", "u32", doc="index of the glyph drawn for a code point the font lacks"),
    F("atlas_width", "u32"), F("atlas_height", "u32"), F("reserved", "u32"),
)
GLYPH = _s(
    "lw_glyph_rec", "One glyph: its rect in the atlas, its offset from the pen (top of the line) and its advance.",
    F("codepoint", "u32"), F("sx", "u16"), F("sy", "u16"), F("sw", "u16"), F("sh", "u16"),
    F("dx", "i32", doc="pixels right of the pen"), F("dy", "i32", doc="pixels below the line's top"),
    F("advance", "i32", doc="pixels the pen moves right"),
)
STRUCTS = (*STRUCTS, FONT_FILE, GLYPH)
