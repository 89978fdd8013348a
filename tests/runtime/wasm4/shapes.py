"""Carts shaped as each toolchain leaves them, in WAT: the module shapes a published cart arrives in.

Each ``Shape`` is a small cart written the way one toolchain's WASM-4 template lays its module out
(clang for C, C++, Nim, D and Odin; Rust; AssemblyScript; TinyGo; hand-written WAT with a wasm start
function), with custom sections added as those toolchains add them. ``REFUSED`` are shapes WASM-4
itself cannot link (its runtimes give a cart only ``env``), each with the import the typed error
must name. ``EDGES`` is a cart of drawing, tone and disk arguments at their edges. Every cart copies
what it sees into its memory, so the state hash covers it. test_shapes.py runs them natively,
web/test_carts.py a subset in Chromium.
"""

from __future__ import annotations

from dataclasses import dataclass

import wasmtime

from tests.hostile.modules import hexstr, leb

SIGNATURES = {  # WASM-4's env functions as a cart declares them (wasm4.h)
    "blit": "(param i32 i32 i32 i32 i32 i32)", "blitSub": "(param i32 i32 i32 i32 i32 i32 i32 i32 i32)",
    "line": "(param i32 i32 i32 i32)", "hline": "(param i32 i32 i32)", "vline": "(param i32 i32 i32)",
    "oval": "(param i32 i32 i32 i32)", "rect": "(param i32 i32 i32 i32)", "text": "(param i32 i32 i32)",
    "textUtf8": "(param i32 i32 i32 i32)", "textUtf16": "(param i32 i32 i32 i32)", "tone": "(param i32 i32 i32 i32)",
    "diskr": "(param i32 i32) (result i32)", "diskw": "(param i32 i32) (result i32)", "trace": "(param i32)",
    "traceUtf8": "(param i32 i32)", "traceUtf16": "(param i32 i32)", "tracef": "(param i32 i32)",
}
STATE = 0x2000  # where every shape keeps what it saw: its entry log first (length at STATE, bytes after)


def env(*names: str, memory: str = "(memory 1 1)") -> str:
    """The import section of a cart: its memory, then the named functions."""
    return f'(import "env" "memory" {memory})' + "".join(
        f'(import "env" "{n}" (func ${n} {SIGNATURES[n]}))' for n in names)


def log_entry(n: int) -> str:
    """WAT that appends byte ``n`` to the entry log at STATE (its length in the first word)."""
    return (f"(i32.store8 (i32.add (i32.const {STATE + 4}) (i32.load (i32.const {STATE}))) (i32.const {n}))"
            f"(i32.store (i32.const {STATE}) (i32.add (i32.load (i32.const {STATE})) (i32.const 1)))")


def custom_section(name: str, payload: bytes) -> bytes:
    body = leb(len(name.encode())) + name.encode() + payload
    return b"\x00" + leb(len(body)) + body


def with_custom_sections(wasm: bytes, sections: dict[int, list[bytes]]) -> bytes:
    """``wasm`` with custom sections inserted before the known section of each id (0: at the end), as
    linkers and wasm-opt leave them: producers and target_features at the end, others anywhere."""
    out, at = bytearray(wasm[:8]), 8
    while at < len(wasm):
        section = wasm[at]
        size, shift, end = 0, 0, at + 1
        while True:
            b = wasm[end]
            size |= (b & 0x7F) << shift
            end, shift = end + 1, shift + 7
            if not b & 0x80:
                break
        out += (b"".join(sections.get(section, [])) if section else b"") + wasm[at:end + size]
        at = end + size
    return bytes(out + b"".join(sections.get(0, [])))


PRODUCERS = custom_section("producers", b"\x02" + b"\x08language\x01\x03C11\x00"
                           + b"\x0cprocessed-by\x01\x05clang\x0619.1.0")
TARGET_FEATURES = custom_section("target_features", b"\x03+\x0bbulk-memory+\x08sign-ext+\x0fmutable-globals")


@dataclass(frozen=True)
class Shape:
    name: str
    wat: str
    custom: tuple[tuple[int, bytes], ...] = ()  # (before section id, custom section) pairs

    def wasm(self) -> bytes:
        sections: dict[int, list[bytes]] = {}
        for before, section in self.custom:
            sections.setdefault(before, []).append(section)
        return with_custom_sections(wasmtime.wat2wasm(self.wat), sections)


