"""A room server in its own process for the rooms and attack benchmarks:
`python -m bench.room_server BUILD PORT [--default-limits]`.

The rooms benchmark's load comes from one address, so by default the per-address connection cap is
and room limits are lifted; the attack benchmark runs the server's own defaults (``--default-limits``).
With LAYERW_PROFILE=FILE in its environment it runs under cProfile and writes the statistics there on exit."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
from pathlib import Path

from layerw.server import run
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.server.limits import ConnectionLimits
from layerw.session.host import Limits

if __name__ == "__main__":
    build, port = Path(sys.argv[1]), int(sys.argv[2])
    if "--default-limits" in sys.argv:  # what a public server runs with
        limits, connections = Limits(), ConnectionLimits()
    else:  # rooms of a finished load step close quickly; the load generator is one address (all its rooms and joins)
        limits = Limits(max_rooms=512, empty_room_s=1.0, rooms_per_address=512, room_memory_per_address=8 << 30,
                        rooms_per_minute=60_000, room_burst=512, join_burst=4 * 512)
        connections = ConnectionLimits(max_connections_per_address=4096, new_connections_per_second=1e6,
                                       new_connection_burst=10**6)
    app = create_app(DirCatalog([build]), limits=limits)
    profile = os.environ.get("LAYERW_PROFILE")  # a file: the server's cProfile statistics, written when it stops
    if profile:
        signal.signal(signal.SIGTERM, lambda *_: None)  # uvicorn re-raises the signal it stopped on: let the dump happen
        with cProfile.Profile() as profiler:
            run.serve(app, "127.0.0.1", port, connections)
        profiler.dump_stats(profile)
    else:
        run.serve(app, "127.0.0.1", port, connections)
