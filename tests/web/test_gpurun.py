"""Runs of repeated pass-command blocks in the browser client (gpustream.js GpuRun, run in node): found
where the native parser finds a PassRun (and nowhere else), and checked column by column with the
verdicts and messages of the same commands checked one at a time, and of the native checker."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw import abi
from layerw.gfx.gpurun import MIN_REPEATS
from layerw.gfx.gpustream import CODE
from layerw.gfx.gpuwriter import GpuWriter
from tests.gfx.gpucases import RUNS, blocks, outcome, prelude
from tests.gfx.gpuscenes import H, W
from tests.gfx.test_gpurun import quads, written
from tests.web.test_gpucheck import node

RUNNER = Path(__file__).with_name("gpurun_cases.mjs")
SET_BIND_GROUP, DRAW = CODE["SET_BIND_GROUP"], CODE["DRAW"]


def over_the_draw_limit(w: GpuWriter) -> None:
    """Two runs whose draws together pass the frame's limit (the first run alone does not)."""
    for _ in range(2):
        blocks(quads, abi.GPU_MAX_DRAWS // 2 + 1)(w)


def after_a_draw(block: Callable[[GpuWriter, int], object]) -> Callable[[GpuWriter], None]:
    """``blocks(block)`` after a single bind group and draw (then SET_VERTEX_BUFFER, which no run holds):
    the pass is set for column checks at the run's start, so the checker folds in its repeat 0 itself."""
    def body(w: GpuWriter) -> None:
        w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
        w.set_pipeline(2)
        w.set_vertex_buffer(0, 4)
        w.set_bind_group(0, 1)
        w.draw(4)
        w.set_vertex_buffer(0, 4)
        for i in range(20):
            block(w, i)
        w.end_pass()
    return body


def quad_at(bad: int, group: int = 1, index: int = 0, draw: tuple[int, ...] = (4, 1, 0, 0)) -> Callable[[GpuWriter, int], object]:
    """A block of ``quads`` whose repeat ``bad`` binds ``group`` at ``index`` and draws ``draw``."""
    def block(w: GpuWriter, i: int) -> None:
        if i != bad:
            quads(w, i)
        else:
            w.set_bind_group(index, group)
            w.draw(*draw)
    return block


def indexed_at(bad: int) -> Callable[[GpuWriter], None]:
    """Indexed draws (a block the folds take slot by slot) whose repeat ``bad`` reads past the index buffer."""
    def block(w: GpuWriter, i: int) -> None:
        if i == 0:
            w.set_index_buffer(6)
        w.set_bind_group(0, 1)
        w.draw_indexed(7 if i == bad else 4, 1, 0, 0, i % 3)

    def body(w: GpuWriter) -> None:
        w.buffer(6, 12, abi.GPU_BUFFER_USAGE["INDEX"])
        blocks(block)(w)
    return body


# Runs whose one odd repeat is at the edges of what RunScanner folds (repeat 0 is left to the checker,
# repeat 1 starts the index fold) or past the handles it marks, and the fragment of the error each ends
# in (None: the frame passes, after the column check fell back to single commands); each checks as
# natively and as its single commands
FOLDS: dict[str, tuple[Callable[[GpuWriter], object], str | None]] = {
    "first repeat's group, after a draw": (after_a_draw(quad_at(0, group=9)), "no bind group 9"),
    "first repeat's index, after a draw": (after_a_draw(quad_at(0, index=5)), "index 5"),
    "first repeat at another index, after a draw": (after_a_draw(quad_at(0, index=1)), None),
    "first repeat reads past its instances, after a draw": (after_a_draw(quad_at(0, draw=(4, 1, 0, 3))), "read past"),
    "first repeat's vertices, after a draw": (after_a_draw(quad_at(0, draw=(2**31, 1, 0, 0))), "vertices"),
    "a valid run after a draw": (after_a_draw(quads), None),
    "second repeat's index": (blocks(quad_at(1, index=5)), "index 5"),
    "second repeat at another index": (blocks(quad_at(1, index=1)), None),
    "second repeat's group": (blocks(quad_at(1, group=9)), "no bind group 9"),
    "last repeat's group": (blocks(quad_at(19, group=9)), "no bind group 9"),
    "a handle past the table's": (blocks(quad_at(7, group=abi.GPU_MAX_HANDLE + 5)), f"no bind group {abi.GPU_MAX_HANDLE + 5}"),
    "a handle of 2^32 - 1": (after_a_draw(quad_at(3, group=2**32 - 1)), f"no bind group {2**32 - 1}"),
    "first repeat's indexed draw": (indexed_at(0), "index buffer holds 6"),
    "second repeat's indexed draw": (indexed_at(1), "index buffer holds 6"),
    "last repeat's indexed draw": (indexed_at(19), "index buffer holds 6"),
}

BODIES: dict[str, Callable[[GpuWriter], object]] = {
    **{name: body for name, (body, _) in RUNS.items()}, "valid": blocks(quads),
    "index changes": blocks(lambda w, i: (w.set_bind_group(i % 2, 1), w.draw(4, 1, 0, i % 3))),
    "over the draw limit": over_the_draw_limit, **{name: body for name, (body, _) in FOLDS.items()}}


def in_node(cases: dict[str, tuple[bytes, ...]], tmp_path: Path, split: bool = False,
            replay: bool = False) -> dict[str, dict[str, object]]:
    path = tmp_path / "runs.json"
    path.write_text(json.dumps([{"name": name, "frames": [base64.b64encode(f).decode() for f in frames], "split": split,
                                 "replay": replay} for name, frames in cases.items()]))
    done = subprocess.run([node(), str(RUNNER), str(path), str(W), str(H)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return {r["name"]: r for r in json.loads(done.stdout)}


def test_repeated_blocks_parse_as_one_run(tmp_path: Path) -> None:
    def broken(w: GpuWriter, i: int) -> None:  # every third block sets the pipeline again: no run of 8
        quads(w, i)
        if i % 3 == 2:
            w.set_pipeline(2)
    found = in_node({"run": (written(blocks(quads)),), "short": (written(blocks(quads, MIN_REPEATS - 1)),),
                     "broken": (written(blocks(broken, 60)),),
                     "batched": (written(blocks(lambda w, i: (w.set_bind_group(0, 1), w.draw(4), w.draw(4)))),)}, tmp_path)
    entries = found["run"]["entries"]
    assert isinstance(entries, list) and len(entries) == 5  # BEGIN_PASS, SET_PIPELINE, SET_VERTEX_BUFFER, the run, END_PASS
    assert entries[3] == ["run", [SET_BIND_GROUP, DRAW], 20]
    for name, single in (("short", 4 + 2 * (MIN_REPEATS - 1)), ("broken", 4 + 2 * 60 + 20), ("batched", 4 + 2 * 20)):
        entries = found[name]["entries"]
        assert isinstance(entries, list) and len(entries) == single and all(e[0] == "one" for e in entries), name


@pytest.mark.parametrize("name", list(BODIES))
def test_runs_check_as_their_single_commands_and_as_natively(name: str, tmp_path: Path) -> None:
    frames = (prelude(), written(BODIES[name]))
    as_run, as_single = in_node({name: frames}, tmp_path)[name], in_node({name: frames}, tmp_path, split=True)[name]
    entries = as_run["entries"]
    assert isinstance(entries, list) and any(e[0] == "run" for e in entries)
    native = outcome(frames)
    for js in (as_run, as_single):
        assert (js["error"], js["message"], js["drew"]) == (native["error"], native["message"], native["drew"])
    if name in RUNS:
        assert RUNS[name][1] in str(as_run["message"]) and "GPU command" in str(as_run["message"])
    elif name == "over the draw limit":
        assert "limit of 65536 draws" in str(as_run["message"])
    elif name in FOLDS and FOLDS[name][1] is not None:
        assert str(FOLDS[name][1]) in str(as_run["message"]) and "GPU command" in str(as_run["message"])
    else:
        assert as_run["error"] is None and as_run["drew"] is True


GROUPS = (1, 10, 11, 12)  # the textured scene's bind group and three more of its layout (declare_groups)


def declare_groups(w: GpuWriter) -> None:
    for handle in GROUPS[1:]:
        w.bind_group(handle, [(0, abi.GPU_KINDS["BUFFER"], 3, 0, 0), (1, abi.GPU_KINDS["TEXTURE"], 1, 0, 0),
                              (2, abi.GPU_KINDS["SAMPLER"], 1, 0, 0)], layout=1)


def group_draws(draw: Callable[[int], tuple[int, ...]], index: Callable[[int], int] = lambda i: 0,
                groups: tuple[int, ...] = GROUPS) -> Callable[[GpuWriter, int], object]:
    """A block binding one of ``groups`` (by repeat) at ``index(i)``, then drawing ``draw(i)``."""
    return lambda w, i: (w.set_bind_group(index(i), groups[i % len(groups)]), w.draw(*draw(i)))


def two_runs(first: int, second: int) -> Callable[[GpuWriter], None]:
    """Two uniform runs in one pass (a SET_VERTEX_BUFFER between them), their groups in other orders (the
    second's first group is not the first's last, so handles of one run read as the other's show)."""
    def body(w: GpuWriter) -> None:
        w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
        w.set_pipeline(2)
        w.set_vertex_buffer(0, 4)
        for i in range(first):
            group_draws(lambda i: (4,))(w, i)
        w.set_vertex_buffer(0, 4)
        for i in range(second):
            group_draws(lambda i: (4, 2, 0, 1), groups=(11, 10, 1))(w, i)
        w.end_pass()
    return body


# Runs of a bind group and a draw per repeat that pass, and whether each run is uniform (every repeat
# draws what repeat 0 draws, at its index): such a run is replayed from the handles its scan kept
REPLAYED: dict[str, tuple[Callable[[GpuWriter], object], list[bool]]] = {
    "one draw, groups switching": (blocks(group_draws(lambda i: (4,))), [True]),
    "one instanced draw, groups switching": (blocks(group_draws(lambda i: (4, 2, 0, 1))), [True]),
    "two uniform runs": (two_runs(20, 30), [True, True]),
    "two uniform runs past the scan's first room for handles": (two_runs(700, 900), [True, True]),
    "repeat 0 draws another instance": (blocks(group_draws(lambda i: (4, 1, 0, 1 if i == 0 else 0))), [False]),
    "repeat 13 draws another instance": (blocks(group_draws(lambda i: (4, 1, 0, 1 if i == 13 else 0))), [False]),
    "repeat 0 at another index": (after_a_draw(group_draws(lambda i: (4,), index=lambda i: 1 if i == 0 else 0)), [False]),
    "the index changes": (blocks(group_draws(lambda i: (4,), index=lambda i: i % 2)), [False]),
    "the draws change": (blocks(quads), [False]),
}


@pytest.mark.parametrize("name", list(REPLAYED))
def test_runs_replay_as_their_single_commands(name: str, tmp_path: Path) -> None:
    """A run's replay (a uniform run's from its kept handles) gives a pass the calls its single commands give."""
    body, uniform = REPLAYED[name]
    frames = (prelude(), written(declare_groups), written(body))
    as_run = in_node({name: frames}, tmp_path, replay=True)[name]
    as_single = in_node({name: frames}, tmp_path, split=True, replay=True)[name]
    assert as_run["error"] is None and as_single["error"] is None, (as_run["message"], as_single["message"])
    assert as_run["uniform"] == uniform
    calls = as_run["calls"]
    assert isinstance(calls, list) and calls == as_single["calls"]
    draws = [c for c in calls if c[0] == "draw"]
    assert len(draws) == len([c for c in calls if c[0] == "setBindGroup"]) >= 20


def run_then_draw(w: GpuWriter) -> None:
    """A uniform run, then a draw in the same pass that needs what the pass bound before and in the run."""
    w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
    w.set_pipeline(2)
    w.set_vertex_buffer(0, 4)
    for i in range(20):
        group_draws(lambda i: (4,))(w, i)
    w.draw(4, 2, 0, 1)
    w.end_pass()


def group_made_again(w: GpuWriter) -> None:
    """Bind group 10 destroyed and made again (another object of the same handle), then the same frame."""
    w.destroy(abi.GPU_KINDS["BIND_GROUP"], 10)
    w.bind_group(10, [(0, abi.GPU_KINDS["BUFFER"], 3, 0, 0), (1, abi.GPU_KINDS["TEXTURE"], 1, 0, 0),
                      (2, abi.GPU_KINDS["SAMPLER"], 1, 0, 0)], layout=1)
    blocks(group_draws(lambda i: (4,)))(w)


DRAW_DEFAULTS: dict[str, list[object]] = {"draw": [None, 1, 0, 0], "drawIndexed": [None, 1, 0, 0, 0]}


def drawn(calls: list[list[object]]) -> list[tuple[object, ...]]:
    """Each draw of a pass's calls with what was bound when it was made: a render bundle's draws from
    what the bundle bound (it starts from nothing), and nothing bound after the bundle (as in WebGPU)."""
    out: list[tuple[object, ...]] = []

    def play(calls: list[list[object]]) -> None:
        bound: dict[tuple[object, ...], tuple[object, ...]] = {}
        for name, *args in calls:
            if name == "executeBundles":
                play(args[0])  # type: ignore[arg-type]
                bound.clear()
            elif name == "setPipeline":
                bound[("pipeline",)] = tuple(args)
            elif name in ("setVertexBuffer", "setBindGroup"):
                bound[(name, args[0])] = tuple(args[1:])
            elif name == "setIndexBuffer":
                bound[(name,)] = tuple(args)
            elif name in ("draw", "drawIndexed"):  # WebGPU's defaults written out: draw(4) is draw(4, 1, 0, 0)
                given = [*args, *DRAW_DEFAULTS[name][len(args):]]
                out.append((name, *given, tuple(sorted(bound.items(), key=repr))))
    play(calls)
    return out


def run_at(offset: int) -> Callable[[GpuWriter], None]:
    """A uniform run with the instance buffer bound from byte ``offset``."""
    def body(w: GpuWriter) -> None:
        w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
        w.set_pipeline(2)
        w.set_vertex_buffer(0, 4, offset)
        for i in range(20):
            group_draws(lambda i: (4,))(w, i)
        w.end_pass()
    return body


def indexed(declare: bool) -> Callable[[GpuWriter], None]:
    """A run of bind groups and indexed draws of other instances, the index buffer made first where ``declare``."""
    def body(w: GpuWriter) -> None:
        if declare:
            w.buffer(6, 12, abi.GPU_BUFFER_USAGE["INDEX"])
        w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
        w.set_pipeline(2)
        w.set_vertex_buffer(0, 4)
        w.set_index_buffer(6)
        for i in range(20):
            w.set_bind_group(0, GROUPS[i % len(GROUPS)])
            w.draw_indexed(4, 1, 0, 0, i % 3)
        w.end_pass()
    return body


def bound_first(index: int, group: int, block: Callable[[GpuWriter, int], object]) -> Callable[[GpuWriter], None]:
    """``blocks(block)`` with bind group ``group`` set at ``index`` before the run (SET_VERTEX_BUFFER between,
    so that the group is not the run's first command)."""
    def body(w: GpuWriter) -> None:
        w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
        w.set_pipeline(2)
        w.set_bind_group(index, group)
        w.set_vertex_buffer(0, 4)
        for i in range(20):
            block(w, i)
        w.end_pass()
    return body


def draw_then_group(w: GpuWriter, i: int) -> None:
    """A block that draws with the group bound before it, then binds the next."""
    w.draw(4, 1, 0, i % 3)
    w.set_bind_group(0, GROUPS[i % len(GROUPS)])


ONE_RUN = blocks(group_draws(lambda i: (4,)))
# Frames of GPU commands (after the declarations), how many runs the replay took from a render bundle in
# all, and whether the last frame's run was one of them: a run met again as the last frame made it (a
# uniform run's handles and draw, any other's words) is recorded once, then executed
REPEATED: dict[str, tuple[tuple[Callable[[GpuWriter], object], ...], int, bool]] = {
    "one run, three frames": ((ONE_RUN,) * 3, 2, True),
    "two uniform runs, three frames": ((two_runs(20, 30),) * 3, 4, True),
    "a draw after the run": ((run_then_draw,) * 3, 2, True),
    "a run after a draw, as another frame's run": ((two_runs(20, 30), after_a_draw(group_draws(lambda i: (4,)))), 1, True),
    "runs in turn": ((ONE_RUN, blocks(group_draws(lambda i: (4,), groups=(11, 10, 1, 12))), ONE_RUN), 0, False),
    "another vertex buffer offset": ((run_at(0), run_at(12), run_at(0)), 0, False),
    "a group of the run made again": ((ONE_RUN, ONE_RUN, group_made_again), 1, False),
    "a group of the run made again, then the same": ((ONE_RUN, ONE_RUN, group_made_again, ONE_RUN, ONE_RUN), 2, True),
    "draws of other instances, three frames": ((blocks(quads),) * 3, 2, True),
    "indexed draws, four frames": ((indexed(True), indexed(False), indexed(False), indexed(False)), 2, True),
    "another group bound before, at another index": ((bound_first(1, 10, group_draws(lambda i: (4,))),
                                                     bound_first(1, 11, group_draws(lambda i: (4,)))), 0, False),
    "a run drawing first with the group bound before it": ((bound_first(0, 1, draw_then_group),) * 2
                                                           + (bound_first(0, 10, draw_then_group),), 1, False),
    "draws of other instances, one changed": ((blocks(quads), blocks(quad_at(13, draw=(4, 1, 0, 0)))), 0, False),
}


@pytest.mark.parametrize("name", list(REPEATED))
def test_a_run_made_as_the_last_frame_made_it_is_replayed_from_a_render_bundle(name: str, tmp_path: Path) -> None:
    """A run whose calls are the last frame's run's at its place (the same groups, draws, pass state and
    resources) is replayed from a render bundle of those calls; each draw of the frame is made with what
    its single commands bind, and a run of other groups or draws, another state or a group made again
    since is not taken from the bundle."""
    bodies, bundled, last = REPEATED[name]
    frames = (prelude(), written(declare_groups), *map(written, bodies))
    as_run = in_node({name: frames}, tmp_path, replay=True)[name]
    as_single = in_node({name: frames}, tmp_path, split=True, replay=True)[name]
    assert as_run["error"] is None and as_single["error"] is None, (as_run["message"], as_single["message"])
    calls, single = as_run["calls"], as_single["calls"]
    assert isinstance(calls, list) and isinstance(single, list)
    assert (as_run["bundled"], as_single["bundled"]) == (bundled, 0)
    assert any(c[0] == "executeBundles" for c in calls) == last
    assert drawn(calls) == drawn(single) and len(drawn(calls)) >= 20