# C, C++, Nim, D, Odin through clang/LLVM: start and update, a shadow stack in a mutable global (tracef's
# arguments in a C call frame), function pointers through a table, data after the framebuffer
CLANG = Shape("clang", f"""(module
  (type $draw (func (param i32)))
  {env("rect", "text", "tracef", "blit")}
  (table 3 3 funcref)
  (elem (i32.const 1) $square $label)
  (global $__stack_pointer (mut i32) (i32.const 14752))
  (export "start" (func $start)) (export "update" (func $update))
  (data (i32.const 6560) "clang %d %s %c\\00")
  (data (i32.const 6600) "cc\\00")
  (data (i32.const 6620) "\\ff\\81\\bd\\a5\\a5\\bd\\81\\ff")
  (func $square (param $i i32)
    (call $rect (i32.mul (local.get $i) (i32.const 12)) (i32.const 20) (i32.const 10) (i32.const 10)))
  (func $label (param $i i32)
    (call $text (i32.const 6600) (i32.const 4) (i32.add (i32.const 40) (i32.mul (local.get $i) (i32.const 8)))))
  (func $start {log_entry(3)} (i32.store16 (i32.const 0x14) (i32.const 0x0342)))
  (func $update (local $sp i32) (local $i i32)
    (global.set $__stack_pointer (local.tee $sp (i32.sub (global.get $__stack_pointer) (i32.const 16))))
    (i32.store (local.get $sp) (i32.load (i32.const 0x2100)))
    (i32.store offset=4 (local.get $sp) (i32.const 6600))
    (i32.store offset=8 (local.get $sp) (i32.const 0x263a))
    (call $tracef (i32.const 6560) (local.get $sp))
    (global.set $__stack_pointer (i32.add (local.get $sp) (i32.const 16)))
    (i32.store (i32.const 0x2100) (i32.add (i32.load (i32.const 0x2100)) (i32.const 1)))
    (loop $each
      (call_indirect (type $draw) (local.get $i) (i32.add (i32.and (local.get $i) (i32.const 1)) (i32.const 1)))
      (br_if $each (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 6))))
    (call $blit (i32.const 6620) (i32.const 100) (i32.const 100) (i32.const 8) (i32.const 8) (i32.const 0))))""",
              custom=((1, custom_section("sourceMappingURL", b"\x0dcart.wasm.map")),
                      (7, custom_section("external_debug_info", b"\x0acart.debug")), (0, PRODUCERS), (0, TARGET_FEATURES)))

# Rust (wasm32-unknown-unknown, LLVM 19 defaults): the stack first, __data_end and __heap_base exported,
# statics zeroed with memory.fill and copied from a passive segment, multi-value returns, sign-ext,
# saturating float-to-int, a tail call, reference-typed table access, byte strings through textUtf8
RUST = Shape("rust", f"""(module
  {env("rect", "textUtf8", "traceUtf8", "tone", "diskw", "diskr")}
  (table $fns 2 funcref)
  (elem (table $fns) (i32.const 0) func $pos $pos)
  (global $__stack_pointer (mut i32) (i32.const 14752))
  (global (export "__data_end") i32 (i32.const 20000))
  (global (export "__heap_base") i32 (i32.const 20016))
  (data $init "\\05\\00\\00\\00\\fa\\ff\\ff\\ff")
  (data (i32.const 20000) "Rust \\e2\\9c\\93 \\80!")
  (data (i32.const 20100) "bad \\ff\\fe \\c0\\af \\ed\\a0\\80 \\f0\\9f\\98A \\f4\\90\\80\\80 \\e2\\82")
  (export "start" (func $start)) (export "update" (func $update))
  (func $start
    {log_entry(3)}
    (memory.fill (i32.const 0x3000) (i32.const 0) (i32.const 256))
    (memory.init $init (i32.const 0x3000) (i32.const 0) (i32.const 8))
    (data.drop $init)
    (i32.store (i32.const 0x3010) (call $diskr (i32.const 0x3020) (i32.const 4))))
  (func $pos (param $t i32) (result i32 i32)
    (i32.rem_u (i32.mul (local.get $t) (i32.const 3)) (i32.const 150))
    (i32.add (i32.const 40) (i32.extend8_s (i32.load8_u (i32.const 0x3004)))))
  (func $step (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (return_call $step (i32.sub (local.get $n) (i32.const 1))))))
  (func $update (local $t i32)
    (local.set $t (i32.add (i32.load (i32.const 0x3000)) (call $step (i32.const 1000))))
    (i32.store (i32.const 0x3000) (i32.add (local.get $t) (i32.const 1)))
    (i32.store (i32.const 0x3008) (i32.trunc_sat_f32_s (f32.mul (f32.convert_i32_s (local.get $t)) (f32.const 1e30))))
    (i32.store (i32.const 0x300c) (ref.is_null (table.get $fns (i32.const 1))))
    (call_indirect $fns (param i32) (result i32 i32) (local.get $t) (i32.const 0))
    (i32.const 8) (i32.const 8) (call $rect)
    (call $textUtf8 (i32.const 20000) (i32.const 11) (i32.const 0) (i32.const 0))
    (call $traceUtf8 (i32.const 20100) (i32.const 26))
    (if (i32.eqz (i32.and (local.get $t) (i32.const 15)))
      (then (call $tone (i32.or (i32.const 262) (i32.shl (i32.const 523) (i32.const 16))) (i32.const 0x0a0a0a0a)
                        (i32.const 0x5a32) (i32.const 0x19))
            (drop (call $diskw (i32.const 0x3000) (i32.const 4)))))))""",
             custom=((0, custom_section("producers", b"\x01\x0cprocessed-by\x01\x05rustc\x061.85.0")),))

