"""The bench's network relay: it delays by half the round trip each way, keeps order under jitter,
and turns a lost chunk into a retransmission timeout."""

from __future__ import annotations

import asyncio
import time

from bench.netem import MIN_RTO_S, Network, Relay


async def _echo_server() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def _round_trips(network: Network, count: int) -> tuple[list[float], bytes]:
    server, port = await _echo_server()
    async with Relay(port, network, seed=1) as relay:
        reader, writer = await asyncio.open_connection("127.0.0.1", await relay.start())
        trips, got = [], b""
        for n in range(count):
            sent = time.monotonic()
            writer.write(bytes([n]))
            await writer.drain()
            got += await asyncio.wait_for(reader.readexactly(1), 5)
            trips.append(time.monotonic() - sent)
        burst = bytes(range(100, 200))
        for b in burst:  # many chunks in flight at once, each with its own jitter: still in order
            writer.write(bytes([b]))
            await writer.drain()
            await asyncio.sleep(0.001)
        got += await asyncio.wait_for(reader.readexactly(len(burst)), 10)
        writer.close()
        await writer.wait_closed()
        await asyncio.wait_for(reader.read(), 5)  # the relay passes the close on, after what was in flight
    server.close()
    await server.wait_closed()
    return trips, got


def test_the_relay_delays_by_the_round_trip_and_keeps_order() -> None:
    trips, got = asyncio.run(_round_trips(Network(0.06, jitter_s=0.01), 5))
    # 60 ms +/- 2 x 10 ms: never less; more by whatever a loaded machine adds to this process's wakeups (up to
    # 113 ms at load 23, one trip of five), so the relay's own delay is bounded by the least-disturbed trip:
    # a relay that delayed each way by the whole round trip would make every one at least 100 ms
    assert all(t >= 0.04 for t in trips) and min(trips) < 0.1, trips
    assert got == bytes(range(5)) + bytes(range(100, 200))


def test_a_lost_chunk_arrives_a_retransmission_timeout_later() -> None:
    trips, _ = asyncio.run(_round_trips(Network(0.02, loss=1.0), 2))
    assert all(t >= 2 * MIN_RTO_S for t in trips)  # both ways lost: two timeouts
