"""Netem: a TCP relay on loopback that plays a network — delay, jitter and loss — between client and server.

Each direction delays every chunk it relays by half the round trip plus a uniform jitter; a lost
segment is what TCP makes of it, a retransmission: that chunk (and, in order, everything behind it)
arrives one retransmission timeout later. Order is kept, as TCP keeps it, so jitter and loss also
hold back what follows (head-of-line blocking). Seeded: two runs see the same network.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from dataclasses import dataclass

MIN_RTO_S = 0.2  # Linux's minimum retransmission timeout
MAX_QUEUED = 4096  # chunks in flight per direction before the relay stops reading (backpressure)


@dataclass(frozen=True)
class Network:
    rtt_s: float
    jitter_s: float = 0.0  # each way, uniform in [-jitter, +jitter]
    loss: float = 0.0  # share of chunks retransmitted

    def one_way(self, rng: random.Random) -> float:
        delay = self.rtt_s / 2 + rng.uniform(-self.jitter_s, self.jitter_s)
        if rng.random() < self.loss:
            delay += max(MIN_RTO_S, 2 * self.rtt_s)
        return max(0.0, delay)


class Relay:
    """Listens on 127.0.0.1 and relays each connection to ``target_port`` through ``network``."""

    def __init__(self, target_port: int, network: Network, seed: int = 0) -> None:
        self.target_port = target_port
        self.network = network
        self.rng = random.Random(seed)
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Start listening; returns the port clients connect to."""
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        me = asyncio.current_task()
        if me is not None:
            self.tasks.add(me)  # close() ends it, and with it both pipes
        writers = [client_w]
        pipes: list[asyncio.Task[None]] = []
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
            writers.append(server_w)
            pipes = [asyncio.create_task(self._pipe(client_r, server_w)),
                     asyncio.create_task(self._pipe(server_r, client_w))]
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            for writer in writers:
                writer.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await writer.wait_closed()
            if me is not None:
                self.tasks.discard(me)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction: read at once, deliver each chunk at its time and never before the one ahead."""
        loop = asyncio.get_running_loop()
        queue: deque[tuple[float, bytes]] = deque()
        arrived = asyncio.Event()
        space = asyncio.Event()
        space.set()

        async def deliver() -> None:
            while True:
                while not queue:
                    arrived.clear()
                    await arrived.wait()
                due, data = queue[0]
                await asyncio.sleep(max(0.0, due - loop.time()))
                queue.popleft()
                space.set()
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        last_due = 0.0
        try:
            while data := await reader.read(65536):
                last_due = max(last_due, loop.time() + self.network.one_way(self.rng))
                queue.append((last_due, data))
                arrived.set()
                if len(queue) >= MAX_QUEUED:
                    space.clear()
                    await space.wait()
            while queue and not sender.done():  # the peer closed: what is in flight still arrives
                await asyncio.sleep(0.01)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
