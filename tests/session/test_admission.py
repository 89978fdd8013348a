"""Creating rooms: one build shared by concurrent joins, and the admission's bounds — rooms and memory
per client address (fair share) and in all, and creations per address per minute."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.snapshot import PAGE
from layerw.session import protocol as p
from layerw.session.admission import Admission, RoomKey, footprint
from layerw.session.host import CLOSE_INTERNAL, CLOSE_POLICY, CLOSE_TRY_AGAIN, Limits, RoomHost
from layerw.session.room import KEPT_SNAPSHOTS, Room
from tests.session.wire import Connection, wat_game
from tests.wat import bundle as wat_bundle
from tests.wat import contract_wat

OPTIONS = {"hash_every": 10, "snapshot_every": 60}


class Source:
    """The host's bundle source: counts the rooms built from it, each after ``delay`` seconds (a slow store)."""

    def __init__(self, bundle: Bundle, delay: float = 0.0) -> None:
        self.bundle, self.delay, self.calls = bundle, delay, 0
        self.threads: set[str] = set()

    def __call__(self, name: str) -> Bundle:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        return self.bundle


def make_host(source: Source, engine: Engine, **limits: float) -> RoomHost:
    return RoomHost(source, engine, Limits(**{"speed": 50.0, **limits}), OPTIONS)  # type: ignore[arg-type]


async def join(host: RoomHost, room: str, peer: str, role: int = p.PLAYER) -> Connection:
    c = Connection().open(host, "wat", room, peer)
    await c.welcome(role=role)
    return c


async def refused(host: RoomHost, room: str, peer: str) -> tuple[int, str]:
    c = Connection().open(host, "wat", room, peer)
    c.put(p.hello(p.PLAYER, bytes(p.TOKEN_SIZE)))
    return await c.ended()


async def leave(*conns: Connection) -> None:
    for c in conns:
        c.put(None)
    await asyncio.gather(*(c.ended() for c in conns))


def test_one_address_keeps_at_most_its_share_of_rooms_and_another_can_still_create(tmp_path: Path,
                                                                                   engine: Engine) -> None:
    host = make_host(Source(wat_game(tmp_path)), engine, rooms_per_address=2, empty_room_s=0.3)

    async def story() -> None:
        a1, a2 = await join(host, "r1", "10.0.0.1"), await join(host, "r2", "10.0.0.1")
        code, reason = await refused(host, "r3", "10.0.0.1")
        assert code == CLOSE_POLICY and "rooms_per_address 2" in reason and "10.0.0.1" in reason, reason
        again = await join(host, "r2", "10.0.0.1")  # joining a room it already keeps creates nothing: allowed
        b = await join(host, "r3", "10.0.0.2")  # the share is per address: another one still creates rooms
        assert sorted(host.runners) == [("wat", "r1"), ("wat", "r2"), ("wat", "r3")]
        await leave(a1)
        while ("wat", "r1") in host.runners:  # the empty room closes after empty_room_s and frees the address's share
            await asyncio.sleep(0.05)
        a3 = await join(host, "r4", "10.0.0.1")
        assert host.admission.owners == {("wat", "r2"): "10.0.0.1", ("wat", "r3"): "10.0.0.2", ("wat", "r4"): "10.0.0.1"}
        await leave(a2, again, b, a3)
        await host.close()

    asyncio.run(story())
    assert host.admission.owners == {}


