"""Every constant of the lockstep wire, defined once: message types, sizes, close codes, limits.

The server (host.py, room.py), the native client and the codecs (protocol.py) import them from
here; ``layerw.toolchain.codegen`` writes every upper-case name below into ``layerw/web/wire.js``
for the browser, and a test fails while that file differs. Values only: no behaviour.
"""

from __future__ import annotations

from layerw import abi

VERSION = 2  # bumped on any change to a message's layout (2: PING/PONG)

# Message type bytes (the first byte of every message). Client -> server:
HELLO, INPUT, HASH, PING = 0x01, 0x02, 0x03, 0x04
# Server -> client:
WELCOME, STATE, FRAME, PONG = 0x10, 0x11, 0x12, 0x13

PLAYER, SPECTATOR = 0, 1  # HELLO's role byte
FULL, DELTA = 0, 1  # a STATE's snapshot: whole, or a block delta against a snapshot the client holds
NO_SEAT = 255  # WELCOME's seat for a spectator
NO_BASE = 0xFFFFFFFF  # HELLO's base tick when the client holds no snapshot

TOKEN_SIZE = 16  # bytes of a seat token (zeros in HELLO: a new seat)
HASH_SIZE = 32  # bytes of a HASH's digest (SHA-256 of the game state)
PING_SIZE = 8  # bytes of a PING's payload, echoed by its PONG (the client's clock: the server never reads it)
PING_EVERY_S = 0.5  # between a predicting client's round-trip measurements (a PING each)
MAX_CLIENT_MESSAGE = 1 + 4 + abi.PLAYER.size  # the largest message a client may send (an INPUT)
MAX_SERVER_MESSAGE = 64 << 20  # the largest message a client accepts (a STATE with a full snapshot)

KEPT_SNAPSHOTS = 4  # snapshots a room and each client keep, so a rejoining client can get a block delta
MAX_AHEAD = 120  # an INPUT may target at most this many ticks ahead of the room
GRACE_TICKS = 600  # a dropped player's seat is kept this many ticks (10 s at the default tick rate)
RETRY_DELAYS_MS = (200, 400, 800, 1600, 3200, 3200)  # a browser's rejoin backoff: 9.4 s, inside the grace
MAX_REDIRECTS = 3  # CLOSE_ELSEWHERE hops a client follows before it gives up

# WebSocket close codes (RFC 6455 section 7.4.1), and the one of Layer-W's own.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL = 1002
CLOSE_UNSUPPORTED = 1003
CLOSE_INVALID_DATA = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013
CLOSE_ELSEWHERE = 4307  # the room lives on another server, whose URL is the close reason
CLOSE_ROOM_LOST = 4410  # the room could not be resumed from its checkpoint and started over: this seat is gone
CLOSE_OUT_OF_STEP = 4409  # a player sent inputs but stopped acknowledging the room's frames (OutOfStep)

# Closes after which rejoining cannot help: the client fails at once instead of retrying.
NO_RETRY = (CLOSE_PROTOCOL, CLOSE_UNSUPPORTED, CLOSE_INVALID_DATA, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INTERNAL,
            CLOSE_ROOM_LOST)

# What a close means, in words a player reads.
CLOSE_MEANINGS = {
    CLOSE_NORMAL: "the room ended this connection", CLOSE_GOING_AWAY: "the server went away",
    CLOSE_PROTOCOL: "the server refused a malformed message", CLOSE_POLICY: "the server refused this client",
    CLOSE_TOO_BIG: "a message was too big", CLOSE_INTERNAL: "the game stopped on the server",
    CLOSE_RESTART: "the server is restarting: rejoin in a moment", CLOSE_TRY_AGAIN: "the server is busy: try again later",
    CLOSE_ROOM_LOST: "the room could not be resumed and started over: join it again",
    CLOSE_OUT_OF_STEP: "this client stopped acknowledging the room's frames",
}
