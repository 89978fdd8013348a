"""WGSL shader assets are compiled at `layerw build`: one that does not compile stops the build
with its file and line, before anything is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from layerw import abi
from layerw.errors import RenderError, ShaderError
from layerw.gfx.renderer import request_device
from layerw.gfx.wgsl import check_source, check_tree
from layerw.gfx.wgslloops import bound_loops, strip_comments
from tests.conftest import GAMES
from tests.gfx.gpuscenes import COLLECTIVE_WGSL, NESTED_WGSL, TRIANGLE_WGSL
from tests.test_cli import layerw

BROKEN = "@vertex fn vs() -> @builtin(position) vec4f {\n    let x = 1.0;\n    return vec4f(x, 1.0, 1.0)\n}\n"


@pytest.fixture(scope="module")
def device() -> object:
    try:
        return request_device()
    except RenderError as e:
        pytest.skip(str(e))


def test_every_shader_under_the_assets_is_checked(tmp_path: Path, device: object) -> None:
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "ok.wgsl").write_text(TRIANGLE_WGSL)
    (tmp_path / "notes.txt").write_text("not a shader")
    assert check_tree(tmp_path, device) == ["shaders/ok.wgsl"]
    (tmp_path / "shaders" / "bad.wgsl").write_text(BROKEN)
    with pytest.raises(ShaderError, match=r"shaders/bad\.wgsl:4: the shader does not compile") as info:
        check_tree(tmp_path, device)
    assert (info.value.asset, info.value.line) == ("shaders/bad.wgsl", 4)
    (tmp_path / "shaders" / "bad.wgsl").write_bytes(b"\xff\xfe")
    with pytest.raises(ShaderError, match="UTF-8"):
        check_tree(tmp_path, device)


ENDLESS = """@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main() {
    var i = 0u;
    /* loop { break; } in a comment does not count */
    loop {
        i = i + 1u;
        out[0] = i;
    }
}
"""
BOUNDED = ENDLESS.replace("out[0] = i;", "out[0] = i;\n        if (i == out[1]) { break; }")


def test_a_loop_that_cannot_end_stops_the_check_with_its_line(tmp_path: Path, device: object) -> None:
    (tmp_path / "spin.wgsl").write_text(ENDLESS)
    with pytest.raises(ShaderError, match=r"spin\.wgsl:5: this loop has no break or return") as info:
        check_tree(tmp_path, device)
    assert (info.value.asset, info.value.line) == ("spin.wgsl", 5)
    (tmp_path / "spin.wgsl").write_text(BOUNDED)  # may run long, but can end
    assert check_tree(tmp_path, device) == ["spin.wgsl"]


def test_no_assets_no_shaders() -> None:
    assert check_tree(Path("/nonexistent-assets")) == []


def test_layerw_build_stops_at_a_broken_shader(tmp_path: Path, device: object) -> None:
    game = tmp_path / "cubes"
    shutil.copytree(GAMES / "cubes", game, ignore=shutil.ignore_patterns("build"))
    (game / "assets" / "cubes.wgsl").write_text(BROKEN)
    proc = layerw("build", str(game), "-o", str(tmp_path / "out"), check=False)
    assert proc.returncode != 0 and "cubes.wgsl:4" in proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()
    shutil.copy(GAMES / "cubes" / "assets" / "cubes.wgsl", game / "assets" / "cubes.wgsl")
    proc = layerw("build", str(game), "-o", str(tmp_path / "out"))
    assert "2 WGSL shaders checked" in " ".join((proc.stdout + proc.stderr).split())


LOOPS = """struct P { n: u32 };
@group(0) @binding(0) var<uniform> p: P; // loop { in a comment }
@group(0) @binding(1) var t: texture_2d<f32>;
@group(0) @binding(2) var s: sampler;
@fragment fn fs(@builtin(position) at: vec4f) -> @location(0) vec4f {
    var acc = vec4f(0.0);
    var k = 0u;
    while (k < u32(at.x)) { k += 1u; }  /* a loop whose end differs per pixel */
    for (var i = 0u; i < p.n; i++) {
        acc += textureSample(t, s, at.xy * f32(i));  // derivatives need uniform control flow
        loop { if (k > 3u) { break; } k += 1u; continuing { break if k > 5u; } }
    }
    return acc;
}
"""


def test_bounded_loops_keep_their_lines_and_their_uniformity(device: object) -> None:
    bounded = bound_loops(LOOPS)
    assert "in a comment" not in bounded and len(strip_comments(LOOPS)) < len(bounded)
    assert bounded.count("\n") == LOOPS.count("\n")  # a compiler's line numbers stay the author's
    assert bounded.count(f">= {abi.GPU_MAX_LOOP_ITERATIONS}u {{ break; }}") == 3
    assert "var lw_loop_1: u32 = 0u; for (var i = 0u; i < p.n; i++) { if lw_loop_1 >=" in bounded
    check_source("loops.wgsl", LOOPS, device)  # compiles as written and bounded (a sample in a uniform loop)


def test_nested_loops_share_the_invocations_count() -> None:
    bounded = bound_loops(NESTED_WGSL)
    assert bounded.count("\n") == NESTED_WGSL.count("\n")
    assert bounded.endswith(" var<private> lw_loops: u32;")  # one count per invocation, for every function
    for n in range(3):  # each loop starts from the count so far and adds to it
        assert f"var lw_loop_{n}: u32 = lw_loops; " in bounded
        assert f"if lw_loop_{n} >= {abi.GPU_MAX_LOOP_ITERATIONS}u {{ break; }} lw_loops += 1u; lw_loop_{n} = lw_loops;" in bounded


def test_loops_holding_collective_operations_count_per_nest_and_stay_uniform(device: object) -> None:
    """A sample, a derivative or a barrier needs uniform control flow: the loops around one read no
    count that a loop whose end differs per pixel adds to, only their nest's counter."""
    bounded = bound_loops(COLLECTIVE_WGSL)
    cap = abi.GPU_MAX_LOOP_ITERATIONS
    assert bounded.count("\n") == COLLECTIVE_WGSL.count("\n")
    assert f"var lw_loop_0: u32 = 0u; for (var i = 0u; i < p.n; i++) {{ if lw_loop_0 >= {cap}u" in bounded  # blur's own nest
    assert "var lw_loop_1: u32 = 0u; for (var y" in bounded  # calls blur: collective, the nest's outermost loop
    assert "var lw_loop_2: u32 = lw_loop_1; for (var x" in bounded  # inside it: counts on from the nest's count ...
    assert "acc += blur(at.xy * f32(x + y)); } lw_loop_1 = lw_loop_2;" in bounded  # ... and hands it back
    assert "var lw_loop_3: u32 = lw_loops; while (k < u32(at.x))" in bounded  # per pixel: the invocation's count
    assert "var lw_loop_4: u32 = lw_loops; loop" in bounded  # textureSampleLevel needs no uniform control flow
    assert "lw_loop_1 = lw_loop_3" not in bounded and bounded.count(f">= {cap}u {{ break; }}") == 5
    check_source("collective.wgsl", COLLECTIVE_WGSL, device)  # compiles as written and bounded
