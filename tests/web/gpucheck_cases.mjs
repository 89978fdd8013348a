// Runs the GPU stream cases (tests/gfx/gpucases.py, written as JSON) through the browser client's
// own parser and checker (layerw/web/commands.js, gpucheck.js) in node; prints each outcome as JSON.
//   node gpucheck_cases.mjs CASES.json WIDTH HEIGHT

import { readFileSync } from "node:fs";

import { Frame } from "../../layerw/web/commands.js";
import { LayerWError } from "../../layerw/web/errors.js";
import { GpuChecker } from "../../layerw/web/gpucheck.js";

const [path, width, height] = process.argv.slice(2);
const results = [];
for (const c of JSON.parse(readFileSync(path, "utf8"))) {
  const checker = new GpuChecker(Number(width), Number(height));
  const frame = new Frame();
  let result = { name: c.name, error: null, message: "", drew: false, hits: 0 };
  for (const text of c.frames) {
    const bytes = new Uint8Array(Buffer.from(text, "base64"));
    try {
      result.drew = checker.check(frame.parse(bytes).gpu);
      result.hits = checker.memo.hits; // frames that took a kept verdict (gpumemo.js)
    } catch (e) {
      if (!(e instanceof LayerWError)) throw e;
      result = { name: c.name, error: e.name, message: e.message, drew: false, hits: checker.memo.hits };
      break;
    }
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
