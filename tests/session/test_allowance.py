"""What a client may make a room do is bounded: joins per address, heals per connection and per
address; spectators' hashes and hashes older than the client's last heal ask for nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.allowance import Allowance, Bucket
from layerw.session.host import CLOSE_TRY_AGAIN, RoomHost
from tests.session.wire import Connection, room_host, wat_game

SLOW = 1e-6  # tokens a second: nothing refills during a test


def sample(host: RoomHost, name: str) -> float:
    return host.metrics.registry.get_sample_value(name, {"game": "wat"}) or 0.0


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = Bucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(now=0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(now=0.5) and not bucket.take(now=0.5)  # one token per half second
    peers = Allowance(rate=SLOW, burst=1, max_peers=2)
    assert peers.take("a", now=0.0) and not peers.take("a", now=0.0) and peers.take("b", now=0.0)
    assert peers.take("c", now=0.0) and list(peers.buckets) == ["b", "c"]  # the least recently seen is forgotten


def test_joins_past_an_address_allowance_are_refused(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine, join_burst=3, joins_per_second=SLOW)

    async def story() -> tuple[tuple[int, str], p.Welcome]:
        first = [Connection().open(host, "wat", "r") for _ in range(3)]
        for c in first:
            await c.welcome(role=p.SPECTATOR)
        refused = await Connection().open(host, "wat", "r").ended()  # closed before its HELLO is read
        elsewhere = Connection().open(host, "wat", "r", peer="192.0.2.7")
        welcome = await elsewhere.welcome()
        for c in [*first, elsewhere]:
            c.put(None)
        await asyncio.gather(*(c.ended() for c in [*first, elsewhere]))
        await host.close()
        return refused, welcome

    (code, reason), welcome = asyncio.run(story())
    assert code == CLOSE_TRY_AGAIN and "too many joins" in reason
    assert welcome.seat == 0  # another address still joins
    assert host.metrics.registry.get_sample_value("layerw_joins_total", {"game": "wat", "outcome": "refused"}) == 1


async def wrong_hashes(conn: Connection, host: RoomHost, count: int, player: bool = True) -> None:
    """Send ``count`` disagreeing hashes, each for a tick the room hashed after the previous one and
    after any heal so far (a hash from before a heal reached its client asks for nothing); a
    player's are each answered (healed or skipped) before the next."""
    run = host.runners[("wat", "r")]
    last = run.room.tick
    for _ in range(count):
        while max(run.room.hashes, default=-1) <= max([last, *(c.healed_to for c in run.clients)]):
            await conn.next(p.Frame)
        last = max(run.room.hashes)
        answered = answers(host)
        conn.put(p.hash_message(last, bytes(32)))
        if player:
            await counted(host, answered + 1)


def answers(host: RoomHost) -> float:
    return sample(host, "layerw_heals_total") + sample(host, "layerw_heals_skipped_total")


async def counted(host: RoomHost, wanted: float) -> None:
    """Wait (10 s at most) until ``wanted`` wrong hashes in all were healed or skipped."""
    for _ in range(1000):
        if answers(host) >= wanted:
            return
        await asyncio.sleep(0.01)


def test_heals_are_bounded_per_connection_and_per_address(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine, heal_burst=2, heals_per_second=SLOW, peer_heal_burst=3,
                     peer_heals_per_second=SLOW)

    async def story() -> list[int]:
        a, b = Connection().open(host, "wat", "r"), Connection().open(host, "wat", "r")
        await a.welcome()
        await b.welcome()
        await wrong_hashes(a, host, 4)  # 2 heals (its own allowance), 2 skipped
        await wrong_hashes(b, host, 2)  # 1 heal (what is left of the address's 3), 1 skipped
        for c in (a, b):
            c.put(None)
        await asyncio.gather(a.ended(), b.ended())
        await host.close()
        return [sum(1 for m in c.received if m[0] == p.STATE) for c in (a, b)]

    assert asyncio.run(story()) == [2, 1]
    assert (sample(host, "layerw_heals_total"), sample(host, "layerw_heals_skipped_total")) == (3, 3)


def test_spectators_and_hashes_older_than_a_heal_ask_for_nothing(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine, heal_burst=100, speed=10.0)

    async def story() -> tuple[int, int]:
        player, spectator = Connection().open(host, "wat", "r"), Connection().open(host, "wat", "r")
        await player.welcome()
        await spectator.welcome(role=p.SPECTATOR)
        await wrong_hashes(spectator, host, 3, player=False)
        await wrong_hashes(player, host, 1)
        run = host.runners[("wat", "r")]
        # read at once, not once the heal is read (the room runs 10x and forgets hashes 100 ticks old)
        healed_to = max(c.healed_to for c in run.clients)  # where the heal brings the player
        before = max(t for t in run.room.hashes if t <= healed_to)
        heal = await player.next(p.State)
        assert isinstance(heal, p.State) and heal.tick + len(heal.frames) == healed_to
        player.put(p.hash_message(before, bytes(32)))  # computed before the heal arrived: not healed again
        await wrong_hashes(player, host, 1)  # a tick past the heal: healed again
        await player.next(p.State)
        for c in (player, spectator):
            c.put(None)
        await asyncio.gather(player.ended(), spectator.ended())
        await host.close()
        return (sum(1 for m in spectator.received if m[0] == p.STATE), sum(1 for m in player.received if m[0] == p.STATE))

    assert asyncio.run(story()) == (0, 2)
    assert sample(host, "layerw_heals_total") == 2 and sample(host, "layerw_heals_skipped_total") == 0
