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
