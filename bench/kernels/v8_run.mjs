// V8 driver (node): instantiates a kernel module (or the sprites game) and times its hot loop inside
// node, like native_main.c does natively: one warm-up call (lets TurboFan tier the code up), then
// `repeats` timed calls, each printing "ns <elapsed>" (performance.now around the call) and
// "cpu_ns <elapsed>" (process.threadCpuUsage: the main thread's CPU time, which the guest runs on);
// then "checksum <result>". Usage: node v8_run.mjs MODULE.wasm ITERATIONS REPEATS [ASSETS_DIR]
// With ASSETS_DIR the module is a game: its layerw.asset_* imports read files there (as the native
// host's do), lw_init(0, 0) runs once and each call runs lw_tick ITERATIONS times.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const [path, iterationsText, repeatsText, assets] = process.argv.slice(2);
const iterations = Number(iterationsText);
const repeats = Number(repeatsText);
let memory = null;

function assetImports(dir) {
  const names = readdirSync(dir);
  const files = [];
  const text = (ptr, len) => new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, len));
  return {
    asset_request(ptr, len) {
      const name = text(ptr, len);
      if (!names.includes(name)) return -1;
      files.push(readFileSync(join(dir, name)));
      return files.length;
    },
    asset_size: (handle) => (handle >= 1 && handle <= files.length ? files[handle - 1].length : -1),
    asset_read(handle, offset, dst, len) {
      const file = files[handle - 1];
      if (!file || offset < 0 || offset > file.length) return -1;
      const n = Math.min(len, file.length - offset);
      new Uint8Array(memory.buffer, dst, n).set(file.subarray(offset, offset + n));
      return n;
    },
  };
}

const imports = assets ? { layerw: assetImports(assets) } : {};
const { instance } = await WebAssembly.instantiate(readFileSync(path), imports);
const exports = instance.exports;
memory = exports.memory;
if (exports._initialize) exports._initialize();
let run;
if (assets) {
  exports.lw_init(0, 0);
  run = (n) => { for (let i = 0; i < n; i++) exports.lw_tick(); return n; };
} else {
  run = (n) => exports.run(n);
}
let result = run(iterations);
for (let r = 0; r < repeats; r++) {
  const t0 = performance.now();
  const c0 = process.threadCpuUsage();
  result = run(iterations);
  const cpu = process.threadCpuUsage(c0);
  const elapsed = performance.now() - t0;
  console.log(`ns ${Math.round(elapsed * 1e6)}`);
  console.log(`cpu_ns ${(cpu.user + cpu.system) * 1000}`);
}
console.log(`checksum ${result}`);