# AssemblyScript (--importMemory, no maximum, --exportStart _start): the imported memory re-exported,
# statics in mutable globals (f64, i64, the stub runtime's heap offset) set up once by _start, UTF-16
# strings through textUtf16 and traceUtf16 (an odd byte length too)
ASSEMBLYSCRIPT = Shape("assemblyscript", f"""(module
  (import "env" "memory" (memory $0 1))
  (import "env" "textUtf16" (func $textUtf16 {SIGNATURES["textUtf16"]}))
  (import "env" "traceUtf16" (func $traceUtf16 {SIGNATURES["traceUtf16"]}))
  (import "env" "oval" (func $oval {SIGNATURES["oval"]}))
  (import "env" "line" (func $line {SIGNATURES["line"]}))
  (global $offset (mut i32) (i32.const 0))
  (global $x (mut f64) (f64.const 0))
  (global $n (mut i64) (i64.const 0))
  (global $started (mut i32) (i32.const 0))
  (global $speed f32 (f32.const 0.75))
  (export "memory" (memory $0))
  (export "_start" (func $start))
  (export "update" (func $update))
  (data (i32.const 0x3000) "H\\00i\\00 \\00\\86\\00\\3d\\d8\\00\\de!\\00")
  (func $start
    {log_entry(1)}
    (if (global.get $started) (then (return)))
    (global.set $started (i32.const 1))
    (global.set $offset (i32.const 0x4000))
    (global.set $x (f64.const 10.5)))
  (func $update
    (global.set $x (f64.add (global.get $x) (f64.promote_f32 (global.get $speed))))
    (global.set $n (i64.add (global.get $n) (i64.extend_i32_u (i32.load8_u (i32.const 0x16)))))
    (global.set $offset (i32.add (global.get $offset) (i32.const 16)))
    (i64.store (i32.const 0x3100) (global.get $n))
    (call $oval (i32.rem_s (i32.trunc_f64_s (global.get $x)) (i32.const 160)) (i32.const 60) (i32.const 21) (i32.const 13))
    (call $line (i32.const 159) (i32.const 159) (i32.trunc_f64_s (global.get $x)) (i32.const 0))
    (call $textUtf16 (i32.const 0x3000) (i32.const 14) (i32.const 2) (i32.const 100))
    (call $textUtf16 (i32.const 0x3000) (i32.const 7) (i32.const 2) (i32.const 110))
    (call $textUtf16 (i32.const 0x3001) (i32.const 6) (i32.const 2) (i32.const 120))
    (call $traceUtf16 (i32.const 0x3000) (i32.const 11))))""")

