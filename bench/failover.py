"""Failover: how soon 20 rooms play again after their server is killed, on the processes that survive.

Three real `layerw serve` processes share a redis-server room directory (leases of ``CLAIM_TTL_S``,
serve's default, renewed 4 times per ttl) and a SeaweedFS S3 store (checkpoints every 0.2 s). Twenty
games/pong rooms live on the first, each with one native player (at its own loopback address) that
entered through one of the other two. The first is killed with SIGKILL; each player rejoins by
itself through its entry server, which sends it on to the dead owner; finding it gone, the player
asks the entry again naming it (``?gone=``), and the entry waits for that owner's lease to lapse,
claims the room that instant and resumes it from the checkpoint (at most ``replay_s`` of frames).

    kill -> playing   from the SIGKILL to the player's WELCOME from a survivor: the lease's lapse
                      (up to the ttl) and the resume included
"""

from __future__ import annotations

import os
import signal
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report import Section, table
from bench.store import seaweed_server
from layerw.runtime.engine import Engine
from layerw.toolchain.build import build

if TYPE_CHECKING:
    from tests.store.seaweed import Seaweed


def _one(work: Path, seaweed: Seaweed, engine: Engine) -> list[float]:
    """One kill of the owner of 20 rooms; each room's seconds from the kill to play on a survivor."""
    from tests.session.test_failover import KILL_AT, ROOMS, TimedReplica, fleet, place
    from tests.session.test_resume import Player

    rooms = [f"b{i}" for i in range(ROOMS)]
    with fleet(3, seaweed, lambda game: build(game, work / "pong").out, work) as f:
        place(f.redis.url, rooms, f.urls[0])
        players = [Player(f.bundle, engine, f"{f.urls[1 + i % 2]}/play/pong?room={room}", TimedReplica,
                          source=f"127.0.0.{10 + i}") for i, room in enumerate(rooms)]
        for player in players:
            player.reach(KILL_AT)
        os.kill(f.servers[0].pid, signal.SIGKILL)
        killed = time.monotonic()
        for player in players:
            player.thread.join(120)
            player.client.close()
    waits = []
    for player in players:
        after = [t for t in player.journal.welcomed_at if t > killed]  # type: ignore[attr-defined]
        if not after:
            raise RuntimeError(f"a room was not resumed: {player.outcome}")
        waits.append(after[0] - killed)
    return sorted(waits)


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    from tests.session.test_failover import CLAIM_TTL_S, RESUME_GOAL_S, ROOMS

    engine = Engine()
    try:
        with seaweed_server(out_dir / "failover-s3") as seaweed:
            kills = []
            for i in range(rounds):
                work = out_dir / f"failover-{i}"
                work.mkdir(parents=True, exist_ok=True)
                kills.append(_one(work, seaweed, engine))
    finally:
        engine.close()
    t = table(f"failover: {ROOMS} pong rooms, their server killed with SIGKILL, resumed by 2 survivors (S3, Redis)",
              "kill", "claim ttl s", "kill -> playing s: min", "median", "p90", "max", f"within {RESUME_GOAL_S:g} s")
    for i, waits in enumerate(kills):
        t.add_row(str(i + 1), f"{CLAIM_TTL_S:g}", f"{waits[0]:.2f}", f"{statistics.median(waits):.2f}",
                  f"{waits[int(len(waits) * 0.9)]:.2f}", f"{waits[-1]:.2f}",
                  f"{sum(w <= RESUME_GOAL_S for w in waits)}/{len(waits)}")
    notes = ["the floor is the lease: a dead owner's claim lapses 1.5-2 s after its last renewal (ttl 2 s, renewed every 0.5 s);"
             " a survivor claims at the lapse (it waits on the claim's PTTL), then resumes: its S3 reads, the game's"
             " instance, at most 1 s of frames replayed",
             "all processes (3 servers, SeaweedFS, Redis, 20 players) share this machine: on a loaded one the resumes queue"]
    return Section("failover", t, {"kills": kills, "claim_ttl_s": CLAIM_TTL_S, "rooms": ROOMS}, notes)
