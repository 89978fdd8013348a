"""Rollback: prediction beside lockstep, 4 players through a played network, and what a repair costs.

Each run: a real room server (uvicorn, loopback), 4 native players each behind its own relay
(bench/netem.py: half the round trip each way, +/- jitter, 1 % of chunks retransmitted), each
changing its keys twice a second at its own moment, until the room has confirmed ``ticks`` ticks.
Lockstep (window 0, the room's default input delay 2) shows a player's own input when the room's
frame brings it back; prediction (window 8, input delay 0, lead from the measured round trip)
shows it on the next tick. Measured by a frame hook on every player: from the tick before its
input changed to the first tick on screen simulated with it; rollbacks per second and ticks
resimulated per rollback; desyncs are the room's (a player hash it disagreed with) and heals.
A repair's cost: one 8-tick rollback (restore, then 8 snapshots and ticks), natively and in Chromium
(the page's own rollback.js on its game host, which restores in place, as the native host does), for
pong and for bench/games/worldmap (1 MiB of guest state): the wall time the goal is judged on, and
natively the CPU time of the thread (what the repair itself costs when the machine is shared).

``python -m bench.rollback`` runs prediction over long play instead (10,000 ticks per round trip,
predicting players only) and fails unless it ends with 0 desyncs and 0 heals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.netem import Network, Relay
from bench.report import Section, show, table
from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState, Recording
from layerw.runtime.start import start_game
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session import protocol as p
from layerw.session.client import OnlineClient, Outcome, Prediction, RoomAddress
from layerw.session.replica import Replica
from layerw.session.rollback import Rollback
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.toolchain.build import build
from tests.server_thread import serving

ROOT = Path(__file__).resolve().parents[1]
RTTS_MS = (50, 100, 150)
JITTER_MS = 20
LOSS = 0.01
SEATS = 4
KEYS = ("KeyW", "KeyS", "ArrowUp", "ArrowDown")
REPAIR_TICKS = 8
HALF_FRAME_MS = 1000 / 60 / 2


class Seen:
    """A frame hook: when does a player's own input reach its screen?"""

    def __init__(self) -> None:
        self.changed: tuple[float, int, bytes] | None = None  # (time, tick) before a change not yet on screen
        self.last_local = b""
        self.last = (time.monotonic(), 0)
        self.ms: list[float] = []
        self.ticks: list[int] = []

    def __call__(self, replica: Replica, local: InputState) -> None:
        now = time.monotonic()
        mine = local.record["players"][0].tobytes()
        if mine != self.last_local and self.last_local:
            self.changed = (*self.last, mine)  # made before the tick just simulated
        self.last_local = mine
        ring = replica.rollback.ring
        used = ring[-1].players if ring and ring[-1].tick == replica.tick - 1 else replica.inputs.record["players"].tobytes()
        shown = np.frombuffer(used, dtype=abi.PLAYER.dtype)[replica.seat].tobytes() if replica.seat < abi.MAX_PLAYERS else b""
        if self.changed is not None and shown == self.changed[2]:
            self.ms.append((now - self.changed[0]) * 1e3)
            self.ticks.append(replica.tick - self.changed[1])
            self.changed = None
        self.last = (now, replica.tick)