# TinyGo (-target=wasm4): the stack first, the Go runtime set up by _initialize (which runs main), no
# start, malloc and free exported, an atlas through blitSub; update plays every tone flag combination once
TINYGO = Shape("tinygo", f"""(module
  {env("blitSub", "hline", "vline", "tone")}
  (global $__stack_pointer (mut i32) (i32.const 14752))
  (global $heap (mut i32) (i32.const 0))
  (export "_initialize" (func $initialize)) (export "update" (func $update))
  (export "malloc" (func $malloc)) (export "free" (func $free))
  (data (i32.const 14752) "\\1b\\e4\\1b\\e4\\1b\\e4\\1b\\e4\\1b\\e4\\1b\\e4\\1b\\e4\\1b\\e4\\e4\\1b\\e4\\1b\\e4\\1b\\e4\\1b")
  (func $initialize {log_entry(2)} (global.set $heap (i32.const 0x8000)))
  (func $malloc (param $n i32) (result i32)
    (global.get $heap) (global.set $heap (i32.add (global.get $heap) (local.get $n))))
  (func $free (param i32))
  (func $update (local $f i32) (local $t i32)
    (local.set $t (i32.load (i32.const 0x3000)))
    (i32.store (i32.const 0x3000) (i32.add (local.get $t) (i32.const 1)))
    (i32.store (i32.const 0x3004) (call $malloc (i32.const 24)))
    (call $blitSub (i32.const 14752) (i32.const -1) (i32.const 30) (i32.const 7) (i32.const 3)
                   (i32.const 5) (i32.const 1) (i32.const 13) (i32.const 0x0f))
    (call $hline (i32.const -20) (i32.const 150) (i32.const 500))
    (call $vline (i32.const 150) (i32.const 2147483000) (i32.const 2147483000))
    (if (i32.eq (local.get $t) (i32.const 1))
      (then (loop $each
        (call $tone (i32.add (i32.const 200) (local.get $f)) (i32.or (i32.shl (local.get $f) (i32.const 24)) (i32.const 3))
                    (i32.or (i32.shl (local.get $f) (i32.const 8)) (i32.const 40)) (local.get $f))
        (br_if $each (i32.lt_u (local.tee $f (i32.add (local.get $f) (i32.const 1))) (i32.const 128))))))))""")

# Hand-written WAT: the memory imported in its short form, a wasm start function that runs while the
# cart is instantiated (it sets the palette, draws and traces), and neither start nor update exported
RAW = Shape("raw", """(module
  (memory (import "env" "memory") 1)
  (import "env" "hline" (func $hline (param i32 i32 i32)))
  (import "env" "trace" (func $trace (param i32)))
  (data (i32.const 0x3000) "booted \\ff\\80\\00")
  (start $boot)
  (func $boot
    (i32.store (i32.const 4) (i32.const 0xff0000))
    (call $hline (i32.const 0) (i32.const 0) (i32.const 160))
    (i32.store (i32.const 0x2100) (i32.load (i32.const 0xa0)))
    (call $trace (i32.const 0x3000))))""")

# A cart whose update is the env.tone it imports, re-exported: WASM-4 calls it with no arguments, so
# every tick plays tone(0, 0, 0, 0); and whose start is env.hline, drawing nothing
REEXPORT = Shape("reexport", """(module
  (import "env" "memory" (memory 1 1))
  (import "env" "tone" (func $tone (param i32 i32 i32 i32)))
  (import "env" "hline" (func $hline (param i32 i32 i32)))
  (export "update" (func $tone)) (export "start" (func $hline)))""")


