"""CartGame: the WASM-4 profile on small WAT carts — memory map, entry points, input, disk, tones,
snapshots, limits — each asserted through the cart's own memory or the host's typed errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from layerw.cart import is_cart
from layerw.errors import GameError, GameOutOfMemory, GameTimedOut, InvalidModule
from layerw.gfx.commands import parse
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.wasm4 import memorymap as mm
from layerw.runtime.wasm4.cartgame import FRAME_TEXTURE, CartGame
from layerw.saves import Saves, Slot
from tests.runtime.wasm4.conftest import wat_cart

IMPORTS = """
  (import "env" "memory" (memory 1 1))
  (import "env" "tone" (func $tone (param i32 i32 i32 i32)))
  (import "env" "diskr" (func $diskr (param i32 i32) (result i32)))
  (import "env" "diskw" (func $diskw (param i32 i32) (result i32)))
  (import "env" "trace" (func $trace (param i32)))
"""


# A cart that counts its runs in disk byte 2: start() reads the disk, adds one and writes 3 bytes back.
DISK_COUNTER = f"""(module {IMPORTS}
  (func (export "start")
    (drop (call $diskr (i32.const 0x4000) (i32.const 8)))
    (i32.store8 (i32.const 0x4002) (i32.add (i32.load8_u (i32.const 0x4002)) (i32.const 1)))
    (drop (call $diskw (i32.const 0x4000) (i32.const 3))))
  (func (export "update")))"""


def cart(tmp_path: Path, engine: Engine, body: str, imports: str = IMPORTS) -> CartGame:
    game = start_game(wat_cart(tmp_path, f"(module {imports} {body})"), engine)
    assert isinstance(game, CartGame) and isinstance(game, GameHost)
    return game


def u8(game: CartGame, addr: int) -> int:
    return int(game.ram[addr])


def test_memory_starts_with_the_default_palette_and_draw_colours(tmp_path: Path, engine: Engine) -> None:
    with cart(tmp_path, engine, '(func (export "update"))') as game:
        palette = struct.unpack("<4I", game.ram[mm.PALETTE:mm.PALETTE + 16].tobytes())
        assert palette == mm.DEFAULT_PALETTE
        assert struct.unpack("<H", game.ram[mm.DRAW_COLORS:mm.DRAW_COLORS + 2].tobytes())[0] == mm.DEFAULT_DRAW_COLORS
        assert len(game.ram) == mm.MEMORY_SIZE and game.snapshot().memory_size == mm.MEMORY_SIZE


def test_data_segments_land_over_the_defaults(tmp_path: Path, engine: Engine) -> None:
    with cart(tmp_path, engine, '(func (export "update")) (data (i32.const 4) "\\ff\\00\\00\\00")') as game:
        assert game.frame()[0, 0].tolist() == [0, 0, 255, 255]  # palette 0 is now 0x0000ff: blue


def test_initialize_then_start_then_update_each_tick(tmp_path: Path, engine: Engine) -> None:
    body = """
      (func (export "_initialize") (i32.store8 (i32.const 0x2000) (i32.const 1)))
      (func (export "start") (i32.store8 (i32.const 0x2001) (i32.add (i32.load8_u (i32.const 0x2000)) (i32.const 1))))
      (func (export "update") (i32.store8 (i32.const 0x2002) (i32.add (i32.load8_u (i32.const 0x2002)) (i32.const 1))))"""
    with cart(tmp_path, engine, body) as game:
        assert (u8(game, 0x2000), u8(game, 0x2001), u8(game, 0x2002)) == (1, 2, 0)
        for _ in range(3):
            game.tick(InputState(1))
        assert u8(game, 0x2002) == 3 and game.tick_count == 3


@pytest.mark.parametrize("preserve", [False, True])
def test_framebuffer_is_cleared_each_tick_unless_preserved(tmp_path: Path, engine: Engine, preserve: bool) -> None:
    fb = mm.FRAMEBUFFER
    body = f"""
      (func (export "start") (i32.store8 (i32.const {mm.SYSTEM_FLAGS}) (i32.const {int(preserve)})))
      (func (export "update") (i32.store8 (i32.const {fb}) (i32.add (i32.load8_u (i32.const {fb})) (i32.const 1))))"""
    with cart(tmp_path, engine, body) as game:
        for _ in range(3):
            game.tick(InputState(1))
        assert u8(game, mm.FRAMEBUFFER) == (3 if preserve else 1)


def test_gamepads_and_mouse_come_from_layer_w_input(tmp_path: Path, engine: Engine) -> None:
    body = """(func (export "update")
        (memory.copy (i32.const 0x3000) (i32.const 0x16) (i32.const 9)))"""
    with cart(tmp_path, engine, body) as game:
        state = InputState(4)
        state.key(0, "KeyX", True)
        state.key(0, "ArrowLeft", True)
        state.key(1, "KeyZ", True)
        state.gamepad(2, 0, ["B", "UP"], [0.9, 0.0])
        state.gamepad(3, 1, ["A"], [0.0, -0.8])
        state.pointer(0, 10.7, 20.2, 1 | 4)
        game.tick(state)
        pads = game.ram[0x3000:0x3004].tolist()
        assert pads == [mm.BUTTON_1 | mm.BUTTON_LEFT, mm.BUTTON_2, mm.BUTTON_2 | mm.BUTTON_UP | mm.BUTTON_RIGHT,
                        mm.BUTTON_1 | mm.BUTTON_UP]
        x, y, buttons = struct.unpack("<hhB", game.ram[0x3004:0x3009].tobytes())
        assert (x, y, buttons) == (10, 20, mm.MOUSE_LEFT | mm.MOUSE_MIDDLE)


def test_memory_never_grows_past_its_one_page(tmp_path: Path, engine: Engine) -> None:
    body = '(func (export "update") (i32.store (i32.const 0x2000) (memory.grow (i32.const 1))))'
    with cart(tmp_path, engine, body, IMPORTS.replace("(memory 1 1)", "(memory 1)")) as game:
        game.tick(InputState(1))
        assert struct.unpack("<i", game.ram[0x2000:0x2004].tobytes())[0] == -1


def test_a_cart_asking_for_more_memory_or_foreign_imports_is_refused(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(GameOutOfMemory, match="exactly 1"):
        cart(tmp_path / "big", engine, '(func (export "update"))', '(import "env" "memory" (memory 2))')
    with pytest.raises(InvalidModule, match="env.fopen"):
        cart(tmp_path / "odd", engine, '(func (export "update"))',
             '(import "env" "memory" (memory 1)) (import "env" "fopen" (func (param i32)))')
    with pytest.raises(InvalidModule, match="imports its memory"):
        cart(tmp_path / "own", engine, '(memory 1) (func (export "update"))', '(import "env" "trace" (func (param i32)))')
    assert not is_cart(b"\0asm\x0d\0\x01\0") and not is_cart(b"MZ") and not is_cart(b"\0asm\x01\0\0\0")


def test_disk_writes_reads_and_travels_in_snapshots(tmp_path: Path, engine: Engine) -> None:
    body = """
      (func (export "start") (drop (call $diskw (i32.const 0x4000) (i32.const 2000))))
      (func (export "update") (i32.store (i32.const 0x5000) (call $diskr (i32.const 0x6000) (i32.const 3))))
      (data (i32.const 0x4000) "hello")"""
    with cart(tmp_path, engine, body) as game:
        assert len(game.disk.data) == mm.DISK_SIZE and game.disk.data[:5] == b"hello"
        game.tick(InputState(1))
        assert game.ram[0x6000:0x6003].tobytes() == b"hel" and u8(game, 0x5000) == 3
        snap = game.snapshot()
        before = game.state_hash()
        game.disk.write(b"changed")
        assert game.state_hash() != before
        game.restore(snap)
        assert game.disk.data[:5] == b"hello" and game.state_hash() == before


def test_the_disk_persists_across_runs_as_the_save_slot_disk(tmp_path: Path, engine: Engine) -> None:
    """First run: start() finds an empty disk and writes "hi" plus a counter; every later run reads
    the disk the previous one left (diskr in start) and writes it back incremented."""
    body = """
      (func (export "start")
        (i32.store (i32.const 0x5000) (call $diskr (i32.const 0x4000) (i32.const 8)))
        (i32.store8 (i32.const 0x4002) (i32.add (i32.load8_u (i32.const 0x4002)) (i32.const 1)))
        (i32.store16 (i32.const 0x4000) (i32.const 0x6968))
        (drop (call $diskw (i32.const 0x4000) (i32.const 3))))
      (func (export "update"))"""
    saves = Saves(tmp_path / "saves")
    for run in range(1, 4):
        with start_game(wat_cart(tmp_path, f"(module {IMPORTS} {body})"), engine, saves=saves) as game:
            assert isinstance(game, CartGame)
            assert u8(game, 0x5000) == (0 if run == 1 else 3)  # what diskr found
            assert game.disk.data == b"hi" + bytes([run])
        assert saves.read("disk") == Slot(0, b"hi" + bytes([run]))
    with start_game(wat_cart(tmp_path, f"(module {IMPORTS} {body})"), engine) as game:
        assert u8(game, 0x5000) == 0  # no saves (a room): the disk starts empty, as before


def test_tone_events_are_typed_stamped_and_kept_per_tick(tmp_path: Path, engine: Engine) -> None:
    body = """
      (func (export "start") (call $tone (i32.const 262) (i32.const 30) (i32.const 50) (i32.const 2)))
      (func (export "update") (call $tone (i32.const 440) (i32.const 60) (i32.const 100) (i32.const 17)))"""
    with cart(tmp_path, engine, body) as game:
        game.tick(InputState(1))
        first = game.tone_events
        assert [(t.tick, t.freq_start, t.channel) for t in first] == [(0, 262, 2), (0, 440, 1)]
        assert first[1].pan == 1 and first[1].sustain == 60 and first[1].volume == 100
        game.tick(InputState(1))
        assert [(t.tick, t.freq_start) for t in game.tone_events] == [(1, 440)]
        snap, hashed = game.snapshot(), game.state_hash()
        assert snap.host["tones"] == [t.to_dict() for t in game.tone_events]
        game.tick(InputState(1))
        game.restore(snap)
        assert game.tone_events[0].tick == 1 and game.state_hash() == hashed


def test_a_cart_that_loops_forever_times_out_and_restores(tmp_path: Path, engine: Engine) -> None:
    body = """(func (export "update")
        (i32.store8 (i32.const 0x2000) (i32.add (i32.load8_u (i32.const 0x2000)) (i32.const 1)))
        (if (i32.eq (i32.load8_u (i32.const 0x2000)) (i32.const 3)) (then (loop $l (br $l)))))"""
    with cart(tmp_path, engine, body) as game:
        game.tick(InputState(1))
        game.tick(InputState(1))
        snap = game.snapshot()
        with pytest.raises(GameTimedOut):
            game.tick(InputState(1))
        with pytest.raises(GameError, match="already failed"):
            game.render()
        game.restore(snap)
        assert game.tick_count == 2 and u8(game, 0x2000) == 2


@pytest.mark.parametrize("entry", ["start", "_start", "_initialize"])
def test_a_cart_whose_start_loops_forever_times_out(tmp_path: Path, engine: Engine, entry: str) -> None:
    """start (and _start/_initialize) run under the same CPU deadline as a game's init."""
    with pytest.raises(GameTimedOut, match="CPU deadline"):
        cart(tmp_path, engine, f'(func (export "{entry}") (loop $l (br $l))) (func (export "update"))')


