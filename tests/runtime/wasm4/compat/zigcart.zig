// A cart written as WASM-4's Zig template writes one (built by tests/runtime/wasm4/test_compat.py with the
// project's zig and the template's flags): extern env functions, byte strings ("\x80": the X button
// glyph) through textUtf8, the registers as pointers, the disk counting runs, a tone every half second.
extern "env" fn textUtf8(ptr: [*]const u8, len: usize, x: i32, y: i32) void;
extern "env" fn rect(x: i32, y: i32, w: u32, h: u32) void;
extern "env" fn blit(ptr: [*]const u8, x: i32, y: i32, w: u32, h: u32, flags: u32) void;
extern "env" fn tone(freq: u32, dur: u32, vol: u32, flags: u32) void;
extern "env" fn diskw(ptr: [*]const u8, size: u32) u32;
extern "env" fn diskr(ptr: [*]u8, size: u32) u32;
extern "env" fn traceUtf8(ptr: [*]const u8, len: usize) void;

const DRAW_COLORS: *u16 = @ptrFromInt(0x14);
const GAMEPAD1: *const u8 = @ptrFromInt(0x16);
const MOUSE_X: *const i16 = @ptrFromInt(0x1a);
const PALETTE: *[4]u32 = @ptrFromInt(0x04);

const smiley = [8]u8{ 0b11000011, 0b10000001, 0b00100100, 0b00100100, 0b00000000, 0b00100100, 0b10011001, 0b11000011 };
var frame: u32 = 0;
var saved: [16]u8 = undefined;

fn text(s: []const u8, x: i32, y: i32) void {
    textUtf8(s.ptr, s.len, x, y);
}

export fn start() void {
    PALETTE[0] = 0xfff6d3;
    const n = diskr(&saved, saved.len);
    saved[0] +%= 1;
    _ = diskw(&saved, if (n == 0) 1 else n);
}

export fn update() void {
    frame += 1;
    DRAW_COLORS.* = 0x43;
    text("Press \x80 to blink\n\x84\x85\x86\x87 move", 4, 4);
    const g = GAMEPAD1.*;
    DRAW_COLORS.* = 0x2;
    if (g & 1 != 0) rect(40, 40, 20, 20);
    DRAW_COLORS.* = 0x4320;
    blit(&smiley, 76, 76, 8, 8, 0);
    if (frame % 30 == 0) tone(262 | (523 << 16), 60, 50, 0 | (2 << 2));
    const mx = MOUSE_X.*;
    const msg = if (mx == 0x7fff) "mouse away" else "mouse here";
    traceUtf8(msg.ptr, msg.len);
}
