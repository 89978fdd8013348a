"""Attacks beside legitimate players: `python -m bench.attack [--only heal,cl-te] [--seconds 8] [--settle 60]`.

A room server (bench/room_server.py, the server's default limits) hosts a few pong rooms of four load
players each (bench/rooms.py's players, from 127.0.0.1); each attack class then runs for a bounded
time from another loopback address (127.0.0.66, so per-address limits tell the two apart) while the
bench samples the server's RSS, the legitimate rooms' p99 tick lateness (their own last 180 ticks,
from /rooms; the same figure just before the attack is its control) and a legitimate join's time.
After the attack stops it waits ``--settle`` seconds and reads RSS again. The attacker runs in a
process of its own: on the bench's loop, its callbacks (hundreds of connections a second) would
delay the legitimate client's own handshake and be measured as the server's join time. Each row says how the
attacker's connections ended (close codes, HTTP statuses) and the most it held at once as the server
holds it: sockets in the server process per peer address (/proc), rooms per creating address (the
operator's /rooms), seats in rooms it did not create. The bench measures what the server does; it
assumes no limit it does not see. ``--limits lifted`` runs the same attacks against the rooms bench's
lifted limits, for contrast; LAYERW_PROFILE=FILE profiles the server (bench/room_server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console
from websockets.protocol import State

from bench.loadclient import LoadClient
from bench.report import table
from bench.rooms import INPUT_EVERY, SEATS, Player, Shadow, _get_json, _wait_http
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.server.limits import ConnectionLimits
from layerw.session import protocol as p
from layerw.session.limits import Limits
from layerw.toolchain.build import build
from tests.server import hostile
from tests.server_thread import free_port

ROOT = Path(__file__).resolve().parents[1]
ATTACKER = "127.0.0.66"
BANNED = "no handshake (banned: SYN dropped)"  # what a connect that outlives the attack means (bans.py)
LATE_GOAL_MS, JOIN_FACTOR, RSS_SLACK = 5.0, 2.0, 0.10
FAIR_CONNECTIONS = ConnectionLimits().max_connections_per_address
FAIR_ROOMS, FAIR_SEATS = Limits().rooms_per_address, SEATS  # one address: the server's own room share, one room's seats


def _hex_ip(address: str) -> str:
    """An IPv4 address as /proc/net/tcp writes it (little-endian hex)."""
    return "".join(f"{int(b):02X}" for b in reversed(address.split(".")))


def held_by_address(pid: int) -> Counter[str]:
    """TCP connections process ``pid`` holds open (a descriptor on a socket), per remote address:
    what the server keeps, whatever its clients think (read from /proc, as ss or lsof would)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    names = {_hex_ip(a): a for a in (ATTACKER, "127.0.0.1")}
    held: Counter[str] = Counter()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        remote, inode = cols[2].split(":")[0], cols[9]
        if inode in inodes and remote != "00000000":
            held[names.get(remote, remote)] += 1
    return held


@dataclass
class Tally:
    """What one attack got, as the server holds it: connections open at once (counted on the server's
    side, per client address), rooms it created and held at once (the operator's view of /rooms names
    each room's creator), seats it was given and held at once, and how its connections ended."""

    peak_held: Counter[str] = field(default_factory=Counter)  # address -> most connections the server held from it
    peak_rooms: Counter[str] = field(default_factory=Counter)  # address -> most non-legitimate rooms it held
    seats_now: int = 0
    peak_seats: int = 0
    attempts: int = 0
    endings: Counter[str] = field(default_factory=Counter)

    def sample(self, held: Counter[str], rooms: Counter[str]) -> None:
        for address, n in held.items():
            self.peak_held[address] = max(self.peak_held[address], n)
        for address, n in rooms.items():
            self.peak_rooms[address] = max(self.peak_rooms[address], n)

    def seated(self, delta: int) -> None:
        self.seats_now += delta
        self.peak_seats = max(self.peak_seats, self.seats_now)

    def opened(self) -> None:
        self.attempts += 1

    def closed(self, how: str) -> None:
        self.endings[how] += 1


