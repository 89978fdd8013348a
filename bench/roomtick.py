"""Room tick CPU: thread CPU µs per room tick of N pong rooms with no clients, this tree against another.

    python -m bench.roomtick --base /work/wt/base [--rooms 40] [--ticks 600] [--rounds 3] [--profile this]

Each run is a child process on one tree (PYTHONPATH=that tree), started as ``python -P`` on this
file so that it imports that tree's ``layerw`` and nothing of this ``bench``, through what both trees
have (Room, RoomRunner, Limits, Metrics, the game's tick, state_hash and snapshot). It builds that
tree's pong with that tree's toolchain, starts N rooms and beats each of them T ticks the way a
clock does (the headline figure), then times the parts of a tick on the same rooms, on the tier the
tree's rooms take by default (the AOT tier since ``Tier.AUTO``; the guest parts then time its call). Runs of the two
trees alternate, so a machine's load drifts over both alike; the table gives each tree's best round
(the least disturbed) and its median.
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import gc
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
WARM_UP_TICKS = 60
PHASE_TICKS = 300  # ticks (per room) each part of a tick is timed over
TICK_MS = 5000  # the shared machine stalls a thread past pong's 100 ms: that is not the game's
HASH_CALLS = 30  # hashes and snapshots (per room) timed
PHASES = ("beat", "step", "tick", "pack", "guest_py", "guest_ffi", "frame", "hash", "snapshot")
NOTES = {
    "beat": "RoomRunner.beat: a whole room tick (metrics, step, hash and snapshot ticks amortised)",
    "step": "Room.step alone, hash and snapshot ticks amortised",
    "tick": "game.tick(inputs): host layers, input block write, guest call",
    "pack": "InputState.pack: the tick's input record",
    "guest_py": "engine.arm + lw_tick through wasmtime-py's Func.__call__",
    "guest_ffi": "lw_tick through the C API with prebuilt value arrays (the floor)",
    "frame": "Frame(tick, (), ()).encode()",
    "hash": "state_hash() once (a room hashes every 30th tick)",
    "snapshot": "snapshot() once (a room keeps one every 300th tick)",
    "state bytes": "what a hash and a snapshot cover",
}


# --- the child: one tree ------------------------------------------------------------------------


def _per_call(calls: int, run: Callable[[], None]) -> float:
    """Thread CPU µs per call of ``run``, which makes ``calls`` calls."""
    gc.collect()
    t0 = time.thread_time_ns()
    run()
    return (time.thread_time_ns() - t0) / 1e3 / calls


def _over(n: int, items: Sequence[Any], part: Callable[[Any], object]) -> Callable[[], None]:
    """``n`` rounds of ``part`` over ``items`` (a tick of every room, ``n`` times)."""
    def run() -> None:
        for _ in range(n):
            for item in items:
                part(item)
    return run


def _guest_py(game: Any) -> None:
    """lw_tick as the hosts of both trees call it: the CPU budget armed, then wasmtime-py's call; on
    the AOT tier (rooms' default since Tier.AUTO) AotGame's own call, lw_call arming its deadline."""
    if not hasattr(game, "store"):
        game._invoke("lw_tick", ())
        return
    game.engine.arm(game.store, game.config.tick_ms)
    game._funcs["lw_tick"](game.store)


def _ffi_caller(game: Any) -> Callable[[], None]:
    """lw_tick through wasmtime's C API with value arrays built once (no wasmtime-py per-call work);
    on the AOT tier, lw_call through its ctypes function with its arguments fixed."""
    if not hasattr(game, "store"):
        instance, which, tick_ms = game._instance, game._which["lw_tick"], game.config.tick_ms
        lw_call, (address, arguments, result) = instance._call, instance._addresses

        def call_aot() -> None:
            if lw_call(address, which, arguments, result, tick_ms):
                raise RuntimeError(f"lw_tick trapped on the AOT tier in {game.name}")
        return call_aot
    import wasmtime
    from wasmtime import _ffi as ffi
    from wasmtime._func import enter_wasm

    func, store, engine, tick_ms = game._funcs["lw_tick"], game.store, game.engine, game.config.tick_ms
    assert isinstance(func, wasmtime.Func)
    params, results = (ffi.wasmtime_val_t * 1)(), (ffi.wasmtime_val_t * 1)()
    ref = ctypes.byref(func._func)

    def call() -> None:
        engine.arm(store, tick_ms)
        with enter_wasm(store) as trap:
            error = ffi.wasmtime_func_call(store._context(), ref, params, 0, results, 0, trap)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
    return call


def child(rooms: int, ticks: int, out: Path, profile: bool) -> dict[str, Any]:
    """Run N rooms of this tree's pong; returns µs per room tick for each part."""
    import layerw
    from layerw.bundle import Bundle
    from layerw.observability.metrics import Metrics
    from layerw.runtime.engine import CpuLimit, Engine
    from layerw.session import protocol as p
    from layerw.session.host import Limits, RoomRunner
    from layerw.session.room import Room
    from layerw.toolchain.build import build

    tree = Path(layerw.__file__).resolve().parents[1]
    source = out / "pong-source"  # the tree's pong with a CPU deadline a descheduled tick cannot hit
    shutil.copytree(tree / "games" / "pong", source, dirs_exist_ok=True)
    manifest = source / "layerw.toml"
    text = manifest.read_text()
    if "tick_ms = 100" not in text:
        raise RuntimeError(f"{manifest} sets no tick_ms = 100 to raise")
    manifest.write_text(text.replace("tick_ms = 100", f"tick_ms = {TICK_MS}"))
    pong = build(source, out / "pong").out
    bundle = Bundle.open(pong)
    metrics, limits = Metrics(), Limits(empty_room_s=1e9)
    result: dict[str, Any] = {"tree": str(tree), "rooms": rooms, "ticks": ticks}
    with Engine(CpuLimit.EPOCH, cache=out / "modules") as engine:
        runners = [RoomRunner(("pong", f"r{i}"), Room(f"pong/r{i}", bundle, engine, seed=i + 1), limits, metrics)
                   for i in range(rooms)]
        try:
            games = [r.room.game for r in runners]
            result["state_bytes"] = len(games[0].snapshot().memory)

            def beats(n: int) -> Callable[[], None]:
                def run() -> None:
                    for _ in range(n):
                        due = time.monotonic()
                        for runner in runners:
                            if runner.beat(due) is None:
                                raise RuntimeError(f"room {runner.room.id} stopped")
                return run

            beats(WARM_UP_TICKS)()
            if profile:
                with cProfile.Profile() as profiler:
                    beats(ticks)()
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
            result["beat"] = _per_call(rooms * ticks, beats(ticks))
            all_rooms = [r.room for r in runners]
            result["step"] = _per_call(rooms * ticks, _over(ticks, all_rooms, lambda room: room.step()))
            n = PHASE_TICKS
            result["tick"] = _per_call(rooms * n, _over(n, all_rooms, lambda room: room.game.tick(room.inputs, ())))
            result["pack"] = _per_call(rooms * n, _over(n, all_rooms, lambda room: room.inputs.pack(0, [])))
            result["guest_py"] = _per_call(rooms * n, _over(n, games, _guest_py))
            result["guest_ffi"] = _per_call(rooms * n, _over(n, [_ffi_caller(g) for g in games], lambda call: call()))
            result["frame"] = _per_call(rooms * n, _over(n, range(rooms), lambda i: p.Frame(i, (), ()).encode()))
            result["hash"] = _per_call(rooms * HASH_CALLS, _over(HASH_CALLS, games, lambda g: g.state_hash()))
            result["snapshot"] = _per_call(rooms * HASH_CALLS, _over(HASH_CALLS, games, lambda g: g.snapshot()))
        finally:
            for runner in runners:
                runner.room.close()
    return result


# --- the parent: rounds alternating the trees --------------------------------------------------


def _run(tree: Path, rooms: int, ticks: int, out: Path, profile: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = [sys.executable, "-P", str(HERE), "--child", "--rooms", str(rooms), "--ticks", str(ticks), "--out", str(out)]
    done = subprocess.run([*args, *(["--profile", "this"] if profile else [])], env=env, check=True,
                          stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def compare(trees: dict[str, Path], rooms: int, ticks: int, rounds: int, profile: str) -> dict[str, list[dict[str, Any]]]:
    """Alternate the trees' runs (the order flips every round); each tree's runs in a list."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="roomtick-") as tmp:
        for r in range(rounds):
            names = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in names:
                out = Path(tmp) / name
                runs[name].append(_run(trees[name], rooms, ticks, out, profile in (name, "all") and r == 0))
                print(f"round {r + 1} {name}: beat {runs[name][-1]['beat']:.1f} µs a room tick", file=sys.stderr)
    return runs


def show(runs: dict[str, list[dict[str, Any]]]) -> None:
    from rich.console import Console

    from bench.report import table

    first = next(iter(runs.values()))[0]
    t = table(f"Room tick CPU (thread µs a room tick; {first['rooms']} pong rooms, no clients, {first['ticks']} ticks a "
              "run): best / median of the rounds", "part", *runs)
    for phase in PHASES:
        t.add_row(phase, *(f"{min(x[phase] for x in rs):.1f} / {statistics.median(x[phase] for x in rs):.1f}"
                           for rs in runs.values()))
    t.add_row("state bytes", *(f"{rs[0]['state_bytes']:,}" for rs in runs.values()))
    console = Console(width=max(100, 24 + 18 * len(runs)))
    console.print(t)
    for phase in PHASES:
        console.print(f"  [dim]{phase}: {NOTES[phase]}[/dim]")
    console.print(f"  [dim]state bytes: {NOTES['state bytes']}[/dim]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--base", type=Path, help="the other tree (a checkout of the commit to compare against)")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR", help="a further tree to compare")
    ap.add_argument("--rooms", type=int, default=40)
    ap.add_argument("--ticks", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", default="none", help="cProfile the first round's beats of that tree (this, base, a "
                    "--tree's name or all; to stderr)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.rooms, args.ticks, args.out, args.profile == "this")))
        return
    trees = {"this": ROOT, **({"base": args.base.resolve()} if args.base else {}),
             **{name: Path(d).resolve() for name, d in (t.split("=", 1) for t in args.tree)}}
    show(compare(trees, args.rooms, args.ticks, args.rounds, args.profile))


if __name__ == "__main__":
    main()
