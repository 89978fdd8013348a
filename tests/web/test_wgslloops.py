"""The browser's loop bound (layerw/web/wgslloops.js, run in node) writes the same WGSL as the
native one, character for character, so a shader's loops end alike on both hosts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from layerw.gfx.wgslloops import bound_loops
from tests.gfx.gpuscenes import FILL_WGSL, SPIN_WGSL, TEXTURED_WGSL, TRIANGLE_WGSL
from tests.gfx.test_gpureplay import COUNT_WGSL
from tests.gfx.test_wgsl import ENDLESS, LOOPS
from tests.web.test_gpucheck import node

MODULE = (Path(__file__).parents[2] / "layerw" / "web" / "wgslloops.js").as_uri()
SOURCES = [LOOPS, SPIN_WGSL, COUNT_WGSL, ENDLESS, FILL_WGSL, TEXTURED_WGSL, TRIANGLE_WGSL, "",
           "fn f() { for(;;){ while(true){ loop{ break; } } } } // for (;;) {\n/* while x { */"]


def test_both_hosts_bound_loops_alike(tmp_path: Path) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(SOURCES))
    script = (f"import {{ boundLoops }} from {json.dumps(MODULE)}; import {{ readFileSync }} from 'node:fs';"
              f"console.log(JSON.stringify(JSON.parse(readFileSync({json.dumps(str(path))}, 'utf8')).map(boundLoops)));")
    done = subprocess.run([node(), "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    browser = json.loads(done.stdout)
    assert browser == [bound_loops(s) for s in SOURCES]
    assert sum(s.count("lw_loop_") for s in browser) > 10