class Attack:
    """Connections from ATTACKER to one server, each one counted in the tally until it ends."""

    def __init__(self, port: int, deadline: float) -> None:
        self.port, self.deadline, self.tally = port, deadline, Tally()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    async def room(self, room: str, on_message: Callable[[LoadClient, bytes], None] | None = None,
                   role: int = p.PLAYER) -> LoadClient | None:
        """A player (or ``role``) in ``room`` (hello sent), or None when the server refused or closed the
        connection first. A seat the server gives it in a legitimate room counts in the tally until the
        connection ends (seats in rooms it created itself are its own)."""
        self.tally.opened()
        seated = [False]

        def seen(conn: LoadClient, data: bytes) -> None:
            welcome = room.startswith("legit-") and data[:1] == bytes([p.WELCOME])
            if not seated[0] and welcome and p.decode_server(data).seat != p.NO_SEAT:  # type: ignore[union-attr]
                seated[0] = True
                self.tally.seated(+1)
                conn.closed.add_done_callback(lambda f: self.tally.seated(-1))
            if on_message is not None:
                on_message(conn, data)
        try:
            conn = await asyncio.wait_for(LoadClient.connect(f"ws://127.0.0.1:{self.port}/rooms/pong/{room}", seen, ATTACKER),
                                          max(0.05, self.left()))
        except TimeoutError:
            self.tally.closed(BANNED)
            return None
        except Exception as e:
            self.tally.closed(_refusal(e))
            return None
        if conn.ws.state is not State.OPEN:  # refused right after the handshake (a join past the allowance)
            await self.leave(conn)
            return None
        conn.send(p.hello(role))
        return conn

    async def leave(self, conn: LoadClient) -> None:
        """Close ``conn`` unless the server did first; tally the code it closed with."""
        close, dropped = conn.ws.close_rcvd, conn.closed.done()
        if close is None and not dropped:
            conn.close()
            try:
                await asyncio.wait_for(asyncio.shield(conn.closed), 2.0)
            except Exception:
                pass
        self.tally.closed(f"ws {close.code}" if close is not None else "dropped" if dropped else "left")

    async def raw(self, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        self.tally.opened()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port, local_addr=(ATTACKER, 0)),
                                                    max(0.05, self.left()))
            writer.write(request)
            return reader, writer
        except TimeoutError:
            self.tally.closed(BANNED)
            return None
        except OSError as e:
            self.tally.closed(type(e).__name__)
            return None

    async def ending(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wait: float) -> None:
        """Read until the server closes (or ``wait`` passes) and tally what it said last."""
        data = b""
        try:
            while len(data) < 1 << 22:
                chunk = await asyncio.wait_for(reader.read(65536), max(0.05, wait))
                if not chunk:
                    break
                data += chunk
            how = _said(data) + " closed"
        except TimeoutError:
            how = _said(data) + " held"
        except OSError:
            how = _said(data) + " reset"
        writer.close()
        self.tally.closed(how)


def _refusal(e: Exception) -> str:
    status = getattr(getattr(e, "response", None), "status_code", None)
    return f"http {status}" if status is not None else type(e).__name__


def _said(data: bytes) -> str:
    if data.startswith(b"HTTP/1.1 101"):
        code = hostile.close_code(data[data.find(b"\r\n\r\n") + 4:])
        return f"ws {code}" if code is not None else "ws open"
    return f"http {data[9:12].decode()}" if data.startswith(b"HTTP/") else "silence"


async def heal(a: Attack) -> None:
    """Three spectators of a legitimate room and three players of a room of their own, each sending a
    wrong HASH for every frame (a player's asks for a heal; a spectator's should be ignored)."""
    def wrong(conn: LoadClient, data: bytes) -> None:
        msg = p.decode_server(data)
        if isinstance(msg, p.Frame):
            conn.send(p.hash_message(msg.tick, random.randbytes(32)))
    joins = [*(a.room("legit-0", wrong, p.SPECTATOR) for _ in range(3)), *(a.room("heal", wrong) for _ in range(3))]
    conns = [c for c in await asyncio.gather(*joins) if c]
    await asyncio.sleep(a.left())
    await asyncio.gather(*(a.leave(c) for c in conns))


def _resolver(future: asyncio.Future[None]) -> Callable[[LoadClient, bytes], None]:
    """A message callback that resolves ``future`` on the first message (a WELCOME)."""
    def on_message(client: LoadClient, data: bytes) -> None:
        if not future.done():
            future.set_result(None)
    return on_message


async def join_loop(a: Attack) -> None:
    """Eight connections joining a legitimate room and leaving as soon as they are welcomed, over and over."""
    async def loop() -> None:
        while a.left() > 0:
            welcomed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            conn = await a.room("legit-1", _resolver(welcomed))
            if conn is None:
                await asyncio.sleep(0.05)
                continue
            await asyncio.wait([welcomed, conn.closed], timeout=2.0, return_when=asyncio.FIRST_COMPLETED)
            await a.leave(conn)
    await asyncio.gather(*(loop() for _ in range(8)))


