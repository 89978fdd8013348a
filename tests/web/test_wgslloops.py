"""The browser's loop bound (layerw/web/wgslloops.js, run in node) writes the same WGSL as the
native one, character for character, so a shader's loops end alike on both hosts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from layerw.gfx.wgslloops import bound_loops
from tests.gfx.gpuscenes import COLLECTIVE_WGSL, FILL_WGSL, NESTED_WGSL, SPIN_WGSL, TEXTURED_WGSL, TRIANGLE_WGSL
from tests.gfx.test_gpureplay import COUNT_WGSL
from tests.gfx.test_wgsl import ENDLESS, LOOPS
from tests.web.test_gpucheck import node

MODULE = (Path(__file__).parents[2] / "layerw" / "web" / "wgslloops.js").as_uri()
SOURCES = [LOOPS, SPIN_WGSL, COUNT_WGSL, ENDLESS, FILL_WGSL, TEXTURED_WGSL, TRIANGLE_WGSL, "",
           "fn f() { for(;;){ while(true){ loop{ break; } } } } // for (;;) {\n/* while x { */"]


# Nests, calls, collective operations and odd spacing: which loops count per nest must agree too
NESTS = [NESTED_WGSL, COLLECTIVE_WGSL,
         "fn a() { b(); }\nfn b() { workgroupBarrier(); }\nfn c() { for (;;) { a(); for (;;) { break; } while x { } } }",
         "fn  f\u2028(x: u32) { loop { dpdx (1.0); loop { loop { quadSwapX(1); } } }}for(;;){f(1);} fnf() { loop {",
         "fn g() { loop { textureSampleLevel(t, s, uv, 0.0); subgroupAdd(1); } }\u00a0while\u00a0c { é(); }"]


def bounded_in_node(sources: list[str], tmp_path: Path) -> list[str]:
    """wgslloops.js's boundLoops of each of ``sources``, run in node."""
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(sources))
    script = (f"import {{ boundLoops }} from {json.dumps(MODULE)}; import {{ readFileSync }} from 'node:fs';"
              f"console.log(JSON.stringify(JSON.parse(readFileSync({json.dumps(str(path))}, 'utf8')).map(boundLoops)));")
    done = subprocess.run([node(), "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_both_hosts_bound_loops_alike(tmp_path: Path) -> None:
    browser = bounded_in_node(SOURCES, tmp_path)
    assert browser == [bound_loops(s) for s in SOURCES]
    assert sum(s.count("lw_loop_") for s in browser) > 10


def test_both_hosts_count_nested_and_collective_loops_alike(tmp_path: Path) -> None:
    browser = bounded_in_node(NESTS, tmp_path)
    assert browser == [bound_loops(s) for s in NESTS]
    assert " lw_loop_1 = lw_loop_2;" in browser[3] and " lw_loop_0 = lw_loop_1;" in browser[3]  # quadSwapX: handed back
    assert sum(s.count("lw_loops") for s in browser) > 20 and sum(s.count(" = 0u; ") for s in browser) > 5