class SteppedAdmission(Admission):
    """Admission on a clock the test moves: the host's own clock goes on while a loaded machine builds
    rooms, and a second (the rate's one token) could pass between two creations the test means as a burst."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        self.now = time.monotonic()

    def admit(self, key: RoomKey, peer: str, in_use: Mapping[RoomKey, int], now: float) -> None:
        super().admit(key, peer, in_use, self.now)


def test_room_creation_is_rate_limited_per_address(tmp_path: Path, engine: Engine) -> None:
    host = make_host(Source(wat_game(tmp_path)), engine, rooms_per_minute=60, room_burst=2)
    host.admission = admission = SteppedAdmission(host.limits)

    async def story() -> None:
        a = [await join(host, "r1", "10.0.0.1"), await join(host, "r2", "10.0.0.1")]
        code, reason = await refused(host, "r3", "10.0.0.1")
        assert code == CLOSE_POLICY and "too fast" in reason and "60 a minute" in reason, reason
        a.append(await join(host, "r1", "10.0.0.1"))  # a join into an open room is not a creation
        b = await join(host, "r3", "10.0.0.2")  # another address has its own allowance
        admission.now += 1.0  # one creation a second comes back
        a.append(await join(host, "r4", "10.0.0.1"))
        await leave(*a, b)
        await host.close()

    asyncio.run(story())


def test_room_memory_is_bounded_in_all_and_per_address(tmp_path: Path, engine: Engine) -> None:
    big = wat_bundle(tmp_path / "big", contract_wat(pages=16), name="wat")  # 1 MiB of linear memory
    probe = Room("probe", big, engine, **OPTIONS)
    size = footprint(probe)
    assert size == 16 * PAGE + KEPT_SNAPSHOTS * len(probe.saved[-1].snapshot.memory) > 4 * PAGE * 16
    probe.close()
    host = make_host(Source(big), engine, room_memory_bytes=int(2.5 * size), room_memory_per_address=int(1.5 * size))

    async def story() -> None:
        a = await join(host, "r1", "10.0.0.1")
        code, reason = await refused(host, "r2", "10.0.0.1")  # two of its rooms would pass one address's share
        assert code == CLOSE_POLICY and "share" in reason, reason
        b = await join(host, "r2", "10.0.0.2")
        code, reason = await refused(host, "r3", "10.0.0.3")  # a third room would pass the server's total
        assert code == CLOSE_TRY_AGAIN and "room_memory_bytes" in reason, reason
        assert sorted(host.runners) == [("wat", "r1"), ("wat", "r2")]
        await leave(a, b)
        await host.close()

    asyncio.run(story())


def test_a_room_found_larger_than_estimated_is_refused_once_built(tmp_path: Path, engine: Engine) -> None:
    """A game's first room has no estimate: it is built, measured, then refused and closed; its
    next room is refused before anything is built."""
    big = wat_bundle(tmp_path / "big", contract_wat(pages=16), name="wat")
    source = Source(big)
    host = make_host(source, engine, room_memory_bytes=2 * PAGE * 16)

    async def story() -> list[tuple[int, str]]:
        out = [await refused(host, "r1", "10.0.0.1"), await refused(host, "r1", "10.0.0.1")]
        assert host.runners == {} and host.admission.owners == {} and host.admission.building == {}
        await host.close()
        return out

    (code1, reason1), (code2, _) = asyncio.run(story())
    assert code1 == code2 == CLOSE_TRY_AGAIN and "room_memory_bytes" in reason1, reason1
    assert source.calls == 1


def test_joins_to_a_new_room_share_one_build_off_the_loop(tmp_path: Path, engine: Engine) -> None:
    source = Source(wat_game(tmp_path), delay=0.3)
    host = make_host(source, engine)

    async def story() -> list[p.Welcome]:
        conns = [Connection().open(host, "wat", "r", "10.0.0.1") for _ in range(3)]
        welcomes = list(await asyncio.gather(*(c.welcome() for c in conns)))
        await leave(*conns)
        await host.close()
        return welcomes

    welcomes = asyncio.run(story())
    assert sorted(w.seat for w in welcomes) == [0, 1, 2]
    assert source.calls == 1 and all(name.startswith("layerw-room-build") for name in source.threads), source.threads


def test_a_failed_build_refuses_every_join_waiting_on_it(tmp_path: Path, engine: Engine) -> None:
    source = Source(wat_bundle(tmp_path / "bad", contract_wat(init="unreachable"), name="wat"), delay=0.2)
    host = make_host(source, engine)

    async def story() -> list[tuple[int, str]]:
        closed = list(await asyncio.gather(*(refused(host, "r", f"10.0.0.{i}") for i in range(3))))
        await host.close()
        return closed

    closed = asyncio.run(story())
    assert all(code == CLOSE_INTERNAL and "the game failed to start" in reason for code, reason in closed), closed
    assert source.calls == 1
    assert host.runners == {} and host.admission.owners == {}
    assert host.metrics.registry.get_sample_value("layerw_traps_total", {"game": "wat", "code": "unreachable"}) == 1


def test_the_admission_forgets_idle_addresses_past_its_bound_never_one_holding_a_room() -> None:
    admission = Admission(Limits(addresses=2))
    admission.admit(("wat", "a"), "10.0.0.1", {}, now=0.0)  # holds room a from here on
    for room, peer in (("b", "10.0.0.2"), ("c", "10.0.0.3")):
        admission.admit(("wat", room), peer, {}, now=0.0)
        admission.release(("wat", room))
    assert list(admission.buckets) == ["10.0.0.1", "10.0.0.3"]  # the oldest idle one went, not the oldest


def test_one_address_holds_at_most_its_share_of_seats_in_rooms_others_created(tmp_path: Path, engine: Engine) -> None:
    host = make_host(Source(wat_game(tmp_path)), engine, seats_per_address=2)

    async def story() -> None:
        owners = [await join(host, "r1", "10.0.0.1"), await join(host, "r2", "10.0.0.1")]
        b1, b2 = await join(host, "r1", "10.0.0.2"), await join(host, "r1", "10.0.0.2")
        code, reason = await refused(host, "r2", "10.0.0.2")  # a third seat in others' rooms
        assert code == CLOSE_POLICY and "seats_per_address 2" in reason and "10.0.0.2" in reason, reason
        watching = await join(host, "r2", "10.0.0.2", role=p.SPECTATOR)  # watching takes no seat
        own = [await join(host, "r3", "10.0.0.2") for _ in range(3)]  # the room it created is its own to fill
        c = await join(host, "r2", "10.0.0.3")  # the share is per address
        welcome = p.decode_server(b1.received[0])
        assert isinstance(welcome, p.Welcome)
        await leave(b1)  # its seat is kept (away): still held, so still counted
        code, _ = await refused(host, "r2", "10.0.0.2")
        assert code == CLOSE_POLICY
        back = Connection().open(host, "wat", "r1", "10.0.0.2")  # a rejoin by token takes no new seat: allowed
        assert (await back.welcome(token=welcome.token)).seat == welcome.seat
        await leave(back)
        while welcome.token in [s.token for s in host.runners[("wat", "r1")].room.seats]:  # the grace runs out
            await asyncio.sleep(0.02)
        b3 = await join(host, "r2", "10.0.0.2")  # a freed seat no longer counts
        await leave(*owners, b2, watching, *own, c, b3)
        await host.close()

    asyncio.run(story())