async def room_flood(a: Attack) -> None:
    """A new room per connection, as fast as the server takes them (at most 300), all held."""
    conns = []
    for i in range(300):
        if a.left() <= 0:
            break
        conn = await a.room(f"flood-{i}")
        if conn is not None:
            conns.append(conn)
    await asyncio.sleep(max(0.0, a.left()))
    await asyncio.gather(*(a.leave(c) for c in conns))


async def churn(a: Attack) -> None:
    """Waves of 20 new rooms opened and closed again."""
    wave = 0
    while a.left() > 0:
        conns = [c for c in await asyncio.gather(*(a.room(f"churn-{wave}-{i}") for i in range(20))) if c]
        await asyncio.sleep(0.5)
        await asyncio.gather(*(a.leave(c) for c in conns))
        wave += 1


async def oversized(a: Attack) -> None:
    """40 WebSockets each starting a 15.9 MiB frame and sending 64 KiB of it."""
    async def one(i: int) -> None:
        opened = await a.raw(hostile.upgrade(f"/rooms/pong/big-{i}"))
        if opened is not None:
            opened[1].write(hostile.frame(0x2, bytes(65536), length=int(15.9 * (1 << 20))))
            await a.ending(*opened, a.left())
    await asyncio.gather(*(one(i) for i in range(40)))


async def ping_flood(a: Attack) -> None:
    """One WebSocket sending 125-byte pings as fast as the server takes them, reading nothing until the end.
    (A blocking socket on a thread: once the server closes, what it wrote before -- its close frame --
    is still read from the socket, where an asyncio stream would drop it with the write's error.)"""
    a.tally.opened()
    sent, answer = await asyncio.to_thread(_flood_pings, a.port, a.left())
    a.tally.endings[f"{sent / 1e6:.1f} MB of pings taken"] += 1
    a.tally.closed(_said(answer) + " closed")


def _flood_pings(port: int, seconds: float) -> tuple[int, bytes]:
    """Pings on one WebSocket for ``seconds`` or until the server stops taking them; the bytes sent
    and everything the server wrote (read only at the end)."""
    deadline = time.monotonic() + seconds
    batch = b"".join(hostile.frame(0x9, b"p" * 125) for _ in range(500))
    with socket.create_connection(("127.0.0.1", port), timeout=2.0, source_address=(ATTACKER, 0)) as s:
        s.sendall(hostile.upgrade("/rooms/pong/pings"))
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := s.recv(4096)):  # the 101 first: pings on an open WebSocket
            answer += chunk
        sent = 0
        try:
            while time.monotonic() < deadline:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                s.sendall(batch)
                sent += len(batch)
        except OSError:  # reset, or the server stopped reading (a timeout)
            pass
        try:
            s.settimeout(1.0)
            while len(answer) < 1 << 22 and (chunk := s.recv(65536)):
                answer += chunk
        except OSError:
            pass
        return sent, answer


async def slowloris(a: Attack) -> None:
    """400 connections: half silent, half sending a header line a second and never ending the head."""
    async def one(i: int) -> None:
        opened = await a.raw(b"GET /rooms HTTP/1.1\r\n" if i % 2 else b"")
        if opened is None:
            return
        reader, writer = opened
        while i % 2 and a.left() > 1 and not reader.at_eof() and not writer.is_closing():
            writer.write(b"X-Slow: 1\r\n")
            await asyncio.sleep(1.0)
        await a.ending(reader, writer, a.left())
    await asyncio.gather(*(one(i) for i in range(400)))


async def cl_te(a: Attack) -> None:
    """Requests with both Content-Length and chunked Transfer-Encoding, from 8 connections in turn."""
    request = b"POST /telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    async def loop() -> None:
        while a.left() > 0:
            opened = await a.raw(request)
            if opened is not None:
                await a.ending(*opened, min(2.0, max(0.05, a.left())))
    await asyncio.gather(*(loop() for _ in range(8)))


ATTACKS: dict[str, Callable[[Attack], Coroutine[Any, Any, None]]] = {
    "heal": heal, "join-loop": join_loop, "room-flood": room_flood, "churn": churn, "oversized": oversized,
    "ping-flood": ping_flood, "slowloris": slowloris, "cl-te": cl_te}


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def join_seconds(port: int) -> float:
    """A legitimate spectator's time from connecting to its welcome (which carries the room's state)."""
    t0 = time.monotonic()
    welcomed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    conn = await LoadClient.connect(f"ws://127.0.0.1:{port}/rooms/pong/legit-0", _resolver(welcomed))
    conn.send(p.hello(p.SPECTATOR))
    await asyncio.wait_for(welcomed, 10.0)
    took = time.monotonic() - t0
    conn.close()
    return took


