"""How every Layer-W server process runs its app: one place for the event loop and WebSocket settings.

- The event loop is uvloop (libuv) where it exists (Linux, macOS): the room server's work is
  mostly small socket writes and timers, which uvloop does at a fraction of asyncio's cost.
  Windows has no uvloop and gets asyncio's own loop, said once at startup.
- WebSocket permessage-deflate is off: room frames are 7-100 bytes (deflate only adds work to
  them) and snapshots are zstd-compressed already.
- Before serving, everything the process holds after start-up (imported modules, the compiled
  engine, the app) is moved out of the garbage collector's reach (``gc.freeze``), so the rare
  full collections scan only what rooms allocate since, not the whole heap: shorter pauses.
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import Any

import uvicorn

log = logging.getLogger("layerw.server")

LOOP = "asyncio" if sys.platform == "win32" else "uvloop"


def config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's Config with Layer-W's loop and WebSocket settings; ``options`` adds or overrides."""
    settings: dict[str, Any] = {"log_level": "warning", "loop": LOOP, "ws": "websockets-sansio",
                                "ws_per_message_deflate": False}
    return uvicorn.Config(app, host=host, port=port, **(settings | options))


def serve(app: Any, host: str, port: int, **options: Any) -> None:
    """Run ``app`` until interrupted (the process's main job)."""
    if LOOP != "uvloop":
        log.warning("no uvloop on %s: rooms run on asyncio's own event loop (slower)", sys.platform)
    server = uvicorn.Server(config(app, host, port, **options))
    gc.collect()
    gc.freeze()
    server.run()
