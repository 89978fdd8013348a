"""A native room client (session.client.play_online) beside browser pages: it plays on its own
thread while a test drives the pages, and hands over its Outcome (or what it raised) at the end."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import Recording
from layerw.session.client import FrameHook, OnlineClient, Outcome, RoomAddress


class NativePlayer:
    def __init__(self, url: str, bundle: Bundle, engine: Engine, *, ticks: int,
                 keys: list[dict[str, Any]] | None = None, on_frame: FrameHook | None = None) -> None:
        self.recording = Recording()
        for change in keys or []:
            self.recording.changes[int(change["tick"])].append(change)  # type: ignore[arg-type]
        self.args = (RoomAddress.parse(url), bundle, engine)
        self.ticks = ticks
        self.on_frame = on_frame  # sees the client's replica after each frame (client.OnlineClient.play)
        self.result: Outcome | BaseException | None = None
        self.thread = threading.Thread(target=self._play)
        self.thread.start()

    def _play(self) -> None:
        try:
            self.result = asyncio.run(self._online())
        except BaseException as e:  # handed over by outcome()
            self.result = e

    async def _online(self) -> Outcome:
        address, bundle, engine = self.args
        client = OnlineClient(bundle, engine)
        try:
            return await client.play(address, ticks=self.ticks, recording=self.recording, on_frame=self.on_frame)
        finally:
            client.close()

    def outcome(self, timeout: float = 30) -> Outcome:
        """Its Outcome once it has played to the end; what it raised is raised here."""
        self.thread.join(timeout)
        if isinstance(self.result, BaseException):
            raise self.result
        if self.result is None:
            raise TimeoutError(f"the native client did not finish within {timeout} s")
        return self.result
