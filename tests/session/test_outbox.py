"""Outbox: sends run inline when the socket takes them, queue in order behind one that waits, and
a client that stays behind is reported; plus a reader that stops reading, end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.host import CLOSE_TRY_AGAIN
from layerw.session.outbox import Outbox
from tests.session.wire import Connection, room_host, wat_game


class Socket:
    """A fake transport: ``blocked`` makes sends wait (flow control) until ``unblock``."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.fail: Exception | None = None

    async def send(self, data: bytes) -> None:
        await self.writable.wait()
        if self.fail is not None:
            raise self.fail
        self.sent.append(data)


def test_sends_the_socket_takes_run_inline_in_order() -> None:
    async def story() -> None:
        sock = Socket()
        box = Outbox(sock.send, limit=4, on_error=pytest.fail)
        tasks = len(asyncio.all_tasks())
        for i in range(100):
            assert box.push(bytes([i]))
            assert sock.sent[-1] == bytes([i])  # written before push returned
        assert len(asyncio.all_tasks()) == tasks  # no task was needed

    asyncio.run(story())


def test_a_waiting_send_queues_later_ones_in_order_up_to_the_limit() -> None:
    async def story() -> None:
        sock = Socket()
        box = Outbox(sock.send, limit=3, on_error=pytest.fail)
        sock.writable.clear()
        assert box.push(b"a")  # has to wait: a task finishes it
        assert all(box.push(m) for m in (b"b", b"c", b"d"))
        assert box.waiting == 3 and not box.push(b"e")  # full: the caller drops this client
        sock.writable.set()
        while box.waiting or len(sock.sent) < 4:
            await asyncio.sleep(0)
        assert sock.sent == [b"a", b"b", b"c", b"d"]
        assert box.push(b"f") and sock.sent[-1] == b"f"  # caught up: inline again

    asyncio.run(story())


@pytest.mark.parametrize("blocked", [False, True])
def test_a_failing_send_is_reported_once_and_later_pushes_are_dropped(blocked: bool) -> None:
    async def story() -> list[Exception]:
        sock = Socket()
        errors: list[Exception] = []
        box = Outbox(sock.send, limit=8, on_error=errors.append)
        sock.fail = ConnectionResetError("peer went away")
        if blocked:
            sock.writable.clear()
        box.push(b"a")
        box.push(b"b")
        sock.writable.set()
        for _ in range(10):
            await asyncio.sleep(0)
        box.push(b"c")
        return errors

    errors = asyncio.run(story())
    assert len(errors) == 1 and isinstance(errors[0], ConnectionResetError)


def test_a_send_that_raises_cancelled_error_is_its_failure_not_the_callers() -> None:
    async def cancelled(data: bytes) -> None:
        raise asyncio.CancelledError  # e.g. a transport torn down under the send

    async def story() -> list[BaseException]:
        errors: list[BaseException] = []
        box = Outbox(cancelled, limit=8, on_error=errors.append)
        assert box.push(b"a")  # does not raise into the room's beat
        return errors

    errors = asyncio.run(story())
    assert len(errors) == 1 and isinstance(errors[0], asyncio.CancelledError)


def test_close_cancels_a_waiting_send() -> None:
    async def story() -> Socket:
        sock = Socket()
        box = Outbox(sock.send, limit=8, on_error=pytest.fail)
        sock.writable.clear()
        box.push(b"a")
        box.push(b"b")
        box.close()
        for _ in range(5):
            await asyncio.sleep(0)
        sock.writable.set()
        for _ in range(5):
            await asyncio.sleep(0)
        return sock

    assert asyncio.run(story()).sent == []


class StalledReader(Connection):
    """A client whose socket stops taking data after the welcome: every later send waits."""

    def __init__(self) -> None:
        super().__init__()
        self.stall = asyncio.Event()

    async def _send(self, data: bytes) -> None:
        if self.received:  # the welcome went through; nothing after it does
            await self.stall.wait()
        await super()._send(data)


def test_a_client_that_stops_reading_is_dropped_and_the_room_keeps_its_beat(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine, queue_frames=30)

    async def story() -> tuple[tuple[int, str], int]:
        slow, fine = StalledReader().open(host, "wat", "r"), Connection().open(host, "wat", "r")
        await asyncio.gather(slow.welcome(), fine.welcome())
        closed = await slow.ended()
        room = host.runners[("wat", "r")].room
        at = room.tick
        while room.tick < at + 60:
            await fine.next(p.Frame)
        fine.put(None)
        await fine.ended()
        await host.close()
        return closed, room.tick - at

    (code, reason), ticked = asyncio.run(story())
    assert code == CLOSE_TRY_AGAIN and "too slow" in reason
    assert ticked >= 60
