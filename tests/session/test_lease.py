"""Leases and fencing: a real redis-server grants each claim a growing fencing token and renews only
claims still exactly as granted; checkpoints written under an older token never win over a newer
owner's (its late head is never read, its sweep spares the newer objects), and an owner whose lease
is no longer held puts nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.checkpoint import Checkpoint, fence_of, head_key, newest_head, room_prefix
from layerw.session.checkpointer import Checkpoints
from layerw.session.directory import Grant, LoopDirectory, MemoryDirectory, RedisDirectory
from layerw.session.lease import HELD_FRACTION, Lease, Leases
from layerw.session.room import Room
from layerw.store.local import LocalStore
from tests.conftest import GAMES
from tests.session.redis_server import redis_server
from tests.session.test_checkpoint import OPTIONS, drained, play


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as redis:
        yield redis.url


def test_redis_leases_carry_growing_tokens_and_renew_only_as_granted(redis_url: str) -> None:
    d = RedisDirectory(redis_url, ttl_s=1.0)  # a's claim lives through the calls up to its renewal, a loaded machine's too
    try:
        a = d.lease("pong/l1", "http://a")
        assert a.owner == "http://a" and a.token is not None
        assert d.lease("pong/l1", "http://b") == a  # held: the same grant, not a new token
        assert d.owner("pong/l1") == "http://a"
        other = d.lease("pong/l2", "http://b")
        assert other.token is not None and other.token > a.token
        assert d.renew({"pong/l1": a, "pong/l2": Grant("http://b", other.token + 1)}) == {"pong/l1"}
        time.sleep(1.5)  # a's lease lapses: b claims the room with a newer token
        b = d.lease("pong/l1", "http://b")
        assert b.owner == "http://b" and b.token is not None and b.token > other.token
        assert d.renew({"pong/l1": a}) == set()  # a's renewal finds the claim gone to b
        assert d.owner("pong/l1") == "http://b"
        d.release("pong/l1", "http://a")  # not a's: nothing happens
        assert d.owner("pong/l1") == "http://b"
    finally:
        d.close()


def test_a_lease_not_renewed_in_time_is_no_longer_held_and_a_lost_one_never_again() -> None:
    lease = Lease("pong/r", Grant("http://a", 7), time.monotonic(), ttl_s=0.2)
    assert lease.held() and lease.token == 7
    time.sleep(0.2 * HELD_FRACTION + 0.02)
    assert not lease.held()  # before the directory's claim lapses (the rest of the ttl): no other owner yet
    lease.renewed(time.monotonic())
    assert lease.held()
    lease.lose()
    lease.renewed(time.monotonic())
    assert not lease.held()


def test_leases_renew_the_rooms_wanted_and_release_the_rest() -> None:
    directory = MemoryDirectory(ttl_s=10)

    async def story() -> tuple[bool, str | None, str | None, bool]:
        leases = Leases(LoopDirectory(directory), "http://a")
        kept = await leases.take("pong/kept")
        gone = await leases.take("pong/gone")
        assert isinstance(kept, Lease) and isinstance(gone, Lease)
        assert await leases.take("pong/kept") is kept  # the lease it holds, not another
        directory.release("pong/kept", "http://a")
        directory.claim("pong/kept", "http://b")  # taken behind its back (as after a lapse)
        leases.back(gone)
        leases.renew({"pong/kept"})  # pong/gone is no longer wanted nor used: released
        elsewhere = await leases.take("pong/kept")
        return kept.held(), directory.owner("pong/gone"), elsewhere.owner if isinstance(elsewhere, Grant) else None, \
            "pong/gone" in leases.held

    held, gone_owner, elsewhere, still = asyncio.run(story())
    assert not held and gone_owner is None and elsewhere == "http://b" and not still


def test_fencing_a_stalled_owners_late_checkpoint_is_never_resumed(built: Callable[[Path], Path], engine: Engine,
                                                                    tmp_path: Path) -> None:
    """Owner 1 (token 5) checkpoints, stalls; owner 2 (token 9) resumes and checkpoints; owner 1 wakes
    and writes again: the resume reads owner 2's head, and owner 2's objects all survive owner 1's
    sweep. Owner 1's writes once its lease is seen gone put nothing at all."""
    pong = Bundle.open(built(GAMES / "pong"))
    store = LocalStore(tmp_path / "store")
    checkpoints = Checkpoints(store, every_s=0.001, full_every=1, durable=False)
    prefix = room_prefix("pong", "f")
    hashes: dict[int, str] = {}

    async def story() -> tuple[int, int, set[str]]:
        old_lease = Lease("pong/f", Grant("http://a", 5), time.monotonic(), ttl_s=3600)
        first = Room("pong/f", pong, engine, **OPTIONS)
        token = first.join(p.Hello(p.PLAYER, bytes(p.TOKEN_SIZE), p.NO_BASE)).token
        old = checkpoints.writer("pong", "f", first, old_lease)
        await play(first, old, 40, hashes)
        await drained(checkpoints)
        second = checkpoints.open("pong", "f", pong, engine, {})  # owner 2 resumes owner 1's checkpoint
        assert second.tick == old.durable_tick
        second.join(p.Hello(p.PLAYER, token, p.NO_BASE))  # the player rejoins its seat on owner 2
        new = checkpoints.writer("pong", "f", second, Lease("pong/f", Grant("http://b", 9), time.monotonic(), ttl_s=3600))
        new_hashes: dict[int, str] = {}
        await play(second, new, 60, new_hashes)
        await drained(checkpoints)
        newer = {obj.key for obj in store.list(prefix) if fence_of(obj.key, prefix) == 9}
        await play(first, old, 80, hashes)  # owner 1 wakes: more heads and full snapshots, each swept after
        await drained(checkpoints)
        assert old.durable_tick > new.durable_tick  # its late head is newer by tick, and still loses
        left = {obj.key for obj in store.list(prefix)}
        assert newer <= left, newer - left  # nothing of owner 2's was swept away by owner 1
        resumed = checkpoints.open("pong", "f", pong, engine, {})
        at, state = resumed.tick, resumed.game.state_hash()
        assert state == new_hashes[at], "the resume did not continue owner 2's timeline"
        resumed.close()
        old_lease.lose()  # now owner 1 finds its lease gone: its writes fail before any put
        before = {obj.key: obj.size for obj in store.list(prefix)}
        await play(first, old, 20, hashes)
        await drained(checkpoints)
        assert {obj.key: obj.size for obj in store.list(prefix)} == before and old.failures >= 1
        first.close()
        second.close()
        return at, new.durable_tick, newer

    at, durable, newer = asyncio.run(story())
    assert at == durable
    assert newest_head(store, "pong", "f") == head_key("pong", "f", 9) in newer
    assert Checkpoint.decode(store.get(head_key("pong", "f", 9))).incarnation.startswith(f"{9:012d}-")
    checkpoints.close()


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_join_naming_a_gone_owner_takes_the_room_the_instant_its_lease_lapses(kind: str, redis_url: str) -> None:
    """``Leases.take(room, gone=OWNER)``: the directory still names OWNER, so the join waits for its
    claim to lapse (PTTL) and claims the room then, not a poll later; a hint naming another process
    than the owner, or an owner that keeps renewing (alive), changes nothing but that bounded wait."""
    ttl = 1.2  # a renewal every ttl / 4 keeps the claim unless one comes 0.9 s late (a loaded machine: not 0.45 s)
    late = ttl / 2  # a wait this much past the lapse: not claimed that instant (a second wait would be a ttl more)
    d = MemoryDirectory(ttl) if kind == "memory" else RedisDirectory(redis_url, ttl_s=ttl)

    async def story() -> None:
        loop_dir = LoopDirectory(d)
        b = Leases(loop_dir, "http://b")
        try:
            assert await loop_dir.expires_in("pong/g1") is None
            await loop_dir.lease("pong/g1", "http://a")  # a claims it, then dies: no renewal
            left = await loop_dir.expires_in("pong/g1")
            assert left is not None and 0 < left <= ttl
            assert await b.take("pong/g1", gone="http://c") == (await loop_dir.lease("pong/g1", "http://a"))  # not the owner
            started = time.monotonic()
            taken = await b.take("pong/g1", gone="http://a")
            waited = time.monotonic() - started
            assert isinstance(taken, Lease) and taken.grant.owner == "http://b" and taken.held()
            assert ttl * 0.5 < waited < ttl + late, waited  # the lapse itself, then at once

            alive = await loop_dir.lease("pong/g2", "http://a")

            async def renewing() -> None:
                for _ in range(6):
                    await asyncio.sleep(ttl / 4)
                    assert await loop_dir.renew({"pong/g2": alive}) == {"pong/g2"}

            renewals = asyncio.create_task(renewing())
            started = time.monotonic()
            named = await b.take("pong/g2", gone="http://a")  # a lie, or a network that cannot reach a live owner
            assert named == alive and time.monotonic() - started < ttl + late
            await renewals
        finally:
            await loop_dir.aclose()

    asyncio.run(story())
