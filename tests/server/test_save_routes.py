"""Players' saves on a real server over a real store: a player continues on another device with its
key; nobody reads or overwrites another player's slots, whatever identity it claims; quotas, save
bombs and torn slots are refused typed, and a refused write leaves the slot as it was."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from layerw.errors import SaveCorrupt, SaveError, SaveTooBig, SaveUnauthorized
from layerw.play.online_saves import OnlineSaves, PlayerKey
from layerw.saves import Slot, encode
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.server.save_routes import SaveLimits, player_id, revoke, save_routes
from layerw.store.local import LocalStore
from tests.conftest import GAMES
from tests.server_thread import serving


@pytest.fixture(scope="module")
def catalog(built: Callable[[Path], Path]) -> DirCatalog:
    return DirCatalog([built(GAMES / "pong")])


@pytest.fixture
def server(catalog: DirCatalog, tmp_path: Path) -> Iterator[tuple[str, LocalStore]]:
    store = LocalStore(tmp_path / "store")
    with serving(create_app(catalog, store=store)) as url:
        yield url, store


def test_a_player_continues_on_another_device_and_nobody_else_sees_its_saves(server: tuple[str, LocalStore],
                                                                             tmp_path: Path) -> None:
    url, store = server
    alice_key = PlayerKey.load_or_create(tmp_path / "laptop" / "player.key")
    assert stat.S_IMODE(os.stat(tmp_path / "laptop" / "player.key").st_mode) == 0o600
    (tmp_path / "phone").mkdir()
    (tmp_path / "phone" / "player.key").write_bytes((tmp_path / "laptop" / "player.key").read_bytes())  # copied over
    bob_key = PlayerKey.load_or_create(tmp_path / "bob.key")
    assert bob_key.key != alice_key.key
    with OnlineSaves(url, "pong", alice_key) as laptop, \
            OnlineSaves(url, "pong", PlayerKey.load_or_create(tmp_path / "phone" / "player.key")) as phone, \
            OnlineSaves(url, "pong", bob_key) as bob:
        laptop.write("main", b"level 7", 3)
        assert phone.read("main") == Slot(3, b"level 7") and phone.names() == ["main"]
        assert bob.read("main") is None and bob.names() == []
        bob.write("main", b"bob's own", 1)  # the same slot name is bob's own slot
        assert laptop.read("main") == Slot(3, b"level 7")
        bob.delete("main")
        assert laptop.read("main") == Slot(3, b"level 7")
    # No key is stored, only what it proves (its SHA-256), and nothing in the store names a player otherwise.
    keys = [o.key for o in store.list("saves/")]
    assert sorted(keys) == [f"saves/{hashlib.sha256(alice_key.key).hexdigest()}/pong/main.slot"]
    assert all(alice_key.key.hex() not in k for k in keys)


def test_a_claimed_identity_is_never_trusted(server: tuple[str, LocalStore], tmp_path: Path) -> None:
    url, _ = server
    alice = PlayerKey.load_or_create(tmp_path / "alice.key")
    with OnlineSaves(url, "pong", alice) as saves:
        saves.write("main", b"secret progress", 1)
    alice_id = hashlib.sha256(alice.key).hexdigest()
    with httpx.Client(base_url=url) as http:
        # Her player id, sent as if it were a key, is another player (whose id is the id's own hash).
        forged = http.get("/saves/pong/main", headers={"Authorization": f"Bearer {alice_id}"})
        assert forged.status_code == 404
        # Headers that name a player are not read at all; without a key nothing is answered.
        for headers in ({"X-Player": alice_id}, {"Authorization": f"Player {alice_id}"}, {"Authorization": "Bearer xyz"}):
            for method, body in (("GET", None), ("PUT", encode(Slot(9, b"overwritten")))):
                r = http.request(method, "/saves/pong/main", headers=headers, content=body)
                assert r.status_code == 401 and "player's key" in r.json()["error"], (headers, r.text)
    with OnlineSaves(url, "pong", alice) as saves:
        assert saves.read("main") == Slot(1, b"secret progress")
    with pytest.raises(SaveUnauthorized):
        _unkeyed(url)


def test_a_revoked_key_is_refused_and_its_slots_kept(server: tuple[str, LocalStore], tmp_path: Path) -> None:
    url, store = server
    leaked, other = PlayerKey.load_or_create(tmp_path / "leaked.key"), PlayerKey.load_or_create(tmp_path / "other.key")
    with OnlineSaves(url, "pong", leaked) as saves:
        saves.write("main", b"progress", 1)
    revoke(store, player_id(leaked.key))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {leaked.key.hex()}"}) as http:
        for method, path, body in (("GET", "/saves/pong", None), ("GET", "/saves/pong/main", None),
                                   ("PUT", "/saves/pong/main", encode(Slot(2, b"overwritten"))),
                                   ("DELETE", "/saves/pong/main", None)):
            r = http.request(method, path, content=body)
            assert r.status_code == 403 and "revoked" in r.json()["error"], (method, path, r.text)
    with OnlineSaves(url, "pong", other) as saves:  # another player's key is not touched by it
        saves.write("main", b"mine", 1)
        assert saves.read("main") == Slot(1, b"mine")
    assert store.get(f"saves/{player_id(leaked.key)}/pong/main.slot") == encode(Slot(1, b"progress"))
    with pytest.raises(SaveError, match="64 lowercase hex"):
        revoke(store, "not a player")


def test_a_revoked_key_is_save_unauthorized_to_the_native_client(server: tuple[str, LocalStore], tmp_path: Path) -> None:
    """Every call of a revoked player's OnlineSaves raises SaveUnauthorized (a PermissionError, as the
    browser names the same refusal), saying why, and changes nothing."""
    url, store = server
    leaked = PlayerKey.load_or_create(tmp_path / "leaked.key")
    with OnlineSaves(url, "pong", leaked) as saves:
        saves.write("main", b"progress", 1)
        revoke(store, player_id(leaked.key))
        calls: list[Callable[[], object]] = [saves.names, lambda: saves.read("main"),
                                              lambda: saves.write("main", b"overwritten", 2), lambda: saves.delete("main")]
        for call in calls:
            with pytest.raises(SaveUnauthorized, match=r"\(403\): this player's key is revoked") as refused:
                call()
            assert isinstance(refused.value, PermissionError)
    assert store.get(f"saves/{player_id(leaked.key)}/pong/main.slot") == encode(Slot(1, b"progress"))


def _unkeyed(url: str) -> None:
    """A request through OnlineSaves's error mapping without a key at all."""
    saves = OnlineSaves(url, "pong", PlayerKey(bytes(32)))
    try:
        del saves._client.headers["Authorization"]
        saves.read("main")
    finally:
        saves.close()