def legit_p99_ms(url: str, rooms: int) -> float:
    legit = [r for r in _get_json(f"{url}/rooms") if str(r["room"]).startswith("legit-")]
    if len(legit) < rooms:
        return float("inf")  # a legitimate room is gone
    return max(float(r["jitter_p99_ms"]) for r in legit)  # type: ignore[arg-type]


def rooms_by_owner(url: str) -> Counter[str]:
    """Rooms other than the legitimate ones, per the address that created them (the operator's /rooms)."""
    return Counter(str(r.get("owner")) for r in _get_json(f"{url}/rooms") if not str(r["room"]).startswith("legit-"))


def attacker(name: str, port: int, seconds: float, pipe: Connection) -> None:
    """The attack ``name`` in this (child) process: sends its deadline when it starts, then its Tally
    (or the error that stopped it)."""
    async def run() -> Tally:
        attack = Attack(port, time.monotonic() + seconds)
        pipe.send(attack.deadline)  # (the monotonic clock is the machine's: the parent reads the same)
        await ATTACKS[name](attack)
        return attack.tally
    try:
        pipe.send(uvloop.run(run()))
    except Exception as e:
        pipe.send(RuntimeError(f"attack {name} failed: {e!r}"))
        raise
    finally:
        pipe.close()


def wait_unbanned(port: int) -> None:
    """Wait until a connection from ATTACKER completes its handshake again: a ban an earlier class earned
    (``layerw/server/bans.py``) has lifted."""
    deadline = time.monotonic() + ConnectionLimits().ban_s + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3, source_address=(ATTACKER, 0)):
                return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ATTACKER} is still banned {ConnectionLimits().ban_s + 10:g} s on") from None


async def measure(name: str, port: int, pid: int, seconds: float, settle: float, rooms: int,
                  baseline_join: float) -> dict[str, object]:
    url = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(wait_unbanned, port)  # each class starts as a new offender
    await asyncio.sleep(3.0)  # the legitimate rooms' last 180 ticks with no attack: this class's control
    control = await asyncio.to_thread(legit_p99_ms, url, rooms)
    before = rss_bytes(pid)
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=attacker, args=(name, port, seconds, theirs),
                                                           name=f"attack {name}", daemon=True)
    process.start()
    theirs.close()
    try:
        deadline = float(await asyncio.to_thread(ours.recv))
        peak, join = before, float("nan")
        seen = Tally()  # the peaks the server holds, sampled here; the attacker's own tally comes at its end
        while process.is_alive() or time.monotonic() < deadline:  # an attack cut off early is measured to its end
            peak = max(peak, rss_bytes(pid))
            seen.sample(held_by_address(pid), await asyncio.to_thread(rooms_by_owner, url))
            if join != join and deadline - time.monotonic() < seconds * 0.4:
                join = sorted([await join_seconds(port) for _ in range(3)])[1]  # the median of three
            await asyncio.sleep(0.25)
        ended = await asyncio.to_thread(ours.recv)
    finally:
        process.join(10)
        ours.close()
    if isinstance(ended, Exception):
        raise ended
    t: Tally = ended
    p99 = await asyncio.to_thread(legit_p99_ms, url, rooms)
    seen.sample(held_by_address(pid), await asyncio.to_thread(rooms_by_owner, url))
    t.peak_held, t.peak_rooms = seen.peak_held, seen.peak_rooms
    await asyncio.sleep(min(settle, 1.0))
    held_after = held_by_address(pid)[ATTACKER]  # a second after the attack: what the server still holds from it
    await asyncio.sleep(max(0.0, settle - 1.0))
    after = rss_bytes(pid)
    held, got_rooms = t.peak_held[ATTACKER], t.peak_rooms[ATTACKER]
    return {"attack": name, "control_p99_ms": control,
            "rss_before": before, "rss_peak": peak, "rss_after": after, "p99_ms": p99, "join_s": join,
            "baseline_join_s": baseline_join, "attempts": t.attempts, "peak_connections": held,
            "held_after": held_after, "peak_rooms": got_rooms, "peak_seats": t.peak_seats, "endings": dict(t.endings),
            "ok_p99": p99 < LATE_GOAL_MS, "ok_join": join < JOIN_FACTOR * baseline_join,
            "ok_rss": after <= before * (1 + RSS_SLACK),
            "ok_fair": held <= FAIR_CONNECTIONS and got_rooms <= FAIR_ROOMS and t.peak_seats <= FAIR_SEATS}


