"""Save routes: players' save slots in the store, so a player continues on another device or browser.

    GET    /saves/{game}           the player's slots of that game: [{"slot": NAME, "bytes": N}]
    GET    /saves/{game}/{slot}    the slot as stored (``saves.py``'s format: header with SHA-256, data); 404: none
    PUT    /saves/{game}/{slot}    replace it whole, atomically, with a body in that format
    DELETE /saves/{game}/{slot}

Identity needs no accounts: a player's client makes a random 32-byte key on first play and keeps
it; every request carries it (``Authorization: Bearer <64 hex digits>``) and the server derives
the player from it (``player_id``, its SHA-256), so nobody names a player, only proves one: a
claimed identity is never read, and without a player's key nobody reaches its slots. Slots live at
``saves/<player>/<game>/<slot>.slot``, a key no other route serves. A key that leaked (whoever
holds it is the player) is revoked by the operator (``revoke``: a mark in the store, so every
process sharing it sees it): every request with it is then 403, and its slots are neither read nor
written until the mark is deleted.

A PUT is read only up to its bound (the game's [saves] slot_bytes plus the header: 413 past it,
before anything is buffered beyond), checked (a torn or altered slot is 400, never stored), and
stored only within the game's [saves] total_bytes for this player and ``player_bytes`` for all of
the player's games (413). Writes of one player are serialised (``player_locks.py``: in this
process, or across every process sharing the Redis of ``--rooms``), so two at once cannot both pass
the quota. Requests are rate-limited per player and per client address (``save_rates.py``: counted
in this process, or in that Redis for the whole fleet): past it, 429 with Retry-After. Answers are
``Cache-Control: no-store``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from layerw.errors import NotPublished, SaveError, SessionError, StoreError
from layerw.saves import HEADER, SUFFIX, check_name, decode
from layerw.server.catalog import Catalog
from layerw.server.player_locks import LocalLocks, PlayerLocks
from layerw.server.save_rates import ADDRESS, PLAYER, SaveRates
from layerw.store.store import Store

SAVES = "saves/"
REVOKED = f"{SAVES}revoked/"  # + a player: that player's key is refused (no player is named "revoked": ids are hex)
_PLAYER = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^Bearer ([0-9a-f]{64})$")
PRIVATE = {"Cache-Control": "no-store"}


def player_id(key: bytes) -> str:
    """The player a key proves: its SHA-256 (hex). The key itself is never stored."""
    return hashlib.sha256(key).hexdigest()


def revoke(store: Store, player: str) -> None:
    """Refuse ``player``'s key (``player_id``'s hex) from now on, in every process that shares ``store``."""
    if not _PLAYER.match(player):
        raise SaveError(f"a player is 64 lowercase hex digits (the SHA-256 of its key), not {player!r}")
    store.put(f"{REVOKED}{player}", b"", durable=True)


@dataclass(frozen=True)
class SaveLimits:
    player_bytes: int = 16 << 20  # one player's saves of every game together (each game's own bound is its [saves])
    locks: int = 10_000  # players whose write locks are kept (least recently used dropped first)
    player_requests_per_second: float = 5.0  # one player's save requests, sustained (a game saves now and then)
    player_burst: int = 20
    address_requests_per_second: float = 20.0  # one client address's, all its players together
    address_burst: int = 60
    remembered: int = 10_000  # players and addresses whose allowances are kept (in this process)

    def rates(self, url: str | None) -> SaveRates:
        """These rates, counted in this process (``None``) or in the Redis at ``url`` for every process."""
        return SaveRates.open(url, self.player_requests_per_second, self.player_burst,
                              self.address_requests_per_second, self.address_burst, self.remembered)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SaveRoutes:
    """The save routes over one store, for the games of one catalog."""

    def __init__(self, store: Store, catalog: Catalog, limits: SaveLimits | None = None,
                 locks: PlayerLocks | None = None, rates: SaveRates | None = None) -> None:
        limits = limits or SaveLimits()
        self.store, self.catalog, self.limits = store, catalog, limits
        self.locks = locks or LocalLocks(limits.locks)
        self.rates = rates or limits.rates(None)
        self.routes = [Route("/saves/{game}", self.listing, methods=["GET"]),
                       Route("/saves/{game}/{slot}", self.slot, methods=["GET", "PUT", "DELETE"])]

    async def _take(self, kind: str, who: str) -> bool:
        try:
            return await run_in_threadpool(self.rates.take, kind, who) if self.rates.blocking else self.rates.take(kind, who)
        except SessionError as e:  # the shared counter unreachable: refuse rather than count nothing
            raise _Refused(503, str(e)) from e

    async def _player(self, request: Request) -> str:
        if not await self._take(ADDRESS, request.client.host if request.client else "unknown"):
            raise _Refused(429, "too many save requests from this address: try again in a few seconds")
        found = _KEY.match(request.headers.get("authorization", ""))
        if found is None:
            raise _Refused(401, "send the player's key: Authorization: Bearer <64 lowercase hex digits>")
        player = player_id(bytes.fromhex(found.group(1)))
        if not await self._take(PLAYER, player):
            raise _Refused(429, "too many save requests for this player: try again in a few seconds")
        if await run_in_threadpool(self.store.exists, f"{REVOKED}{player}"):
            raise _Refused(403, "this player's key is revoked on this server: its saves are neither read nor written")
        return player

    def _game(self, request: Request) -> str:
        game = str(request.path_params["game"])
        if game not in self.catalog.names():
            raise _Refused(404, f"no game {game!r} here")
        return game

    async def listing(self, request: Request) -> Response:
        try:
            prefix = f"{SAVES}{await self._player(request)}/{self._game(request)}/"
            objects = await run_in_threadpool(lambda: list(self.store.list(prefix)))
        except _Refused as e:
            return _answer(e)
        slots = sorted(({"slot": o.key[len(prefix):-len(SUFFIX)], "bytes": max(0, o.size - HEADER.size)}
                        for o in objects if o.key.endswith(SUFFIX)), key=lambda s: str(s["slot"]))
        return JSONResponse(slots, headers=PRIVATE)

    async def slot(self, request: Request) -> Response:
        try:
            player, game = await self._player(request), self._game(request)
            try:
                name = check_name(str(request.path_params["slot"]))
            except SaveError as e:
                raise _Refused(400, str(e)) from e
            key = f"{SAVES}{player}/{game}/{name}{SUFFIX}"
            if request.method == "GET":
                try:
                    return Response(await run_in_threadpool(self.store.get, key), media_type="application/octet-stream",
                                    headers=PRIVATE)
                except NotPublished:
                    raise _Refused(404, f"no save slot {name!r} of {game} for this player") from None
            async with self.locks.hold(player):
                if request.method == "DELETE":
                    await run_in_threadpool(self.store.delete, key)
                    return Response(status_code=204, headers=PRIVATE)
                await self._put(request, player, game, name, key)
            return Response(status_code=204, headers=PRIVATE)
        except _Refused as e:
            return _answer(e)
        except StoreError as e:
            return _answer(_Refused(503, f"the save store failed: {e}"))
        except SessionError as e:  # the cross-process lock: Redis unreachable, or the player's writes pile up
            return _answer(_Refused(503, str(e)))

    async def _put(self, request: Request, player: str, game: str, name: str, key: str) -> None:
        config = (await run_in_threadpool(self.catalog.bundle, game)).config
        bound = HEADER.size + config.save_slot_bytes
        body = bytearray()
        async for part in request.stream():  # read no further than the bound: a save bomb costs at most that
            body += part
            if len(body) > bound:
                raise _Refused(413, f"save slot {name!r} is over [saves] slot_bytes = {config.save_slot_bytes} of {game}")
        try:
            slot = decode(name, bytes(body))
        except SaveError as e:
            raise _Refused(400, f"{e}: nothing was stored") from e

        def within_quota() -> None:
            game_used = player_used = 0
            for obj in self.store.list(f"{SAVES}{player}/"):
                if obj.key != key:
                    player_used += obj.size
                    game_used += obj.size - HEADER.size if obj.key.startswith(f"{SAVES}{player}/{game}/") else 0
            if game_used + len(slot.data) > config.save_total_bytes:
                raise _Refused(413, f"{len(slot.data)} more bytes would put this player's saves of {game} over "
                                    f"[saves] total_bytes = {config.save_total_bytes}")
            if player_used + len(body) > self.limits.player_bytes:
                raise _Refused(413, f"this player's saves would be over the server's {self.limits.player_bytes} bytes")
            self.store.put(key, bytes(body), durable=True)

        await run_in_threadpool(within_quota)


def _answer(refused: _Refused) -> Response:
    retry = {"Retry-After": "2"} if refused.status in (429, 503) else {}
    return JSONResponse({"error": str(refused)}, status_code=refused.status, headers={**PRIVATE, **retry})


def save_routes(store: Store, catalog: Catalog, limits: SaveLimits | None = None,
                locks: PlayerLocks | None = None, rates: SaveRates | None = None) -> list[Route]:
    """The routes of a SaveRoutes (what ``create_app`` mounts beside a store's routes)."""
    return SaveRoutes(store, catalog, limits, locks, rates).routes


