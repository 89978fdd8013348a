// Parses and checks frames with the browser client's own GpuStream and GpuChecker in node, with its
// runs (GpuRun) kept or taken apart into their single commands; prints what each case ends in as JSON.
//   node gpurun_cases.mjs CASES.json WIDTH HEIGHT
// CASES.json: [{name, frames: [base64], split, replay}]; out: [{name, entries, error, message, drew, uniform,
// calls, bundled}], `entries` being the last frame's parsed commands: ["run", codes, rows] for a run, ["one", op
// code] otherwise, `uniform` whether each of its runs is (RunColumns.uniform). With `replay`, each frame that passes
// is also replayed by GpuReplay on a device that records what its passes are given: `calls`, the last frame's
// pass calls ([method, ...arguments], a WebGPU object as the name of the call that made it and its number; a
// render bundle executed as ["executeBundles", its calls]), and `bundled`, the runs replayed from a bundle in all.

import { readFileSync } from "node:fs";

import { Frame } from "../../layerw/web/commands.js";
import { LayerWError } from "../../layerw/web/errors.js";
import { GpuChecker } from "../../layerw/web/gpucheck.js";
import { GpuReplay } from "../../layerw/web/gpureplay.js";
import { GpuRun } from "../../layerw/web/gpustream.js";

const PASS_CALLS = new Set(["setPipeline", "setBindGroup", "setVertexBuffer", "setIndexBuffer", "draw", "drawIndexed",
  "dispatchWorkgroups", "end"]);

/** A WebGPU device whose objects are named by the call that made them; every call of a pass goes to `log`,
 *  a render bundle's to its own list, which executeBundles puts in `log` as ["executeBundles", calls]. */
function recordingDevice(log) {
  let made = 0;
  const named = new WeakMap();
  const object = (name, props = {}, sink = log) => {
    const target = { ...props };
    const proxy = new Proxy(target, {
      get(t, k) {
        if (k in t || typeof k === "symbol" || k === "then") return t[k];
        return (...args) => {
          if (PASS_CALLS.has(k)) sink.push([k, ...args.map((a) => (named.has(a) ? named.get(a) : a))]);
          if (k === "createRenderBundleEncoder") { // not numbered: a replay that records bundles makes what one that does not makes
            /** @type {any[]} */ const calls = [];
            return object("bundle encoder", { finish: () => ({ calls }) }, calls);
          }
          if (k === "executeBundles") {
            for (const bundle of args[0]) sink.push(["executeBundles", bundle.calls]);
            return undefined;
          }
          if (k === "createBuffer") return object(`buffer ${++made}`, { size: args[0].size, destroy() {} });
          if (k === "createTexture") return object(`texture ${++made}`, { format: args[0].format, destroy() {} });
          if (k === "createShaderModule") return object(`shader ${++made}`, { getCompilationInfo: async () => ({ messages: [] }) });
          if (k === "popErrorScope") return Promise.resolve(null);
          // numbered where it makes a WebGPU object, so that a pass's calls (fewer with bundles) number nothing
          return object(k.startsWith("create") || k === "getBindGroupLayout" ? `${k} ${++made}` : k);
        };
      },
    });
    named.set(proxy, name);
    return proxy;
  };
  return object("device", { queue: object("queue") });
}

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
  /** @type {any[]} */ const calls = [];
  const replay = c.replay ? new GpuReplay(recordingDevice(calls), "frame target", "rgba8unorm", Number(width), Number(height)) : null;
  const result = { name: c.name, entries: [], error: null, message: "", drew: false, uniform: [], calls, bundled: 0 };
  for (const text of c.frames) {
    try {
      const stream = frame.parse(new Uint8Array(Buffer.from(text, "base64"))).gpu;
      result.entries = stream.commands.slice(0, stream.length).map((cmd) => (cmd instanceof GpuRun ? ["run", cmd.codes, cmd.rows]
        : ["one", typeof cmd === "number" ? stream.bits[cmd >> 2] : cmd.code]));
      result.uniform = stream.commands.slice(0, stream.length).filter((cmd) => cmd instanceof GpuRun)
        .map((run) => run.columns.uniform);
      if (c.split) split(stream);
      if (replay !== null) {
        calls.length = 0;
        result.drew = replay.run(stream);
        replay.takeEncoder();
        replay.endFrame();
        result.bundled = replay.bundleHits;
      } else {
        result.drew = checker.check(stream);
      }
    } catch (e) {
      if (!(e instanceof LayerWError)) throw e;
      Object.assign(result, { error: e.name, message: e.message, drew: false });
      break;
    }
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
