// Parses and checks frames with the browser client's own GpuStream and GpuChecker in node, with its
// runs (GpuRun) kept or taken apart into their single commands; prints what each case ends in as JSON.
//   node gpurun_cases.mjs CASES.json WIDTH HEIGHT
// CASES.json: [{name, frames: [base64], split}]; out: [{name, entries, error, message, drew}], `entries`
// being the last frame's parsed commands: ["run", codes, rows] for a run, ["one", op code] otherwise.

import { readFileSync } from "node:fs";

import { Frame } from "../../layerw/web/commands.js";
import { LayerWError } from "../../layerw/web/errors.js";
import { GpuChecker } from "../../layerw/web/gpucheck.js";
import { GpuRun } from "../../layerw/web/gpustream.js";

/** Replace every run in `stream` by its single commands (their byte offsets), in order. */
function split(stream) {
  const single = [];
  for (let k = 0; k < stream.length; k++) {
    const cmd = stream.commands[k];
    if (!(cmd instanceof GpuRun)) single.push(cmd);
    else for (let row = 0; row < cmd.rows; row++) for (let s = 0; s < cmd.codes.length; s++) single.push(cmd.commandAt(row, s));
  }
  single.forEach((cmd, k) => { stream.commands[k] = cmd; });
  stream.count = single.length;
}

const [path, width, height] = process.argv.slice(2);
const results = [];
for (const c of JSON.parse(readFileSync(path, "utf8"))) {
  const checker = new GpuChecker(Number(width), Number(height));
  const frame = new Frame();
  const result = { name: c.name, entries: [], error: null, message: "", drew: false };
  for (const text of c.frames) {
    try {
      const stream = frame.parse(new Uint8Array(Buffer.from(text, "base64"))).gpu;
      result.entries = stream.commands.slice(0, stream.length).map((cmd) => (cmd instanceof GpuRun ? ["run", cmd.codes, cmd.rows]
        : ["one", typeof cmd === "number" ? stream.bits[cmd >> 2] : cmd.code]));
      if (c.split) split(stream);
      result.drew = checker.check(stream);
    } catch (e) {
      if (!(e instanceof LayerWError)) throw e;
      Object.assign(result, { error: e.name, message: e.message, drew: false });
      break;
    }
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
