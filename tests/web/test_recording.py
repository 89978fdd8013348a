"""Input recordings read the same in the browser: web/input.js's Recording.parse accepts and refuses
what layerw.runtime.inputs.Recording.load does, naming the same line (run by Node, the JS engine
Playwright ships, on the page's own ES modules)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import playwright

from layerw.errors import InputError
from layerw.runtime.inputs import Recording

WEB = Path(__file__).resolve().parents[2] / "layerw" / "web"
NODE = Path(playwright.__file__).parent / "driver" / "node"
TEXTS = [
    '{"layerw_inputs": 1}\n{"tick": 2, "down": ["KeyW"]}\n{"tick": 5, "up": ["KeyW"], "pointer": [1.5, 2, 1]}',
    '{"tick": 0, "gamepad": 1, "buttons": ["A", "START"], "axes": [0.5, -1]}',
    '{"tick": 0}\n{"tick": 1, "dwon": ["KeyW"]}',
    '{"tick": 0}\n\n{"tick": "1"}',
    '{"tick": 1, "down": "KeyW"}',
    '{"tick": 1, "down": ["Nope"]}',
    '{"tick": 1, "player": 4}',
    '{"tick": 1, "pointer": [1]}',
    '{"tick": 1, "buttons": ["A"]}',
    '{"tick": 1, "gamepad": 0, "buttons": ["Zz"]}',
    '{"tick": 1, "gamepad": 0, "axes": [1, 2, 3, 4, 5, 6, 7]}',
    '{"layerw_inputs": 2}\n{"tick": 1}',
    '{"tick": 1}\n{"layerw_inputs": 1}',
    '[1, 2]',
    'not json',
]


def python_outcome(text: str, tmp: Path) -> str:
    path = tmp / "r.jsonl"
    path.write_text(text)
    try:
        return "ok " + json.dumps(sorted(Recording.load(path).changes), separators=(",", ":"))
    except InputError as e:
        return "error at " + re.match(r".*?r\.jsonl:(\d+):", str(e)).group(1)  # type: ignore[union-attr]


def js_outcomes(texts: list[str]) -> list[str]:
    script = f"""
import {{ Recording }} from "{(WEB / 'input.js').as_uri()}";
const out = [];
for (const text of {json.dumps(texts)}) {{
  try {{
    out.push("ok " + JSON.stringify([...Recording.parse(text, "r.jsonl").changes.keys()].sort((a, b) => a - b)));
  }} catch (e) {{
    if (e.name !== "InputError") throw e;
    out.push("error at " + /r\\.jsonl:(\\d+):/.exec(e.message)[1]);
  }}
}}
console.log(JSON.stringify(out));
"""
    proc = subprocess.run([str(NODE), "--input-type=module", "-e", script], capture_output=True, text=True,
                          timeout=60, check=True)
    return list(json.loads(proc.stdout))


def test_browser_and_native_read_recordings_alike(tmp_path: Path) -> None:
    native = [python_outcome(t, tmp_path) for t in TEXTS]
    assert native[:2] == ["ok [2,5]", "ok [0]"] and native[2] == "error at 2" and native[3] == "error at 3"
    assert js_outcomes(TEXTS) == native
