"""Outbox: one client's outgoing messages, written in order, inline whenever the socket takes them.

A room server sends every client a frame every tick. Almost every send completes without ever
suspending (the socket's buffer has room), so ``push`` runs the send coroutine right there, inside
the caller's step: no task, no queue and no task switch per message. Only a send that has to wait
(the client reads slowly and the transport applies flow control) is finished by a task, and the
messages pushed meanwhile queue behind it, in order. Past ``limit`` queued messages the client is
too slow and ``push`` says so; the caller drops it.

(Python 3.12's eager tasks do the same for any coroutine; this is the part a room server needs,
on 3.11.)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Send = Callable[[bytes], Awaitable[None]]


class Outbox:
    def __init__(self, send: Send, limit: int, on_error: Callable[[BaseException], None]) -> None:
        self._send = send
        self.limit = limit
        self._on_error = on_error  # the transport failed: the connection is gone
        self._queued: deque[bytes] = deque()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def waiting(self) -> int:
        """Messages queued behind a send that is waiting for the socket."""
        return len(self._queued)

    def push(self, data: bytes) -> bool:
        """Send ``data`` now, or after the send in progress; False when ``limit`` messages already wait."""
        if self.closed:
            return True
        if self._task is not None:
            if len(self._queued) >= self.limit:
                return False
            self._queued.append(data)
            return True
        coro: Coroutine[Any, Any, None] = self._send(data)  # type: ignore[assignment]
        try:
            pending = coro.send(None)  # runs the send until it completes or first has to wait
        except StopIteration:
            return True
        except (Exception, asyncio.CancelledError) as e:  # the send's own failure, never the caller's
            self._fail(e)
            return True
        self._task = asyncio.get_running_loop().create_task(self._finish(coro, pending))
        return True

    async def _finish(self, coro: Coroutine[Any, Any, None], pending: Any) -> None:
        try:
            await _resume(coro, pending)
            while self._queued and not self.closed:
                await self._send(self._queued.popleft())
        except asyncio.CancelledError as e:
            if self.closed:  # close() stopped us
                raise
            self._fail(e)  # the send was cancelled under us: the connection is gone
        except Exception as e:
            self._fail(e)
        finally:
            self._task = None

    def _fail(self, e: BaseException) -> None:
        self.closed = True
        self._queued.clear()
        self._on_error(e)

    def close(self) -> None:
        """Stop sending: a send waiting for the socket is cancelled, queued messages are dropped, and
        the transport and error callback are let go (they often refer back to the outbox's owner:
        no reference cycle outlives the connection)."""
        self.closed = True
        self._queued.clear()
        self._send, self._on_error = _closed_send, _ignore
        if self._task is not None:
            self._task.cancel()


async def _closed_send(data: bytes) -> None:
    """The send of a closed outbox: nothing goes out."""


def _ignore(e: BaseException) -> None:
    """The error callback of a closed outbox: the connection is over already."""


async def _resume(coro: Coroutine[Any, Any, None], pending: Any) -> None:
    """Drive a coroutine that was started by hand and suspended on ``pending`` (what it yielded:
    an asyncio future, or None for a bare yield) to its end, as a task would."""
    try:
        while True:
            if pending is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait([pending])  # until it is done; its outcome is the coroutine's to see
            pending = coro.send(None)
    except StopIteration:
        return
    except asyncio.CancelledError:
        if pending is not None:
            pending.cancel()
        coro.close()
        raise
