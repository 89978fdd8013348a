"""WASM-4 carts in real Chromium: the browser's CartGame (web/cart-game.js) reaches the native host's
state hash and audio hash after the same recorded inputs, shows the same pixels, and survives the
hostile carts; its toneCommand (web/wasm4-tone.js) makes layerw.tone's commands byte for byte."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import wasmtime

from layerw.bundle import Bundle
from layerw.cart import CART_SIGNATURES
from layerw.errors import GameCrashed, GameOutOfMemory, InvalidModule
from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState, Recording
from layerw.runtime.start import start_game
from layerw.runtime.wasm4 import font
from layerw.runtime.wasm4 import trace as tr
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.runtime.wasm4.memorymap import FRAMEBUFFER, FRAMEBUFFER_SIZE
from layerw.tone import tone_command
from layerw.toolchain.cart import build_cart
from tests.runtime.wasm4 import charset, shapes
from tests.runtime.wasm4.conftest import CARTS, build_zig_cart, wat_cart
from tests.web.conftest import PlayPage, StaticServer

TICKS = 150
RECORDINGS = {  # a few presses per cart, so the hash covers input handling, drawing and tones
    "watris": [{"tick": 5, "down": ["ArrowLeft"]}, {"tick": 9, "up": ["ArrowLeft"], "down": ["KeyX"]},
               {"tick": 11, "up": ["KeyX"]}, {"tick": 30, "down": ["ArrowDown"]}, {"tick": 90, "up": ["ArrowDown"]}],
    "platformer-test": [{"tick": 5, "down": ["ArrowRight"]}, {"tick": 20, "down": ["KeyX"]}, {"tick": 30, "up": ["KeyX"]},
                        {"tick": 60, "up": ["ArrowRight"], "down": ["ArrowLeft"]}, {"tick": 100, "up": ["ArrowLeft"]}],
    "sound-demo": [{"tick": 5, "down": ["ArrowDown"]}, {"tick": 8, "up": ["ArrowDown"], "down": ["ArrowRight"]},
                   {"tick": 40, "up": ["ArrowRight"], "down": ["KeyX"]}, {"tick": 44, "up": ["KeyX"]}],
    "multiplayer": [{"tick": 3, "down": ["ArrowRight", "ArrowDown"]}, {"tick": 80, "up": ["ArrowDown"]},
                    {"tick": 90, "pointer": [40.5, 70.25, 1]}],
    "raw-assembly": [{"tick": 10, "down": ["KeyZ"]}],
}


@pytest.fixture(scope="module")
def carts(server: StaticServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[str, Path]]:
    """Build a cart into a build directory and serve it; returns (URL path, build directory)."""
    cache: dict[str, tuple[str, Path]] = {}

    def get(name: str) -> tuple[str, Path]:
        if name not in cache:
            out = build_cart(CARTS / name, tmp_path_factory.mktemp("web-carts") / name)
            cache[name] = (server.add_game(out), out)
        return cache[name]

    return get


def native(build_dir: Path, engine: Engine, recording: Path | None, ticks: int = TICKS) -> tuple[str, np.ndarray]:
    return native_run(build_dir, engine, recording, ticks)[:2]


def native_run(build_dir: Path, engine: Engine, recording: Path | None, ticks: int = TICKS) -> tuple[str, np.ndarray, str]:
    """The native host's state hash, frame and audio hash after ``ticks`` of ``recording``."""
    with start_game(Bundle.open(build_dir), engine) as game:
        assert isinstance(game, CartGame)
        Runner(game, recording=Recording.load(recording) if recording else None).run_headless(ticks)
        return game.state_hash(), game.frame(), game.audio_hash()


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_a_cart_in_chromium_matches_the_native_host(name: str, carts: Callable[[str], tuple[str, Path]],
                                                    server: StaticServer, play_page: Callable[..., PlayPage],
                                                    engine: Engine) -> None:
    src, build = carts(name)
    url = server.add_file(f"cart-{name}.jsonl", "\n".join(json.dumps(line) for line in RECORDINGS[name]) + "\n")
    page = play_page().open(src, ticks=TICKS, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    assert page.tick == TICKS
    native_hash, frame, audio_hash = native_run(build, engine, server.files / f"cart-{name}.jsonl")
    assert page.state_hash() == native_hash
    assert np.array_equal(page.pixels(160, 160), frame)  # one texture at 1:1, nearest: the framebuffer exactly
    silent = native_run(build, engine, None)
    assert silent[0] != native_hash  # the recording mattered
    assert page.page.evaluate("window.layerw.audioHash()") == audio_hash  # tone() mixed alike
    if name == "sound-demo":
        assert silent[2] != audio_hash  # X at tick 40 played a tone


def test_hostile_carts_run_bounded_in_chromium(server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine,
                                               tmp_path: Path) -> None:
    hostile = Path(__file__).resolve().parents[1] / "hostile" / "wasm4"
    for wat in sorted(hostile.glob("*.wat")):
        cart = tmp_path / f"{wat.stem}.wasm"
        cart.write_bytes(wasmtime.wat2wasm(wat.read_text()))
        build = build_cart(cart, tmp_path / f"{wat.stem}-build", name=wat.stem.replace("_", "-"))
        page = play_page().open(server.add_game(build), ticks=5, fast=True, renderer="webgl2")
        page.wait_stopped()
        assert page.tick == 5 and page.state_hash() == native(build, engine, None, 5)[0], wat.name


def test_a_published_cart_plays_at_play_cart_like_the_native_cli(store_server: Any, play_page: Callable[..., PlayPage],
                                                                 tmp_path: Path) -> None:
    """`layerw publish` of a cart's build, then /play/watris on the real server (the store source
    streams and verifies its chunks) reaches `layerw run watris --store`'s state hash."""
    store_server.publish(build_cart(CARTS / "watris", tmp_path / "watris"))
    page = play_page().goto(store_server.play_url("watris", ticks=120, fast=True))
    page.wait_stopped()
    assert page.tick == 120
    run = subprocess.run([sys.executable, "-m", "layerw.cli", "run", "watris", "--store", str(store_server.store.root),
                          "--headless", "--ticks", "120"], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip().splitlines()[-1] == f"state-hash {page.state_hash()}"


FIXED6_EDGES = [0.0, -0.0, 0.5, -0.5, 1e-7, 5e-7, 4.999999e-7, 1.5e-6, 2.5e-6, 0.1, 1 / 3, 123456.0000005,
                2.0 ** 53, 1e22, 1e300, -1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,
                float("inf"), float("-inf"), float("nan")]


def test_tracef_f_prints_as_the_native_host_prints(server: StaticServer, play_page: Callable[..., PlayPage]) -> None:
    """%f in the browser (wasm4-imports.js fixed6) against Python's f"{v:f}" (trace.py's), at the edges:
    signed zero, halfway roundings at the sixth decimal, subnormals, the largest doubles, inf and nan."""
    page = play_page().goto(f"{server.url}/web/abi.js").page
    script = """async (hexes) => {
        const { fixed6 } = await import("/web/wasm4-imports.js");
        const view = new DataView(new ArrayBuffer(8));
        return hexes.map((h) => { view.setBigUint64(0, BigInt("0x" + h)); return fixed6(view.getFloat64(0)); });
    }"""
    rng = random.Random(6)
    values = FIXED6_EDGES + [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(300)]
    values += [rng.randint(-10**9, 10**9) / 10**7 + 5e-7 for _ in range(300)]
    hexes = [struct.pack(">d", v).hex() for v in values]
    assert page.evaluate(script, hexes) == [f"{v:f}" for v in values]


def tracef_memory() -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A memory image of formats, argument blocks and strings, and the (format, arguments) pointer
    pairs to format: printf's edge values for %c %d %x, strings, wild pointers, doubles, Latin-1
    bytes in the format, flags and widths, a block running off the end of memory."""
    rng = random.Random(1515)
    mem = np.zeros(65536, np.uint8)
    for k in range(16):  # strings at 0x8000 + 32 k, Latin-1 bytes included
        text = bytes(rng.choice(b"abc XYZ\xe9\xff\x80%") for _ in range(rng.randrange(20)))
        mem[0x8000 + 32 * k:0x8000 + 32 * k + len(text)] = np.frombuffer(text, np.uint8)
    words = [-1, -(2**31), 2**31 - 1, 0, 0x141, -23, 0x80, 0xFF, 65533, 0x7FFFFFFF, 0xFFFFFF00 - 2**32]
    pairs = []
    for i in range(200):
        pieces = [rng.choice(["%c", "%d", "%x", "%s", "%f", "%%", "%02x", "%q", " ", "=", "\xe9", "ab"]) for _ in range(12)]
        fmt = "".join(pieces).encode("latin-1") + (b"%" if i % 7 == 0 else b"") + b"\0"
        mem[0x1000 + 64 * i:0x1000 + 64 * i + len(fmt)] = np.frombuffer(fmt, np.uint8)
        block = b"".join(struct.pack("<i", rng.choice(words)) if rng.random() < 0.5 else
                         struct.pack("<I", 0x8000 + 32 * rng.randrange(16)) if rng.random() < 0.5 else
                         rng.randbytes(4) for _ in range(24))  # and halves of doubles for %f
        mem[0x4000 + 96 * i:0x4000 + 96 * i + len(block)] = np.frombuffer(block, np.uint8)
        pairs.append((0x1000 + 64 * i, 0x4000 + 96 * i if i % 11 else 65536 - 4 * (i % 5)))
    return mem, pairs


def test_tracef_formats_as_the_native_host_formats(server: StaticServer, play_page: Callable[..., PlayPage]) -> None:
    """wasm4-imports.js CartImports.tracef against trace.py's tracef, on the same memory: printf's
    %c (the low byte) and %x (unsigned hex) at their edges, %d %s %f %%, what is printed as written."""
    mem, pairs = tracef_memory()
    page = play_page().goto(f"{server.url}/web/abi.js").page
    script = """async ([b64, pairs]) => {
        const { CartImports } = await import("/web/wasm4-imports.js");
        const imports = Object.create(CartImports.prototype);
        imports.ram = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        return pairs.map(([fmt, args]) => imports.tracef(fmt, args));
    }"""
    got = page.evaluate(script, [base64.b64encode(mem.tobytes()).decode(), pairs])
    want = [tr.tracef(mem, fmt, args) for fmt, args in pairs]
    assert got == want
    assert any("ffffffff" in line for line in want) and any("\xe9" in line for line in want)  # the edges were reached


def tone_arguments() -> list[tuple[int, int, int, int, int]]:
    """A spread of tone() arguments: edge values, random u32s, every note mode bit pattern, two tick rates."""
    rng = random.Random(15)
    edges = [0, 1, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
    out = [(f, d, v, fl, 60) for f in edges for d in edges[:5] for v in (0, 100, 0x6400, 0xFFFF) for fl in (0, 0x40, 0x7F)]
    out += [(rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32), rng.choice((30, 60)))
            for _ in range(2000)]
    return out


def test_tone_command_is_the_same_in_javascript(server: StaticServer, play_page: Callable[..., PlayPage]) -> None:
    page = play_page().goto(f"{server.url}/web/abi.js").page  # any page of the server's origin, to import from
    script = """async ([args, notes]) => {
        const { toneCommand } = await import("/web/wasm4-tone.js");
        const hexOf = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
        const sweep = [];
        for (let v = 0; v < 65536; v++) sweep.push(toneCommand(v | (v ^ 0x5a5a) << 16, 0x01020304, 0x5032, notes, 60));
        const all = new Uint8Array(sweep.length * sweep[0].length);
        sweep.forEach((c, i) => all.set(c, i * c.length));
        return { each: args.map((a) => hexOf(toneCommand(...a))),
                 sweep: hexOf(new Uint8Array(await crypto.subtle.digest("SHA-256", all))) };
    }"""
    args = tone_arguments()
    got = page.evaluate(script, [args, 0x40 | 2 << 4 | 1])
    assert got["each"] == [tone_command(*a).hex() for a in args]
    # every 16-bit frequency in note mode (the only float arithmetic), hashed
    sweep = b"".join(tone_command(v | (v ^ 0x5A5A) << 16, 0x01020304, 0x5032, 0x40 | 2 << 4 | 1) for v in range(65536))
    assert got["sweep"] == hashlib.sha256(sweep).hexdigest()


def wat_build(tmp_path: Path, name: str, wat: str) -> Path:
    cart = tmp_path / f"{name}.wasm"
    cart.write_bytes(wasmtime.wat2wasm(wat))
    return build_cart(cart, tmp_path / f"{name}-build", name=name)


def test_tracef_with_wild_pointers_prints_what_the_native_host_prints(
        server: StaticServer, engine: Engine, play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    hostile = Path(__file__).resolve().parents[1] / "hostile" / "wasm4"
    for wat in sorted(hostile.glob("tracef_*.wat")):
        build = wat_build(tmp_path, wat.stem.replace("_", "-"), wat.read_text())
        page = play_page().open(server.add_game(build), ticks=3, fast=True, renderer="webgl2")
        page.wait_stopped()
        with start_game(Bundle.open(build), engine) as game:
            Runner(game).run_headless(3)
            assert isinstance(game, CartGame)
            assert page.page.evaluate("window.layerw.traces()") == list(game.traces), wat.name


def test_every_glyph_draws_the_native_pixels_in_chromium(server: StaticServer, engine: Engine,
                                                         play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    """The browser's font is glyphs.bin byte for byte (codes 0 and 10 included, which no string can
    draw), and a cart drawing every other code through text, textUtf8 and textUtf16 leaves the native
    host's framebuffer, pixels and state hash."""
    page = play_page().goto(f"{server.url}/web/abi.js").page
    script = """async () => {
        const { GLYPHS } = await import("/web/wasm4-framebuffer.js");
        return btoa(String.fromCharCode(...GLYPHS));
    }"""
    assert base64.b64decode(page.evaluate(script)) == font.glyphs_bytes()
    for function in charset.FUNCTIONS:
        build = wat_build(tmp_path, f"charset-{function.lower()}", charset.charset_wat(function))
        page = play_page().open(server.add_game(build), ticks=2, fast=True, renderer="webgl2")
        page.wait_stopped()
        with start_game(Bundle.open(build), engine) as game:
            Runner(game).run_headless(2)
            assert isinstance(game, CartGame)
            shown = page.page.evaluate(f"window.layerw.memory({FRAMEBUFFER}, {FRAMEBUFFER_SIZE})")
            assert base64.b64decode(shown["bytes"]) == game.ram[FRAMEBUFFER:FRAMEBUFFER + FRAMEBUFFER_SIZE].tobytes(), function
            assert np.array_equal(game.cart.framebuffer.indices(), charset.expected()), function
            assert np.array_equal(page.pixels(160, 160), game.frame()), function
            assert page.state_hash() == game.state_hash(), function


QUIRKS = CARTS.parent / "compat" / "quirks.wat"


def test_a_cart_written_as_other_toolchains_write_them_matches_the_native_host(
        server: StaticServer, engine: Engine, play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    """compat/quirks.wat (WASI-style entry points, byte and UTF-16 text, the mouse before and after the
    pointer shows, every drawing function and tone flag at its edges, tracef's conversions): the same
    state hash, pixels, audio hash and trace lines in Chromium as natively."""
    build = wat_build(tmp_path, "quirks", QUIRKS.read_text())
    lines = [{"tick": 5, "down": ["KeyX"]}, {"tick": 9, "pointer": [-3.5, 150.25, 2]}, {"tick": 12, "up": ["KeyX"]}]
    url = server.add_file("cart-quirks.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    page = play_page().open(server.add_game(build), ticks=45, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    with start_game(Bundle.open(build), engine) as game:
        Runner(game, recording=Recording.load(server.files / "cart-quirks.jsonl")).run_headless(45)
        assert isinstance(game, CartGame)
        assert game.ram[0x2000:0x2004].tolist() == [1, 2, 3, 0]  # _start, _initialize, start, each once
        assert page.state_hash() == game.state_hash()
        assert np.array_equal(page.pixels(160, 160), game.frame())
        assert page.page.evaluate("window.layerw.audioHash()") == game.audio_hash()
        assert page.page.evaluate("window.layerw.traces()") == list(game.traces)


def test_a_zig_cart_built_as_the_template_builds_it_matches_the_native_host(
        server: StaticServer, engine: Engine, play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    build = build_cart(build_zig_cart(tmp_path / "zigcart.wasm"), tmp_path / "zigcart-build", name="zigcart")
    url = server.add_file("cart-zigcart.jsonl", json.dumps({"tick": 3, "down": ["KeyX"]}) + "\n")
    page = play_page().open(server.add_game(build), ticks=40, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    native_hash, frame, audio_hash = native_run(build, engine, server.files / "cart-zigcart.jsonl", 40)
    assert page.state_hash() == native_hash and np.array_equal(page.pixels(160, 160), frame)
    assert page.page.evaluate("window.layerw.audioHash()") == audio_hash


CART_IMPORTS = '(import "env" "memory" (memory 1))'


def test_a_cart_stays_in_its_page_or_fails_typed_in_chromium(server: StaticServer, engine: Engine,
                                                            play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    """memory.grow answers -1 as natively; a cart asking for two pages, or trapping, fails the page with
    the native host's typed error."""
    grow = wat_build(tmp_path, "grow", f'(module {CART_IMPORTS} (func (export "update") '
                     '(i32.store (i32.const 0x2000) (memory.grow (i32.const 1)))))')
    page = play_page().open(server.add_game(grow), ticks=3, fast=True, renderer="webgl2")
    page.wait_stopped()
    memory = page.page.evaluate("window.layerw.memory(0x2000, 4)")
    assert int.from_bytes(base64.b64decode(memory["bytes"]), "little", signed=True) == -1
    assert memory["size"] == 65536
    assert page.state_hash() == native(grow, engine, None, 3)[0]
    failing = {
        "big": ('(module (import "env" "memory" (memory 2)) (func (export "update")))', GameOutOfMemory, "exactly 1"),
        "trap": (f'(module {CART_IMPORTS} (func (export "update") (if (i32.eq (i32.load8_u (i32.const 0x16)) (i32.const 0))'
                 ' (then (unreachable)))))', GameCrashed, "unreachable"),
    }
    [module] = grow.glob("*.wasm")
    for name, (wat, kind, text) in failing.items():
        src = server.add_game(grow, name=name)  # a build of the grow cart, its module swapped (build_cart refuses "big")
        (server.files / "games" / name / module.name).write_bytes(wasmtime.wat2wasm(wat))
        page = play_page().open(src, ticks=3, fast=True, renderer="webgl2")
        page.wait("window.layerw.status === 'failed'")
        error = page.page.evaluate("window.layerw.error")
        assert text in error, (name, error)
        with pytest.raises(kind, match=text):  # the native host fails the same cart with this error
            with start_game(wat_cart(tmp_path / name, wat, name), engine) as game:
                game.tick(InputState(1))


RESTORE = """async (b64) => {
  const { parseSnapshot } = await import("/web/snapshot.js");
  const game = window.layerw.client().game;
  await game.restore(await parseSnapshot(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  return [game.tickCount, await game.stateHash()];
}"""


def test_a_page_restores_a_native_cart_snapshot_bit_for_bit(server: StaticServer, engine: Engine,
                                                            play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    """Globals a browser could get wrong from JSON: an i64 past 2^53, infinities and a NaN (held as
    their bits; any NaN hashes as the canonical one), beside memory, disk and tone events: the page's
    hash after restoring the native snapshot is the native one, as it is after the same ticks."""
    wat = """(module (import "env" "memory" (memory 1)) (import "env" "diskw" (func $diskw (param i32 i32) (result i32)))
      (import "env" "tone" (func $tone (param i32 i32 i32 i32)))
      (global (mut i64) (i64.const 0)) (global (mut f64) (f64.const 1)) (global (mut f32) (f32.const 1))
      (global (mut f64) (f64.const 1))
      (func (export "update")
        (global.set 0 (i64.add (i64.const 9007199254740993) (i64.load8_u (i32.const 0x3000))))
        (global.set 1 (f64.div (f64.const 1) (f64.const 0))) (global.set 2 (f32.div (f32.const -1) (f32.const 0)))
        (global.set 3 (f64.div (f64.const 0) (f64.const 0)))
        (i32.store8 (i32.const 0x3000) (i32.add (i32.load8_u (i32.const 0x3000)) (i32.const 1)))
        (drop (call $diskw (i32.const 0x3000) (i32.const 4)))
        (call $tone (i32.const 440) (i32.const 30) (i32.const 80) (i32.const 1))))"""
    build = wat_build(tmp_path, "odd-globals", wat)
    page = play_page().open(server.add_game(build), ticks=1, fast=True, renderer="webgl2", worker=0)  # RESTORE: its game
    page.wait_stopped()
    assert page.state_hash() == native(build, engine, None, 1)[0]  # the NaN of 0/0 hashes alike
    with start_game(Bundle.open(build), engine) as game:
        Runner(game).run_headless(7)
        assert isinstance(game, CartGame)
        snap = game.snapshot()
        assert snap.host["globals"][0] == 9007199254740993 + 6 and all(isinstance(v, str) for v in snap.host["globals"][1:])
        tick, hashed = page.page.evaluate(RESTORE, base64.b64encode(snap.to_bytes()).decode())
        assert tick == 7 and hashed == game.state_hash()


def test_a_cart_on_webgpu_shows_the_native_framebuffer(carts: Callable[[str], tuple[str, Path]], server: StaticServer,
                                                      play_page: Callable[..., PlayPage], webgpu_browser: Any,
                                                      engine: Engine) -> None:
    """The WebGPU renderer draws a cart's frame (one 160x160 texture, nearest, 1:1) exactly as the
    native framebuffer reads through PALETTE, as WebGL2 does above."""
    from tests.web.test_renderer import webgpu_page

    src, build = carts("watris")
    url = server.add_file("cart-watris-webgpu.jsonl", "\n".join(json.dumps(line) for line in RECORDINGS["watris"]) + "\n")
    page = webgpu_page(play_page, webgpu_browser, server).open(src, ticks=TICKS, fast=True, inputs=url, renderer="webgpu")
    page.wait_stopped()
    assert page.renderer()["name"] == "webgpu" and page.tick == TICKS
    native_hash, frame = native(build, engine, server.files / "cart-watris-webgpu.jsonl")
    assert page.state_hash() == native_hash
    assert np.array_equal(page.pixels(160, 160), frame)


# A cart that sets HIDE_GAMEPAD_OVERLAY (SYSTEM_FLAGS bit 1) once its 30th update has run.
HIDES_OVERLAY = """(module (import "env" "memory" (memory 1 1))
  (func (export "update")
    (i32.store (i32.const 0x2000) (i32.add (i32.load (i32.const 0x2000)) (i32.const 1)))
    (if (i32.ge_u (i32.load (i32.const 0x2000)) (i32.const 30))
      (then (i32.store8 (i32.const 0x1f) (i32.or (i32.load8_u (i32.const 0x1f)) (i32.const 2)))))))"""


@pytest.mark.parametrize("worker", [False, True])
def test_system_flags_hide_the_on_screen_gamepad(server: StaticServer, play_page: Callable[..., PlayPage],
                                                  tmp_path: Path, worker: bool) -> None:
    """The page's on-screen gamepad shows for a cart until its SYSTEM_FLAGS set HIDE_GAMEPAD_OVERLAY,
    with the game on the page or in a game worker."""
    bundle = wat_cart(tmp_path, HIDES_OVERLAY, "hides-overlay")
    src = server.add_game(build_cart(bundle.path, tmp_path / "hides-overlay-build"))
    page = play_page().open(src, ticks=20, renderer="webgl2", overlay=1, **({"worker": 1} if worker else {}))
    page.wait_stopped()
    shown = "getComputedStyle(document.querySelector('.layerw-overlay')).display !== 'none'"
    assert page.page.evaluate(shown)  # 20 updates: the flag is not set yet
    page = play_page().open(src, ticks=45, renderer="webgl2", overlay=1, **({"worker": 1} if worker else {}))
    page.wait_stopped()
    page.wait(f"!({shown})")


SHAPES = (shapes.RUST, shapes.ASSEMBLYSCRIPT, shapes.TINYGO, shapes.EDGES, shapes.FUZZ)  # a few pages: the rest run natively
CHECK_CART = """async ([name, b64]) => {
  const { checkCart } = await import("/web/cart.js");
  try { checkCart(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), name); return null; }
  catch (e) { return `${e.name}: ${e.message}`; }
}"""


def test_carts_in_toolchains_shapes_match_the_native_host(
        server: StaticServer, engine: Engine, play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    """runtime/wasm4/shapes.py's carts shaped as Rust, AssemblyScript and TinyGo leave them, and one
    drawing at its edges: the same state hash, pixels, audio hash and trace lines in Chromium as
    natively; the shapes WASM-4 cannot link get the native host's error word for word from the page's
    checkCart, and a data segment past the page fails the page as it fails natively."""
    url = server.add_file("cart-shapes.jsonl", json.dumps({"tick": 5, "down": ["KeyX"]}) + "\n")
    build = Path()
    for shape in SHAPES:
        cart = tmp_path / f"{shape.name}.wasm"
        cart.write_bytes(shape.wasm())
        build = build_cart(cart, tmp_path / f"{shape.name}-build", name=f"shape-{shape.name}")
        page = play_page().open(server.add_game(build), ticks=30, fast=True, inputs=url, renderer="webgl2")
        page.wait_stopped()
        with start_game(Bundle.open(build), engine) as game:
            Runner(game, recording=Recording.load(server.files / "cart-shapes.jsonl")).run_headless(30)
            assert isinstance(game, CartGame)
            assert page.tick == 30 and page.state_hash() == game.state_hash(), shape.name
            assert np.array_equal(page.pixels(160, 160), game.frame()), shape.name
            assert page.page.evaluate("window.layerw.audioHash()") == game.audio_hash(), shape.name
            assert page.page.evaluate("window.layerw.traces()") == list(game.traces), shape.name
    for name, (wat, _named) in shapes.REFUSED.items():
        wasm = wasmtime.wat2wasm(wat)
        with pytest.raises(InvalidModule) as refused:
            start_game(wat_cart(tmp_path / name, wat, name), engine)
        assert page.page.evaluate(CHECK_CART, [name, base64.b64encode(wasm).decode()]) == f"InvalidModule: {refused.value}"
    signatures = page.page.evaluate("async () => (await import('/web/cart.js')).CART_SIGNATURES")
    assert signatures == {name: list(types) for name, types in CART_SIGNATURES.items()}
    [module] = build.glob("*.wasm")
    src = server.add_game(build, name="past-the-end")  # the last shape's build, its module swapped (build_cart refuses it)
    (server.files / "games" / "past-the-end" / module.name).write_bytes(wasmtime.wat2wasm(shapes.PAST_THE_END))
    page = play_page().open(src, ticks=3, fast=True, renderer="webgl2")
    page.wait("window.layerw.status === 'failed'")
    assert "out of bounds" in page.page.evaluate("window.layerw.error")
    with pytest.raises(GameCrashed, match="out of bounds"):
        start_game(wat_cart(tmp_path / "past", shapes.PAST_THE_END, "past"), engine)
