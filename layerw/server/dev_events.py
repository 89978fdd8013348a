"""DevEvents: what ``layerw dev --serve`` tells every open page, as a Server-Sent Events stream.

The dev loop publishes each build that now runs (its number, its warnings) and each failed build
(the compiler's file:line text) from its own thread; every page's ``GET /dev/events`` stream hears
them, the newest build first when it connects. Server-Sent Events rather than a WebSocket: the news
goes one way, and EventSource reconnects by itself (a page that lagged past ``MAX_QUEUED`` events is
cut off, reconnects, and hears the newest build).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

MAX_QUEUED = 64  # events a page's stream may lag behind before it is cut off (it reconnects)
HEARTBEAT_S = 15.0  # a comment line this often, so a closed tab's stream ends
RETRY_MS = 500  # how soon EventSource reconnects after the stream ends


def build_src(build: int) -> str:
    """Where a page fetches build ``build`` (dirSource's base URL)."""
    return f"/dev/builds/{build}/"


class Subscription:
    """One page's stream: the events published since it connected, on its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(MAX_QUEUED)

    def put(self, event: dict[str, Any] | None) -> None:
        """On the subscriber's loop: queue ``event`` (None ends the stream); a full queue ends it too."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.queue.get_nowait()
            self.queue.put_nowait(None)


class DevEvents:
    """The dev loop's news, fanned out to every open page. ``publish`` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self.latest: dict[str, Any] | None = None  # the newest "build" event: a page that connects hears it first
        self.closed = False

    def publish(self, event: dict[str, Any]) -> None:
        """Send ``event`` (a JSON object with a "type": "build" or "failed") to every open page; a
        build event gains its files' URL (``src``)."""
        if event.get("type") == "build":
            event = {**event, "src": build_src(int(event["build"]))}
        with self._lock:
            if event.get("type") == "build":
                self.latest = event
            subscribers = list(self._subscribers)
        for sub in subscribers:
            self._send(sub, event)

    @staticmethod
    def _send(sub: Subscription, event: dict[str, Any] | None) -> None:
        try:
            sub.loop.call_soon_threadsafe(sub.put, event)
        except RuntimeError:  # its loop has closed: the server stopped
            pass

    @property
    def pages(self) -> int:
        """Pages listening now."""
        with self._lock:
            return len(self._subscribers)

    async def stream(self) -> AsyncIterator[str]:
        """One page's event stream, as text/event-stream lines, until the page goes or ``close``."""
        sub = Subscription(asyncio.get_running_loop())
        with self._lock:
            if self.closed:
                return
            self._subscribers.add(sub)
            latest = self.latest
        try:
            yield f"retry: {RETRY_MS}\n\n"
            if latest is not None:
                yield _frame(latest)
            while True:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if event is None:
                    return
                yield _frame(event)
        finally:
            with self._lock:
                self._subscribers.discard(sub)

    def close(self) -> None:
        """End every page's stream (the server is stopping); later streams end at once."""
        with self._lock:
            self.closed = True
            subscribers = list(self._subscribers)
        for sub in subscribers:
            self._send(sub, None)


def _frame(event: dict[str, Any]) -> str:
    # Spec: HTML Living Standard, 9.2 Server-sent events: one "data:" line per line of the payload
    return "".join(f"data: {line}\n" for line in json.dumps(event).splitlines()) + "\n"