def script(seat: int, ticks: int) -> Recording:
    rec = Recording()
    for t in range(30 + seat * 7, ticks - 30, 30):
        change = {"tick": t, ("down" if (t // 30) % 2 else "up"): [KEYS[seat]]}
        rec.changes[t].append(change)
    return rec


async def _players(port: int, bundle: Bundle, engine: Engine, network: Network, room: str, window: int,
                   ticks: int) -> tuple[list[Outcome], list[Seen], float]:
    relays = [Relay(port, network, seed=seat) for seat in range(SEATS)]
    ports = [await relay.start() for relay in relays]
    clients = [OnlineClient(bundle, engine, prediction=Prediction(window=window)) for _ in range(SEATS)]
    seen = [Seen() for _ in range(SEATS)]
    try:
        started = time.monotonic()
        outcomes = await asyncio.gather(*(
            client.play(RoomAddress.parse(f"http://127.0.0.1:{relay_port}/play/pong?room={room}"), ticks=ticks,
                        recording=script(seat, ticks), on_frame=hook)
            for seat, (client, relay_port, hook) in enumerate(zip(clients, ports, seen, strict=True))))
        return outcomes, seen, time.monotonic() - started
    finally:
        for client in clients:
            client.close()
        for relay in relays:
            await relay.close()


def _session(pong: Path, engine: Engine, rtt_ms: int, window: int, ticks: int) -> dict[str, float]:
    delay = 0 if window else 2
    app = create_app(DirCatalog([pong]), room_options={"hash_every": 30, "input_delay": delay})
    network = Network(rtt_ms / 1e3, JITTER_MS / 1e3, LOSS)
    room_id = f"{'rollback' if window else 'lockstep'}{rtt_ms}"
    with serving(app) as url:
        port = int(url.rsplit(":", 1)[1])
        outcomes, seen, seconds = asyncio.run(_players(port, Bundle.open(pong), engine, network, room_id, window, ticks))
        room = app.state.host.runners[("pong", room_id)].room
        desynced = room.desyncs.until != -1  # the room logged a hash it disagreed with
    ms = [m for s in seen for m in s.ms]
    own_ticks = [t for s in seen for t in s.ticks]
    rollbacks = sum(o.rollbacks for o in outcomes)
    return {
        "rtt_ms": rtt_ms, "window": window, "input_delay": delay, "ticks": ticks, "seconds": seconds,
        "own_ms_median": statistics.median(ms), "own_ms_max": max(ms),
        "own_ticks_median": statistics.median(own_ticks), "own_ticks_max": max(own_ticks),
        "rollbacks_per_s": rollbacks / SEATS / seconds,
        "resimulated_per_rollback": sum(o.resimulated for o in outcomes) / max(rollbacks, 1),
        "measured_rtt_ms": max(o.rtt_s for o in outcomes) * 1e3,
        "heals": sum(o.heals for o in outcomes), "desyncs": int(desynced) + len({o.state_hash for o in outcomes}) - 1,
    }


def _repair_ms(build_dir: Path, engine: Engine, rounds: int) -> tuple[float, float, int]:
    """Median milliseconds of one ``REPAIR_TICKS``-tick rollback (wall, and the thread's CPU), and
    the guest state's size."""
    bundle = Bundle.open(build_dir)
    with start_game(bundle, engine, audio=False) as game:
        held = InputState(players=2)
        rollback = Rollback(game, held, seat=0, window=REPAIR_TICKS)
        other = InputState(players=2)
        times, cpu = [], []
        for n in range(rounds):
            while rollback.predict():
                pass
            other.key(1, "ArrowUp", n % 2 == 0)  # the remote player did something else: a wrong guess
            frame = p.Frame(rollback.confirmed, ((1, other.record["players"][1].tobytes()),))
            t0, c0 = time.perf_counter(), time.thread_time()
            rollback.confirm(frame)
            times.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.thread_time() - c0) * 1e3)
        return statistics.median(times), statistics.median(cpu), len(game.snapshot().memory)


# In a stopped page: the page's own Rollback over its game host, the remote seat's input changed each
# round (a wrong guess), so each confirm restores and resimulates REPAIR_TICKS ticks.
PAGE_REPAIR = """async ([rounds, depth]) => {
  const { Rollback } = await import("/web/rollback.js");
  const { InputState } = await import("/web/input.js");
  const game = window.layerw.client().game;
  const held = new InputState(2), other = new InputState(2);
  const rollback = new Rollback(game, held, { seat: 0, window: depth });
  const size = other.player(1) - other.player(0);
  const times = [];
  for (let n = 0; n < rounds; n++) {
    while (rollback.predict()) { /* fill the window */ }
    other.key(1, "ArrowUp", n % 2 === 0);
    const player = other.bytes.slice(other.player(1), other.player(1) + size);
    const frame = { tick: rollback.confirmed, changes: [[1, player]], events: [] };
    const t0 = performance.now();
    await rollback.confirm(frame);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return [times[times.length >> 1], game.snapshot().memory.length, rollback.resimulated];
}"""


def _page_repair_ms(builds: dict[str, Path], rounds: int) -> dict[str, tuple[float, int]]:
    """Median milliseconds of one ``REPAIR_TICKS``-tick rollback in Chromium, and the state's size, per game."""
    from playwright.sync_api import sync_playwright

    from bench.web import ARGS, CHROMIUM, _serve

    out: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-rollback-") as scratch, sync_playwright() as p:
        store = LocalStore(Path(scratch) / "store")
        for build_dir in builds.values():
            publish(build_dir, store)
        proc, url = _serve(store.root)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, build_dir in builds.items():
                page: Any = browser.new_page()
                # on the page (?worker=0): rollback.js drives its game host, which a game Worker keeps to itself
                page.goto(f"{url}/play/{Bundle.open(build_dir).config.name}?ticks=1&sound=0&worker=0")
                page.wait_for_function("() => window.layerw && ['stopped', 'failed'].includes(window.layerw.status)")
                if page.evaluate("window.layerw.status") == "failed":
                    raise RuntimeError(f"{name} failed in Chromium: {page.evaluate('window.layerw.error')}")
                ms, size, resimulated = page.evaluate(PAGE_REPAIR, [rounds, REPAIR_TICKS])
                if resimulated != rounds * REPAIR_TICKS:
                    raise RuntimeError(f"{name}: {resimulated} ticks resimulated in Chromium, not {rounds * REPAIR_TICKS}")
                out[name] = (float(ms), int(size))
                page.close()
        finally:
            browser.close()
            proc.terminate()
            proc.wait(10)
    return out


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    """``rounds``: ticks each room confirms (10,000 is the issue's goal; a full bench runs 1,800)."""
    pong = build(ROOT / "games" / "pong", out_dir / "pong").out
    worldmap = build(ROOT / "bench" / "games" / "worldmap", out_dir / "worldmap").out
    with Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine:
        sessions = [_session(pong, engine, rtt, window, rounds) for rtt in RTTS_MS for window in (0, 8)]
        repairs = {name: _repair_ms(b, engine, 30) for name, b in (("pong", pong), ("worldmap", worldmap))}
    page_repairs = _page_repair_ms({"pong": pong, "worldmap": worldmap}, 30)
    t = table(f"11. Prediction and rollback beside lockstep: pong, {SEATS} players, each behind a relay "
              f"(RTT, +/-{JITTER_MS} ms jitter each way, {LOSS:.0%} retransmits), {rounds} ticks",
              "RTT / mode", "own input on screen after", "rollbacks/s, ticks each", "desyncs (heals)", "goal")
    for s in sessions:
        mode = "rollback (window 8, delay 0)" if s["window"] else "lockstep (delay 2)"
        ok = s["own_ticks_max"] <= 1 if s["window"] else True
        t.add_row(f"{s['rtt_ms']:.0f} ms / {mode}",
                  f"{s['own_ticks_median']:.0f} ticks (max {s['own_ticks_max']:.0f}), {s['own_ms_median']:.0f} ms "
                  f"(max {s['own_ms_max']:.0f})",
                  f"{s['rollbacks_per_s']:.1f}, {s['resimulated_per_rollback']:.1f}" if s["window"] else "-",
                  f"{s['desyncs']:.0f} ({s['heals']:.0f})",
                  ("<= 1 tick, 0 desyncs " + ("(met)" if ok and not s["desyncs"] else "(missed)")) if s["window"] else "")
    for name, (ms, cpu_ms, size) in repairs.items():
        t.add_row(f"{REPAIR_TICKS}-tick rollback, native, {name} ({size / 2**20:.2f} MiB state)",
                  f"{ms:.2f} ms (CPU {cpu_ms:.2f} ms)", "", "",
                  f"< {HALF_FRAME_MS:.1f} ms " + ("(met)" if ms < HALF_FRAME_MS else "(missed)"))
    for name, (ms, size) in page_repairs.items():
        t.add_row(f"{REPAIR_TICKS}-tick rollback, Chromium, {name} ({size / 2**20:.2f} MiB state)", f"{ms:.2f} ms", "", "",
                  f"< {HALF_FRAME_MS:.1f} ms " + ("(met)" if ms < HALF_FRAME_MS else "(missed)"))
    return Section("rollback", t, {"sessions": sessions, "repair_ms": {k: v[0] for k, v in repairs.items()},
                                   "repair_cpu_ms": {k: v[1] for k, v in repairs.items()},
                                   "chromium_repair_ms": {k: v[0] for k, v in page_repairs.items()}},
                   notes=["a machine shared with other work: figures are indicative",
                          "Chromium: the page's rollback.js; its game host restores in place (the blocks that differ "
                          "written back into the live instance) and its snapshots reuse the memory of dropped ones"])


LONG_TICKS = 10_000  # the goal: prediction holds over long play


def long_run(out_dir: Path, ticks: int, rtts: tuple[int, ...]) -> Section:
    """Predicting clients only (window 8, input delay 0), ``ticks`` ticks per round trip: a
    misprediction that left the replicas apart shows as a desync (a hash the room disagreed with,
    or final states that differ) and a heal (a state the server sent to repair one)."""
    pong = build(ROOT / "games" / "pong", out_dir / "pong").out
    with Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine:
        sessions = [_session(pong, engine, rtt, 8, ticks) for rtt in rtts]
    t = table(f"Prediction over long play: pong, {SEATS} predicting players behind relays (RTT, +/-{JITTER_MS} ms "
              f"jitter each way, {LOSS:.0%} retransmits), {ticks} ticks each",
              "RTT", "seconds", "rollbacks/s, ticks each", "own input on screen after", "desyncs", "heals", "goal")
    for s in sessions:
        ok = not s["desyncs"] and not s["heals"]
        t.add_row(f"{s['rtt_ms']:.0f} ms", f"{s['seconds']:.0f}",
                  f"{s['rollbacks_per_s']:.1f}, {s['resimulated_per_rollback']:.1f}",
                  f"{s['own_ticks_median']:.0f} ticks (max {s['own_ticks_max']:.0f})", f"{s['desyncs']:.0f}",
                  f"{s['heals']:.0f}", "0 desyncs, 0 heals " + ("(met)" if ok else "(missed)"))
    return Section("rollback_long", t, {"sessions": sessions}, notes=["a machine shared with other work: figures are indicative"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rollback", description="Prediction over long play: "
                                     "4 predicting pong players behind played networks; 0 desyncs and 0 heals is the goal")
    parser.add_argument("--ticks", type=int, default=LONG_TICKS, help="ticks each room confirms (default %(default)s)")
    parser.add_argument("--rtt", type=int, nargs="+", default=list(RTTS_MS), help="round trips in ms (default %(default)s)")
    parser.add_argument("--json", type=Path, help="where to write the numbers")
    args = parser.parse_args(argv)
    if args.ticks < 100 or any(not 0 <= rtt <= 1000 for rtt in args.rtt):
        parser.error("--ticks is at least 100 and each --rtt 0..1000 ms")
    from rich.console import Console

    with tempfile.TemporaryDirectory(prefix="bench-rollback-long-") as scratch:
        section = long_run(Path(scratch), args.ticks, tuple(args.rtt))
    show(Console(width=140), section)
    if args.json is not None:
        args.json.write_text(json.dumps(section.data, indent=1))
    missed = [s for s in section.data["sessions"] if s["desyncs"] or s["heals"]]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
