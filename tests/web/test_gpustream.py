"""The browser client's GPU stream (gpustream.js, run in node): the records every frame's passes hold
are read by readers of their own (object literals of one shape), which give what the general
reader gives, field for field, on any words."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.web.test_gpucheck import node

WEB = Path(__file__).parents[2] / "layerw" / "web"
SCRIPT = """
import { GPU_STRUCTS } from "%(web)s/abi.js";
import { GpuStream, LAYOUTS, Layout } from "%(web)s/gpustream.js";
const own = Object.values(LAYOUTS).filter((l) => Object.hasOwn(l, "read"));
const words = new Uint32Array(64);
for (let i = 0; i < words.length; i++) words[i] = (i * 2654435761) >>> 0; // floats of every kind, NaNs among them
const stream = new GpuStream();
stream.reset(new Uint8Array(words.buffer), words, new Float32Array(words.buffer));
const out = own.map((l) => [l.name, Object.keys(GPU_STRUCTS[l.name].fields), [1, 5].map((w) => [
  JSON.stringify(Object.entries(l.read(stream, w)), (k, v) => (Number.isNaN(v) ? "NaN" : v)),
  JSON.stringify(Object.entries(Layout.prototype.read.call(l, stream, w)), (k, v) => (Number.isNaN(v) ? "NaN" : v))])]);
console.log(JSON.stringify(out));
"""


def test_own_readers_read_what_the_general_reader_reads() -> None:
    done = subprocess.run([node(), "--input-type=module", "-e", SCRIPT % {"web": WEB.as_posix()}],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    readers = json.loads(done.stdout)
    assert {name for name, _, _ in readers} == {"lw_gpu_pass_rec", "lw_gpu_color_attachment", "lw_gpu_end_pass_rec"}
    for name, fields, reads in readers:
        for own, general in reads:
            assert own == general, name
            assert [k for k, _ in json.loads(own)] == fields, name


REUSE = """
import { Frame } from "%(web)s/commands.js";
import { GpuReplay } from "%(web)s/gpureplay.js";
const lists = JSON.parse(process.argv[1]).map((t) => new Uint8Array(Buffer.from(t, "base64")));
// A device whose every call gives an object that takes any call; its encoders' render passes keep their descriptors
const descs = [];
const any = () => new Proxy(function () {}, {
  get: (t, k) => (k === "then" ? undefined : k === "size" || k === "format" ? "" : any()),
  apply: () => any(),
});
const encoder = new Proxy({}, { get: (t, k) => (k === "beginRenderPass" ? (d) => { descs.push(d); return any(); } : any()) });
const device = new Proxy({}, { get: (t, k) => {
  if (k === "createCommandEncoder") return () => encoder;
  if (k === "popErrorScope") return () => Promise.resolve(null);
  if (k === "createShaderModule") return () => ({ getCompilationInfo: async () => ({ messages: [] }) });
  return k === "then" ? undefined : any();
} });
const frame = new Frame();
const replay = new GpuReplay(device, "frame target", "rgba8unorm", %(w)d, %(h)d);
const out = [];
let last = [];
for (const bytes of lists) {
  const stream = frame.parse(bytes).gpu;
  const commands = stream.commands.slice(0, stream.length).filter((c) => typeof c !== "number");
  const before = descs.length;
  replay.run(stream);
  replay.takeEncoder();
  replay.endFrame();
  out.push({
    names: commands.map((c) => c.name),
    kept: commands.map((c, i) => last[i] === c), // the same object as the last frame's command at that index
    clear: commands.filter((c) => c.name === "BEGIN_PASS").map((c) => c.items[0].clear),
    data: commands.filter((c) => c.name === "WRITE_BUFFER").map((c) => Array.from(c.data)),
    passes: descs.length - before,
    sameDesc: descs.slice(before).map((d) => descs.indexOf(d) < before), // begun with a descriptor given before
    clearValue: descs.slice(before).map((d) => d.colorAttachments[0].clearValue),
  });
  last = commands;
}
console.log(JSON.stringify(out));
"""


def test_a_frames_passes_parsed_from_the_same_bytes_are_kept_and_begun_with_the_same_descriptor() -> None:
    """A command parsed from the same bytes at the same byte as the last frame's at its index is that
    command again (a write never: its data is a view of its own list), and a render pass whose
    BEGIN_PASS is kept, with no resource made or destroyed since, begins with the last frame's
    descriptor; other bytes, another byte or a resource changed since (even after the pass, in the
    frame that made the descriptor) make them anew."""
    import base64

    import numpy as np

    from layerw.gfx.gpuwriter import GpuWriter
    from tests.gfx.gpuscenes import BUFFER, H, U, W, draw_triangle, triangle

    def frame(clear: float = 0.0, write: bytes | None = None, destroy: bool = False) -> bytes:
        w = GpuWriter()
        if write is not None:
            w.write_buffer(9, 0, write)
        draw_triangle(w, (clear, 0.0, 0.0, 1.0))
        if destroy:
            w.destroy(BUFFER, 8)
        return w.getvalue()

    declared = triangle()
    declared.buffer(8, 256, U["COPY_DST"])  # destroyed by a frame
    declared.buffer(9, 256, U["COPY_DST"])  # written by frames
    one, two = np.float32([1, 2]).tobytes(), np.float32([3, 4]).tobytes()
    lists = [declared.getvalue(), frame(), frame(), frame(0.5), frame(0.5), frame(0.5, destroy=True), frame(0.5),
             frame(write=one), frame(write=two)]
    done = subprocess.run([node(), "--input-type=module", "-e", REUSE % {"web": WEB.as_posix(), "w": W, "h": H},
                           json.dumps([base64.b64encode(x).decode() for x in lists])],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    frames = json.loads(done.stdout)
    assert [f["kept"] for f in frames[1:7]] == [
        [False, False], [True, True], [False, True],  # the clear colour changed: BEGIN_PASS is parsed again
        [True, True], [True, True, False], [True, True]]
    assert [f["sameDesc"] for f in frames[1:7]] == [
        [False], [True], [False], [True],
        [True],  # the same BEGIN_PASS, begun before the frame destroys a buffer
        [False]]  # the same BEGIN_PASS, but a resource was destroyed since its descriptor was made
    assert frames[3]["clear"] == [[0.5, 0, 0, 1]] and frames[3]["clearValue"] == [[0.5, 0, 0, 1]]
    assert frames[7]["names"][0] == frames[8]["names"][0] == "WRITE_BUFFER"
    assert frames[8]["kept"][0] is False  # a write is parsed anew each frame: its data is this list's
    assert frames[7]["data"] == [list(one)] and frames[8]["data"] == [list(two)]
