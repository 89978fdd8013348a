"""Structured logs: game, room and tick fields on records from the runtime and rooms; JSON lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from layerw.observability.logs import ContextLog, JsonFormatter, use_json
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.room import Room
from tests.server_thread import free_port
from tests.wat import bundle as wat_bundle
from tests.wat import contract_wat

GUEST_LOGS = contract_wat(imports='(import "layerw" "log" (func $log (param i32 i32 i32)))',
                          tick="(call $log (i32.const 2) (i32.const 4096) (i32.const 5))",
                          extra='(data (i32.const 4096) "hello")')


def test_context_log_stamps_its_fields_and_the_current_tick(caplog: pytest.LogCaptureFixture) -> None:
    tick = [7]
    log = ContextLog(logging.getLogger("layerw.test"), tick=lambda: tick[0], game="pong")
    with caplog.at_level(logging.INFO, "layerw.test"):
        log.info("one", extra={"seat": 2})
        tick[0] = 8
        log.bind(room="pong/r")
        log.info("two")
    one, two = caplog.records
    assert (one.game, one.tick, one.seat) == ("pong", 7, 2)  # type: ignore[attr-defined]
    assert (two.game, two.room, two.tick) == ("pong", "pong/r", 8)  # type: ignore[attr-defined]


def test_a_guest_log_line_in_a_room_names_game_room_and_tick(tmp_path: Path, engine: Engine,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    room = Room("talky/r1", wat_bundle(tmp_path, GUEST_LOGS, name="talky"), engine, hash_every=1)
    with caplog.at_level(logging.INFO, "layerw.game"):
        room.step()
        room.step()
    guest = [r for r in caplog.records if r.getMessage() == "[talky] hello"]
    assert [(r.game, r.room, r.tick) for r in guest] == [("talky", "talky/r1", 0), ("talky", "talky/r1", 1)]  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, "layerw.room"):
        assert not room.check(1, p.Hash(2, bytes(32)))  # the room hashed tick 2; this client disagrees
    [desync] = [r for r in caplog.records if r.name == "layerw.room"]
    assert (desync.game, desync.room, desync.seat) == ("talky", "talky/r1", 1)  # type: ignore[attr-defined]
    room.close()


def test_json_lines_carry_the_fields() -> None:
    out = io.StringIO()
    logger = logging.getLogger("layerw.test.json")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(out))
    use_json(logger)
    try:
        ContextLog(logger, tick=lambda: 42, game="pong", room="pong/r").warning("desync %s", "x", extra={"seat": 1})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.handlers.clear()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "msg", "game", "room", "tick", "seat")} == {
        "level": "warning", "logger": "layerw.test.json", "msg": "desync x", "game": "pong", "room": "pong/r",
        "tick": 42, "seat": 1}
    assert first["ts"].endswith("Z") and "exc" not in first
    assert second["msg"] == "failed" and "ValueError: boom" in second["exc"]
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "m", "odd": object()})), str)


@pytest.mark.parametrize("trusted, client", [
    (None, "203.0.113.7"),  # the default trusts a proxy on this machine: the forwarded address counts
    ("10.1.2.3", "127.0.0.1"),  # a header from an untrusted peer is ignored
])
def test_serve_log_json_writes_json_lines(tmp_path: Path, trusted: str | None, client: str) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "layerw.cli", "serve", "--store", str(tmp_path / "store"), "--port", str(port),
           "--log-json", *(["--trusted-proxies", trusted] if trusted else [])]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/telemetry", content=json.dumps(
                    {"kind": "error", "game": "pong", "tick": 3, "error": "lost"}),
                    headers={"X-Forwarded-For": "203.0.113.7"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "layerw serve did not start"
                time.sleep(0.1)
        assert r.status_code == 204
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    [report] = [x for x in lines if x["logger"] == "layerw.client"]
    assert (report["level"], report["game"], report["tick"], report["error"]) == ("warning", "pong", 3, "lost")
    assert report["client"] == client  # what the per-client rate limit is keyed on