async def _bench(port: int, pid: int, bundle: Bundle, engine: Engine, args: argparse.Namespace) -> list[dict[str, object]]:
    shadows = [Shadow(bundle, engine) for _ in range(args.rooms)]
    phases = random.Random(1)
    players = [Player(shadows[r], s, phases.randrange(INPUT_EVERY)) for r in range(args.rooms) for s in range(SEATS)]
    conns = await asyncio.gather(*(LoadClient.connect(f"ws://127.0.0.1:{port}/rooms/pong/legit-{i // SEATS}", pl.on_message)
                                   for i, pl in enumerate(players)))
    try:
        for conn in conns:
            conn.send(p.hello(p.PLAYER))
        await asyncio.sleep(3.0)  # every legitimate room past its first 180 ticks
        baseline = sorted([await join_seconds(port) for _ in range(3)])[1]
        print(f"baseline: legitimate rooms' p99 lateness {legit_p99_ms(f'http://127.0.0.1:{port}', args.rooms):.2f} ms, "
              f"join {baseline * 1e3:.0f} ms, server RSS {rss_bytes(pid) / (1 << 20):.0f} MiB")
        return [await measure(name, port, pid, args.seconds, args.settle, args.rooms, baseline) for name in args.only]
    finally:
        for conn in conns:
            conn.close()
        for shadow in shadows:
            shadow.replica.close()


def show(console: Console, rows: list[dict[str, object]], settle: float) -> None:
    def mib(n: object) -> str:
        return f"{int(n) / (1 << 20):.0f}"  # type: ignore[call-overload]

    def mark(ok: object) -> str:
        return "pass" if ok else "FAIL"
    t = table(f"Attacks beside legitimate pong rooms (RSS MiB before / peak / {settle:g} s after; goals: p99 < "
              f"{LATE_GOAL_MS:g} ms, join < {JOIN_FACTOR:g}x baseline, RSS after within {RSS_SLACK:.0%}, fair share)",
              "attack", "RSS MiB", "p99 late (before)", "join (baseline)", "attacker held / ended", "goals")
    for r in rows:
        endings = ", ".join(f"{k} x{v}" for k, v in sorted(r["endings"].items(), key=lambda kv: -kv[1]))  # type: ignore[attr-defined]
        t.add_row(str(r["attack"]), f"{mib(r['rss_before'])} / {mib(r['rss_peak'])} / {mib(r['rss_after'])}",
                  f"{r['p99_ms']:.2f} ms ({r['control_p99_ms']:.2f})",
                  f"{float(r['join_s']) * 1e3:.0f} ms ({float(r['baseline_join_s']) * 1e3:.0f})",  # type: ignore[arg-type]
                  f"{r['attempts']} tries; held at once {r['peak_connections']} conns ({r['held_after']} 1 s after), "
                  f"{r['peak_rooms']} rooms, {r['peak_seats']} seats; {endings}",
                  f"p99 {mark(r['ok_p99'])}, join {mark(r['ok_join'])}, RSS {mark(r['ok_rss'])}, fair {mark(r['ok_fair'])}")
    console.print(t)


def main(argv: list[str] | None = None, work: Path | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(prog="python -m bench.attack", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ATTACKS), help=f"comma-separated subset of {','.join(ATTACKS)}")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long each attack runs (default 8)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after an attack before RSS is read again "
                        "(default 10; the goal's figure is 60)")
    parser.add_argument("--rooms", type=int, default=3, help="legitimate pong rooms of four players (default 3)")
    parser.add_argument("--limits", choices=("default", "lifted"), default="default",
                        help="the server's own default limits, or the rooms bench's lifted ones (no per-address room, join "
                             "or connection bounds to speak of): the contrast shows what the limits do")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.only) - set(ATTACKS))
    if unknown:
        parser.error(f"unknown attacks {unknown}; choose from {list(ATTACKS)}")
    work = work or ROOT / "out" / "bench"
    pong = build(ROOT / "games" / "pong", work / "pong").out
    port = free_port()
    mode = ["--default-limits"] if args.limits == "default" else []
    server = subprocess.Popen([sys.executable, "-m", "bench.room_server", str(pong), str(port), *mode], cwd=ROOT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/rooms")
        with Engine(CpuLimit.EPOCH, cache=work / "modules") as engine:
            rows = uvloop.run(_bench(port, server.pid, Bundle.open(pong), engine, args))
    finally:
        server.terminate()
        server.wait(10)
    show(Console(width=max(Console().width, 160)), rows, args.settle)
    return rows


if __name__ == "__main__":
    main()
