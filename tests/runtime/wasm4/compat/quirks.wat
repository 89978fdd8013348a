;; A cart written the way other toolchains write them, to run on every host and compare: WASI-style
;; entry points beside start (each logs its turn), an update with parameters and results, byte strings through textUtf8 (button glyph bytes,
;; UTF-8 that WASM-4 draws byte by byte, a NUL inside), UTF-16 with odd and cut lengths, the mouse
;; registers from the first start() on, every drawing function with negative, zero and huge
;; arguments, tone() with every flag bit, the disk with sizes past 1024 and past memory, tracef with
;; edge values, and memory.grow. Everything it sees it copies into memory, so the state hash covers it.
(module
  (import "env" "memory" (memory 1))
  (import "env" "blit" (func $blit (param i32 i32 i32 i32 i32 i32)))
  (import "env" "blitSub" (func $blitSub (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "env" "line" (func $line (param i32 i32 i32 i32)))
  (import "env" "hline" (func $hline (param i32 i32 i32)))
  (import "env" "vline" (func $vline (param i32 i32 i32)))
  (import "env" "oval" (func $oval (param i32 i32 i32 i32)))
  (import "env" "rect" (func $rect (param i32 i32 i32 i32)))
  (import "env" "text" (func $text (param i32 i32 i32)))
  (import "env" "textUtf8" (func $textUtf8 (param i32 i32 i32 i32)))
  (import "env" "textUtf16" (func $textUtf16 (param i32 i32 i32 i32)))
  (import "env" "tone" (func $tone (param i32 i32 i32 i32)))
  (import "env" "diskr" (func $diskr (param i32 i32) (result i32)))
  (import "env" "diskw" (func $diskw (param i32 i32) (result i32)))
  (import "env" "trace" (func $trace (param i32)))
  (import "env" "traceUtf8" (func $traceUtf8 (param i32 i32)))
  (import "env" "traceUtf16" (func $traceUtf16 (param i32 i32)))
  (import "env" "tracef" (func $tracef (param i32 i32)))
  (export "__indirect_function_table" (table $t))
  (table $t 1 funcref)
  (global $frame (export "frame") (mut i32) (i32.const 0))
  (global $sum (mut i64) (i64.const 0))

  (data (i32.const 0x14) "\43\00")  ;; DRAW_COLORS at load: ink palette 2 on background palette 3
  (data (i32.const 0x3000) "A\80\c3\a9!\00Z")  ;; textUtf8: 5 cells (the NUL ends it)
  (data (i32.const 0x3010) "\86\00B\00\00\d8C\00")  ;; textUtf16: an arrow, B, a lone surrogate, C
  (data (i32.const 0x3020) "x=%d %x %c %s %f %% %q %\00")
  (data (i32.const 0x3040) "\ff\ff\ff\ff" "\ff\ff\ff\7f" "\41\00\00\00" "\00\31\00\00" "\00\00\00\00\00\00\f8\7f")
  (data (i32.const 0x3060) "\81\42\24\18\18\24\42\81")  ;; an 8x8 1bpp sprite
  (data (i32.const 0x3068) "\1b\e4\1b\e4\1b\e4\1b\e4\1b\e4\1b\e4\1b\e4\1b\e4")  ;; an 8x8 2bpp sprite
  (data (i32.const 0x3100) "Hi\nthere\t\85end\r\n\00")  ;; \85: windows-1252 would trace it as an ellipsis
  (data (i32.const 0xfffe) "\41")

  ;; append byte $n to the log at 0x2000 (its length at 0x1ff0)
  (func $log (param $n i32)
    (i32.store8 (i32.add (i32.const 0x2000) (i32.load (i32.const 0x1ff0))) (local.get $n))
    (i32.store (i32.const 0x1ff0) (i32.add (i32.load (i32.const 0x1ff0)) (i32.const 1))))
  (func (export "_start") (call $log (i32.const 1)))
  (func (export "_initialize") (call $log (i32.const 2)))
  (func (export "start")
    (call $log (i32.const 3))
    (memory.copy (i32.const 0x2100) (i32.const 0x1a) (i32.const 4))  ;; the mouse before any input
    (i32.store (i32.const 0x2104) (memory.grow (i32.const 1)))  ;; -1: a cart's memory never grows
    (i32.store (i32.const 0x2108) (call $diskw (i32.const 0x3000) (i32.const -1)))  ;; 1024 kept
    (i32.store (i32.const 0x210c) (call $diskr (i32.const 0xfff0) (i32.const 2000))))  ;; cut at the end

  ;; parameters and results as some toolchains leave them: WASM-4 passes nothing (an i32 reads 0, a
  ;; float NaN) and ignores what comes back
  (func (export "update") (param $none i32) (param $nan f64) (result i32 f64)
    (i32.store (i32.const 0x2120) (local.get $none))
    (f64.store (i32.const 0x2128) (local.get $nan))
    (global.set $frame (i32.add (global.get $frame) (i32.const 1)))
    (global.set $sum (i64.add (global.get $sum) (i64.extend_i32_u (i32.load (i32.const 0x1a)))))
    (memory.copy (i32.const 0x2110) (i32.const 0x16) (i32.const 9))  ;; gamepads and mouse this tick
    ;; text: bytes, units, NULs, control characters, off every edge
    (call $textUtf8 (i32.const 0x3000) (i32.const 7) (i32.const 0) (i32.const 0))
    (call $textUtf16 (i32.const 0x3010) (i32.const 11) (i32.const 0) (i32.const 8))
    (call $textUtf16 (i32.const 0xffff) (i32.const 4) (i32.const 0) (i32.const 16))
    (call $textUtf8 (i32.const 0xfffe) (i32.const -1) (i32.const 0) (i32.const 16))
    (call $text (i32.const 0x3100) (i32.const -4) (i32.const 24))
    (call $text (i32.const 0x3100) (i32.const 150) (i32.const 155))
    ;; shapes with negative, zero and huge sizes
    (call $rect (i32.const 10) (i32.const 50) (i32.const 0) (i32.const 5))
    (call $rect (i32.const -5) (i32.const 50) (i32.const 12) (i32.const 7))
    (call $rect (i32.const 150) (i32.const 60) (i32.const -3) (i32.const 2))
    (call $oval (i32.const 20) (i32.const 50) (i32.const 1) (i32.const 9))
    (call $oval (i32.const -10) (i32.const 60) (i32.const 40) (i32.const 25))
    (call $oval (i32.const 100) (i32.const 100) (i32.const 0) (i32.const 0))
    (call $hline (i32.const -10) (i32.const 90) (i32.const 30))
    (call $hline (i32.const 155) (i32.const 91) (i32.const -1))
    (call $vline (i32.const 159) (i32.const -5) (i32.const 100))
    (call $vline (i32.const 160) (i32.const 0) (i32.const 10))
    (call $line (i32.const -100) (i32.const 95) (i32.const 300) (i32.const 130))
    (call $line (i32.const 2147483647) (i32.const -2147483648) (i32.const 0) (i32.const 0))
    (call $line (i32.const 80) (i32.const 80) (i32.const 80) (i32.const 80))
    ;; blits: every flag combination, negative coordinates, a stride and a sub-rectangle
    (call $blitflags (i32.const 0))
    (call $blitSub (i32.const 0x3060) (i32.const -3) (i32.const 140) (i32.const 4) (i32.const 4)
      (i32.const 2) (i32.const 2) (i32.const 8) (i32.const 0))
    (call $blit (i32.const 0x3060) (i32.const 156) (i32.const 156) (i32.const 8) (i32.const 8) (i32.const 15))
    ;; tone with every flag bit, a slide, the ADSR and peak fields, and a zero peak
    (if (i32.eqz (i32.rem_u (global.get $frame) (i32.const 20)))
      (then
        (call $tone (i32.const 0x01f40064) (i32.const 0x05040302) (i32.const 0x6432) (i32.const 0x7f))
        (call $tone (i32.const 60) (i32.const 10) (i32.const 0x0050) (i32.const 0x42))
        (call $tone (i32.const -1) (i32.const -1) (i32.const -1) (i32.const -1))))
    ;; tracef's conversions with edge values, and the other traces
    (call $tracef (i32.const 0x3020) (i32.const 0x3040))
    (call $tracef (i32.const 0x3020) (i32.const 0xfffc))
    (call $trace (i32.const 0xfffe))
    (call $traceUtf8 (i32.const 0x3000) (i32.const 7))
    (call $traceUtf16 (i32.const 0x3010) (i32.const 11))
    (i32.const 7) (f64.const 0.5))

  ;; 16 blits, one per flag combination, in a row of 10-pixel cells from (x0, 110)
  (func $blitflags (param $x0 i32)
    (local $f i32)
    (loop $next
      (call $blit
        (select (i32.const 0x3068) (i32.const 0x3060) (i32.and (local.get $f) (i32.const 1)))
        (i32.add (i32.const -4) (i32.mul (local.get $f) (i32.const 10))) (i32.const 110)
        (i32.const 8) (i32.const 6) (local.get $f))
      (local.set $f (i32.add (local.get $f) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $f) (i32.const 16))))))