def whole_memory_image() -> bytes:
    """64 KiB for one data segment at 0: a palette, DRAW_COLORS, PRESERVE_FRAMEBUFFER and a framebuffer
    of diagonal stripes, so the first frame shows the segment's own picture."""
    image = bytearray(65536)
    image[4:20] = b"".join(c.to_bytes(4, "little") for c in (0x101010, 0x00FF00, 0x0000FF, 0xFFFFFF))
    image[0x14:0x16] = (0x1234).to_bytes(2, "little")
    image[0x1F] = 1  # SYSTEM_FLAGS: PRESERVE_FRAMEBUFFER
    for y in range(160):
        for x in range(160):
            image[0xA0 + y * 40 + x // 4] |= ((x + y) // 8 % 4) << (2 * (x % 4))
    image[0x8000:0x8004] = b"tail"
    image[0xFFFF] = 0x5A
    return bytes(image)


WHOLE_MEMORY = Shape("whole-memory", f"""(module (import "env" "memory" (memory 1 1))
  (data (i32.const 0) "{hexstr(whole_memory_image())}"))""")

# Memories a cart may import: no minimum, a larger maximum, none at all (WASM-4's page satisfies each)
MEMORY_FORMS = tuple(Shape(f"memory-{i}", f"""(module (import "env" "memory" (memory {limits}))
  (func (export "update") (i32.store (i32.const 0x2000) (i32.add (i32.load (i32.const 0x2000)) (i32.const 1)))))""")
                     for i, limits in enumerate(("0", "0 1", "1 2", "1 65536")))

RUNS = (CLANG, RUST, ASSEMBLYSCRIPT, TINYGO, RAW, REEXPORT, WHOLE_MEMORY, *MEMORY_FORMS)

# Shapes no WASM-4 runtime can link, and what the typed error must name
REFUSED = {
    "wasi": (f"""(module {env("trace")}
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      (func (export "update")))""", ("wasi_snapshot_preview1.fd_write (func)", "wasi_snapshot_preview1.proc_exit (func)")),
    "stack-pointer": (f"""(module {env("rect")} (import "env" "__stack_pointer" (global (mut i32)))
      (func (export "update")))""", ("env.__stack_pointer (global)",)),
    "table": (f"""(module {env("rect")} (import "env" "__indirect_function_table" (table 1 funcref))
      (func (export "update")))""", ("env.__indirect_function_table (table)",)),
    "signature": ("""(module (import "env" "memory" (memory 1 1)) (import "env" "diskw" (func (param i32 i32)))
      (import "env" "rect" (func (param i32 i32 i32 i32))) (import "env" "trace" (func (param i32) (result i32)))
      (func (export "update")))""", ("env.diskw as (param i32 i32), WASM-4's is (param i32 i32) (result i32); "
                                    "env.trace as (param i32) (result i32), WASM-4's is (param i32)",)),
    "own-memory": ("""(module (import "env" "rect" (func (param i32 i32 i32 i32))) (memory (export "memory") 1 1)
      (func (export "update")))""", ("defines its own memory",)),
}
# A data segment past the end of the one page: instantiating traps, on every host
PAST_THE_END = """(module (import "env" "memory" (memory 1)) (data (i32.const 0xfff0) "0123456789abcdef0123"))"""

# Drawing, tone and disk arguments at their edges (see test_shapes.py for what each should draw)
SPRITES = 0x3000  # a 5x3 2bpp sprite (4 bytes), a 5x3 1bpp sprite (2 bytes), a 13x6 2bpp atlas (20 bytes)
EDGES = Shape("edges", f"""(module
  {env("blit", "blitSub", "rect", "oval", "line", "textUtf16", "diskw", "diskr", "trace", "traceUtf16", "tracef")}
  (data (i32.const 0x14) "\\32\\14")
  (data (i32.const {SPRITES}) "\\1b\\e4\\6c\\c9" "\\b5\\6b"
        "\\00\\1b\\e4\\93\\39\\c6\\6c\\1b\\e4\\93" "\\39\\c6\\6c\\1b\\e4\\93\\39\\c6\\6c\\ff")
  (data (i32.const 0x3100) "%c%d|%x|%s|%f|%\\00" "\\e9\\00\\00\\00" "\\00\\00\\00\\80" "\\ff\\ff\\ff\\ff" "\\00\\31\\00\\00"
        "\\00\\00\\00\\00\\00\\00\\f0\\bf")
  (data (i32.const 0x3200) "\\ff\\fe\\80 trace\\00")
  (data (i32.const 0x3300) "A\\00B\\00")
  (func (export "update") (local $f i32)
    (loop $flags
      (call $blit (i32.const {SPRITES}) (i32.add (i32.const -2) (i32.mul (i32.rem_u (local.get $f) (i32.const 8)) (i32.const 9)))
        (i32.const -1) (i32.const 5) (i32.const 3)
        (i32.or (i32.shl (local.get $f) (i32.const 1)) (i32.or (i32.const 1) (i32.const 0xfffffff0))))
      (call $blit (i32.const {SPRITES + 4}) (i32.add (i32.const 80) (i32.mul (local.get $f) (i32.const 6)))
        (i32.const 24) (i32.const 5) (i32.const 3) (i32.shl (local.get $f) (i32.const 1)))
      (br_if $flags (i32.lt_u (local.tee $f (i32.add (local.get $f) (i32.const 1))) (i32.const 8))))
    (call $blitSub (i32.const {SPRITES + 6}) (i32.const 154) (i32.const 40) (i32.const 9) (i32.const 4)
      (i32.const 3) (i32.const 1) (i32.const 13) (i32.const 9))
    (call $blitSub (i32.const {SPRITES + 6}) (i32.const 20) (i32.const 40) (i32.const 9) (i32.const 4)
      (i32.const 3) (i32.const 1) (i32.const 13) (i32.const 7))
    (call $rect (i32.const -5) (i32.const 60) (i32.const 0x7fffffff) (i32.const 4))
    (call $rect (i32.const 70) (i32.const 70) (i32.const -10) (i32.const -10))
    (call $oval (i32.const 30) (i32.const 80) (i32.const 0) (i32.const 0))
    (call $oval (i32.const 40) (i32.const 80) (i32.const -1) (i32.const 7))
    (call $oval (i32.const 50) (i32.const 80) (i32.const 9) (i32.const 0))
    (call $oval (i32.const 60) (i32.const 80) (i32.const 1) (i32.const 1))
    (call $line (i32.const -2147483648) (i32.const 100) (i32.const 2147483647) (i32.const 101))
    (call $line (i32.const 5) (i32.const -1000000) (i32.const 6) (i32.const 1000000))
    (call $textUtf16 (i32.const 0x3300) (i32.const -1) (i32.const 0) (i32.const 140))
    (i32.store (i32.const 0x2000) (call $diskw (i32.const 0xfe00) (i32.const 0x7fffffff)))
    (i32.store (i32.const 0x2004) (call $diskr (i32.const 0x2010) (i32.const 3)))
    (i32.store (i32.const 0x2008) (call $diskr (i32.const 0xfffe) (i32.const 1024)))
    (call $tracef (i32.const 0x3100) (i32.const 0x3110))
    (call $trace (i32.const 0x3200))
    (call $traceUtf16 (i32.const 0x3300) (i32.const -1))))""")


EDGE_VALUES = (0, 1, -1, 159, 160, 161, 0x7FFFFFFF, -0x80000000, 0xFFFF, 0x10000, 0xFFFE, 1024, 1025, 0x19A0, 0xA0, 8)


def fuzz_wat(calls: int, seed: int = 0x2545F491) -> str:
    """A cart whose update makes ``calls`` calls of WASM-4's functions a tick, each chosen and given
    arguments by an xorshift generator (from ``seed``) in a mutable global: a quarter each small numbers
    around the screen, edge values, addresses in memory (sprites over the framebuffer, strings through
    memory's end) and any i32; an oval's sizes stay small (WASM-4's walk is as long as its sizes)."""
    names = list(SIGNATURES)
    cases = []
    for name in names:
        params = SIGNATURES[name].count("i32") - ("result" in SIGNATURES[name])
        args = "".join("(i32.sub (i32.and (call $rand) (i32.const 63)) (i32.const 8))" if name == "oval" and i >= 2
                       else "(call $arg)" for i in range(params))
        call = f"(call ${name} {args})"
        cases.append(f"(i32.store (i32.const 0x4100) (i32.add (i32.load (i32.const 0x4100)) {call}))"
                     if "result" in SIGNATURES[name] else call)
    blocks = "".join(f"(block $c{i} " for i in reversed(range(len(names))))
    table = " ".join(f"$c{i}" for i in range(len(names)))
    # case i runs after block $ci ends (br_table's target i), and returns out of the blocks around it
    body = blocks + f"(br_table {table} $c0 (local.get $k)))" + "".join(f"{case} (return))" for case in cases[:-1]) + cases[-1]
    edges = hexstr(b"".join((v & 0xFFFFFFFF).to_bytes(4, "little") for v in EDGE_VALUES))
    return f"""(module {env(*names)}
  (global $seed (mut i32) (i32.const {seed}))
  (data (i32.const 0x4000) "{edges}")
  (func $rand (result i32) (local $x i32)
    (local.set $x (i32.xor (global.get $seed) (i32.shl (global.get $seed) (i32.const 13))))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
    (global.set $seed (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
    (global.get $seed))
  (func $arg (result i32) (local $r i32)
    (local.set $r (call $rand))
    (block $any (block $address (block $edge (block $small
      (br_table $small $edge $address $any (i32.and (local.get $r) (i32.const 3))))
      (return (i32.sub (i32.rem_u (i32.shr_u (local.get $r) (i32.const 2)) (i32.const 200)) (i32.const 20))))
      (return (i32.load (i32.add (i32.const 0x4000) (i32.shl (i32.and (i32.shr_u (local.get $r) (i32.const 2))
                                                                      (i32.const 15)) (i32.const 2))))))
      (return (i32.and (i32.shr_u (local.get $r) (i32.const 2)) (i32.const 0xffff))))
    (call $rand))
  (func $call (param $k i32) {body})
  (func (export "update") (local $n i32)
    (loop $each
      (call $call (i32.rem_u (call $rand) (i32.const {len(names)})))
      (br_if $each (i32.lt_u (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const {calls}))))))"""


FUZZ = Shape("fuzz", fuzz_wat(100))