def test_quotas_bombs_and_torn_slots_are_refused_and_the_slot_keeps_its_bytes(catalog: DirCatalog, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    slot_bytes = catalog.bundle("pong").config.save_slot_bytes
    app = Starlette(routes=save_routes(store, catalog, SaveLimits(player_bytes=3 * slot_bytes)))
    key = PlayerKey.load_or_create(tmp_path / "player.key")
    with serving(app) as url, OnlineSaves(url, "pong", key) as saves:
        saves.write("main", b"kept", 1)
        with pytest.raises(SaveTooBig, match="slot_bytes"):
            saves.write("main", bytes(slot_bytes + 1), 2)
        saves.write("a", bytes(slot_bytes), 1)
        saves.write("b", bytes(slot_bytes), 1)
        with pytest.raises(SaveTooBig, match="server's"):  # the player's quota across games
            saves.write("c", bytes(slot_bytes), 1)
        # A save bomb: far more than any slot, streamed; refused once past the bound, nothing stored.
        def bomb() -> Iterator[bytes]:
            for _ in range(64):
                yield bytes(1 << 20)

        with httpx.Client(base_url=url, headers={"Authorization": key.header}) as http:
            try:
                status = http.put("/saves/pong/main", content=bomb()).status_code
            except httpx.HTTPError:  # the server may close before the client has sent everything
                status = 413
            assert status == 413
            torn = bytearray(encode(Slot(5, b"torn write")))
            torn[-1] ^= 1
            r = http.put("/saves/pong/main", content=bytes(torn))
            assert r.status_code == 400 and "nothing was stored" in r.json()["error"]
            assert http.put("/saves/nope/main", content=encode(Slot(1, b"x"))).status_code == 404
            assert http.put("/saves/pong/..", content=encode(Slot(1, b"x"))).status_code in (400, 404)
        assert saves.read("main") == Slot(1, b"kept")  # every refused write left it as it was
    (tmp_path / "store" / "saves").joinpath(hashlib.sha256(key.key).hexdigest(), "pong", "main.slot").write_bytes(b"LWSV")
    with serving(app) as url, OnlineSaves(url, "pong", key) as saves, pytest.raises(SaveCorrupt):
        saves.read("main")  # a slot torn in the store is caught by the client's own check


def test_a_player_key_file_is_made_once_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "player.key"
    first = PlayerKey.load_or_create(path)
    assert PlayerKey.load_or_create(path).key == first.key
    path.write_text("not hex")
    with pytest.raises(SaveError, match="does not hold a player key"):
        PlayerKey.load_or_create(path)
