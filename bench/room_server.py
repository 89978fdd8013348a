"""A room server in its own process for the rooms benchmark: `python -m bench.room_server BUILD PORT`."""

from __future__ import annotations

import sys
from pathlib import Path

from layerw.server import run
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session.host import Limits

if __name__ == "__main__":
    build, port = Path(sys.argv[1]), int(sys.argv[2])
    # rooms of a finished load step close quickly; the load generator joins all its players from one address
    limits = Limits(max_rooms=512, empty_room_s=1.0, join_burst=4 * 512)
    run.serve(create_app(DirCatalog([build]), limits=limits), "127.0.0.1", port)