def test_a_cart_looping_forever_under_fuel_times_out(tmp_path: Path) -> None:
    """The fuel limit bounds carts as it bounds games (each call gets the tick's fuel)."""
    with Engine(CpuLimit.FUEL, cache=tmp_path / "modules") as fuel:
        with pytest.raises(GameTimedOut, match="CPU deadline"):
            cart(tmp_path, fuel, '(func (export "start") (loop $l (br $l))) (func (export "update"))')
        with cart(tmp_path / "update", fuel, '(func (export "update") (loop $l (br $l)))') as game:
            with pytest.raises(GameTimedOut, match="CPU deadline"):
                game.tick(InputState(1))


def test_a_cart_whose_wasm_start_function_loops_forever_times_out(tmp_path: Path, engine: Engine) -> None:
    """A wasm start section runs while instantiating: the deadline is armed before it too."""
    with pytest.raises(GameTimedOut, match="CPU deadline"):
        cart(tmp_path, engine, '(func $spin (loop $l (br $l))) (start $spin) (func (export "update"))')


def test_the_frame_is_one_texture_drawn_by_one_sprite(tmp_path: Path, engine: Engine) -> None:
    body = f'(func (export "update") (i32.store8 (i32.const {mm.FRAMEBUFFER}) (i32.const 3)))'
    with cart(tmp_path, engine, body) as game:
        game.tick(InputState(1))
        [(handle, image)] = game.take_new_textures()
        assert handle == FRAME_TEXTURE and image.shape == (160, 160, 4)
        assert image[0, 0].tolist() == [0x07, 0x18, 0x21, 255] and image[0, 1].tolist() == [0xE0, 0xF8, 0xCF, 255]
        assert game.take_new_textures() == []  # nothing new until the next tick
        frame = parse(game.render())
        [batch] = frame.batches
        assert batch.texture == FRAME_TEXTURE and batch.count == 1
        quad = frame.instances[0]
        assert (quad["x"], quad["y"], quad["w"], quad["h"], quad["uw"], quad["vh"]) == (0, 0, 160, 160, 160, 160)


def test_trace_lines_are_kept_and_bounded(tmp_path: Path, engine: Engine) -> None:
    body = '(func (export "update") (call $trace (i32.const 0x2000))) (data (i32.const 0x2000) "tick!")'
    with cart(tmp_path, engine, body) as game:
        for _ in range(300):
            game.tick(InputState(1))
        assert list(game.traces)[-1] == "tick!" and len(game.traces) == 256


def test_events_beyond_the_contract_are_refused(tmp_path: Path, engine: Engine) -> None:
    from layerw import abi
    from layerw.errors import InputError
    from layerw.runtime.assets import Event

    with cart(tmp_path, engine, '(func (export "update"))') as game, pytest.raises(InputError):
        game.tick(InputState(1), [Event(3, 0, 0, 0)] * (abi.MAX_EVENTS + 1))


def test_a_closed_cart_keeps_its_last_state_readable_and_refuses_ticks(tmp_path: Path, engine: Engine) -> None:
    body = f'(func (export "update") (i32.store8 (i32.const {mm.FRAMEBUFFER}) (i32.const 3)))'
    game = cart(tmp_path, engine, body)
    game.tick(InputState(1))
    hashed = game.state_hash()
    game.close()
    assert game.state_hash() == hashed and np.asarray(game.frame())[0, 0].tolist() == [0x07, 0x18, 0x21, 255]
    with pytest.raises(GameError, match="closed"):
        game.tick(InputState(1))
    game.close()
