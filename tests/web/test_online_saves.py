"""Online saves in Chromium against the real server: a page keeps a player key in IndexedDB (made on
first play, kept across reloads), sends each slot the game commits to /saves, and pulls the server's
slots before play, so another browser given the key (another device) continues where the first
stopped; a page with another key neither reads nor overwrites them; the server's quota refusal
reaches the page as a message and the game as LW_SAVE_FULL, a revoked key's (403) as LW_SAVE_STORAGE."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw import abi
from layerw.play.online_saves import OnlineSaves, PlayerKey
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.saves import Saves, Slot, decode
from layerw.server.save_routes import SaveLimits, player_id, revoke
from tests.runtime.test_saves import make, run, saves_wat
from tests.web.conftest import PlayPage
from tests.web.store_server import StoreServer, store_server

TICKS = 3
R = abi.SAVE_RESULTS
PLAYER_BYTES = 256  # the server's quota per player: the game's 16-byte slot (64 stored) fits, 300 bytes do not


@pytest.fixture(scope="module")
def saver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StoreServer, Path]]:
    root = tmp_path_factory.mktemp("online-saves")
    build = make(root, saves_wat(if_empty=True)).path
    with store_server(root / "store", save_limits=SaveLimits(player_bytes=PLAYER_BYTES)) as s:
        s.publish(build)
        yield s, build


def _native_hashes(build: Path, engine: Engine, tmp_path: Path) -> tuple[str, str]:
    """The state hash of a first run (no slot: it writes one) and of a later run (it finds it)."""
    from layerw.bundle import Bundle

    saves, hashes = Saves(tmp_path / "native"), []
    for _ in range(2):
        with Game(Bundle.open(build), engine, saves=saves) as game:
            run(game, TICKS)
            hashes.append(game.state_hash())
    return hashes[0], hashes[1]


def _play(page: PlayPage, server: StoreServer) -> str:
    # worker=0: these tests write through the page-hosted game's SaveStore and read its OnlineSaves
    page.goto(server.play_url("saver", ticks=TICKS, fast=True, renderer="webgl2", sound=0, telemetry=0, worker=0))
    page.wait_stopped()
    page.page.evaluate("window.layerw.online.flush()")
    return page.state_hash()


def _key(page: PlayPage) -> str:
    return str(page.page.evaluate("window.layerw.online.key.hex"))


def test_a_save_follows_its_key_to_another_browser_and_no_other(saver: tuple[StoreServer, Path], engine: Engine,
                                                                 play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    server, build = saver
    first, later = _native_hashes(build, engine, tmp_path)
    a = play_page()
    assert _play(a, server) == first  # no slot anywhere yet: the game writes it
    key = _key(a)
    with OnlineSaves(server.url, "saver", PlayerKey(bytes.fromhex(key))) as native:  # the native client reads it
        assert native.read("progress") == Slot(7, bytes(range(16)))
    assert _play(a, server) == later and _key(a) == key  # reloaded: the same key, the slot found

    b = play_page()  # another device: a fresh browser context given the key
    b.goto(f"{server.url}/")
    b.page.evaluate(f"import('/web/player-key.js').then((m) => m.PlayerKey.store('{key}'))")
    assert _play(b, server) == later  # the server's slot was pulled into its IndexedDB before play
    assert b.page.evaluate("window.layerw.online.sent") == 0  # it had nothing new to send

    c = play_page()  # another player: its own key, its own (empty) slots
    assert _play(c, server) == first and _key(c) != key
    wrote = c.page.evaluate("""async () => {
      const s = window.layerw.saves, code = s.write(new TextEncoder().encode("progress"), new Uint8Array([6, 6, 6]), 9);
      await window.layerw.online.flush();
      return [code, window.layerw.online.sent];
    }""")
    assert wrote == [R["OK"], 2]  # its first play's slot, then this one: both under its own key
    with OnlineSaves(server.url, "saver", PlayerKey(bytes.fromhex(key))) as native:
        assert native.read("progress") == Slot(7, bytes(range(16)))  # the first player's slot is untouched
    with OnlineSaves(server.url, "saver", PlayerKey(bytes.fromhex(_key(c)))) as native:
        assert native.read("progress") == Slot(9, bytes([6, 6, 6]))
    assert _play(b, server) == later  # and the first player's other device still reads its own


def test_the_servers_quota_reaches_the_page_and_the_game(saver: tuple[StoreServer, Path],
                                                         play_page: Callable[..., PlayPage]) -> None:
    server, _ = saver
    page = play_page()
    _play(page, server)
    outcome = page.page.evaluate("""async () => {
      const s = window.layerw.saves, name = new TextEncoder().encode("big");
      const first = s.write(name, new Uint8Array(300), 1);  // within [saves] here, over the server's quota
      await window.layerw.online.flush();
      return [first, s.write(name, new Uint8Array(1), 1), window.layerw.saveError,
              document.getElementById("status").textContent, window.layerw.online.sent];
    }""")
    first, second, error, shown, sent = outcome
    assert (first, second) == (R["OK"], R["FULL"])  # IndexedDB took it; the game hears the server's refusal next
    assert "(413)" in error and "saved in this browser only" in error and error == shown
    assert sent == 1  # only the first play's slot reached the server
    key = PlayerKey(bytes.fromhex(_key(page)))
    with OnlineSaves(server.url, "saver", key) as native:
        assert native.names() == ["progress"]


def test_a_revoked_key_reaches_the_page_and_the_game(saver: tuple[StoreServer, Path],
                                                     play_page: Callable[..., PlayPage]) -> None:
    """The server refuses a key its operator revoked (403): the page says so, the game's next
    save_write answers LW_SAVE_STORAGE (its saves live in this browser only), nothing more is sent,
    and the server's copy of the slot stays as it was; a reload's pull is refused and shown too."""
    server, _ = saver
    page = play_page()
    _play(page, server)
    player = player_id(bytes.fromhex(_key(page)))
    stored = server.store.get(f"saves/{player}/saver/progress.slot")
    revoke(server.store, player)
    outcome = page.page.evaluate("""async () => {
      const s = window.layerw.saves, name = new TextEncoder().encode("progress");
      const first = s.write(name, new Uint8Array([4, 4]), 8);  // IndexedDB takes it; the server refuses the key
      await window.layerw.online.flush();
      return [first, s.write(name, new Uint8Array([5]), 9), window.layerw.saveError,
              document.getElementById("status").textContent, window.layerw.online.sent];
    }""")
    first, second, error, shown, sent = outcome
    assert (first, second) == (R["OK"], R["STORAGE"])
    assert "(403)" in error and "revoked" in error and error == shown
    assert "'progress' is saved in this browser only" in error and "Online saves are off" in error
    assert sent == 1  # only the first play's slot reached the server
    assert server.store.get(f"saves/{player}/saver/progress.slot") == stored
    _play(page, server)  # reloaded: the pull is refused before play, and the page says so
    message = page.page.evaluate("window.layerw.online.message")
    assert "(403)" in message and "revoked" in message and "Online saves are off" in message
    assert page.page.evaluate("window.layerw.online.sent") == 0


def test_commits_past_the_rate_limit_are_coalesced_shown_and_still_arrive(play_page: Callable[..., PlayPage],
                                                                           tmp_path: Path) -> None:
    """A game saving faster than the server allows: the page says so (429), sends only the latest
    bytes of the slot once the server takes requests again, and loses none of it."""
    build = make(tmp_path, saves_wat(if_empty=True)).path
    slow = SaveLimits(player_requests_per_second=0.5, player_burst=3)
    with store_server(tmp_path / "store", save_limits=slow) as server:
        server.publish(build)
        page = play_page()
        _play(page, server)  # the listing and the game's first slot: 2 of the burst of 3
        messages = page.page.evaluate("""async () => {
          const s = window.layerw.saves, name = new TextEncoder().encode("progress"), shown = [];
          window.layerw.online.onMessage = (text) => shown.push(text);
          for (let i = 1; i <= 20; i++) {
            s.write(name, new Uint8Array([i, i]), i);
            await s.flush();
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await window.layerw.online.flush();
          return shown;
        }""")
        assert any("sent too often" in m for m in messages)
        sent = page.page.evaluate("window.layerw.online.sent")
        assert 2 < sent < 10  # coalesced: far fewer requests than commits
        stored = server.store.get(f"saves/{player_id(bytes.fromhex(_key(page)))}/saver/progress.slot")  # past the rate limit
        assert decode("progress", stored) == Slot(20, bytes([20, 20]))
        assert page.page.evaluate("window.layerw.saves.slots.get('progress').unsent") is False


def test_a_torn_copy_on_the_server_is_refused_and_the_browsers_slot_kept(saver: tuple[StoreServer, Path], engine: Engine,
                                                                         play_page: Callable[..., PlayPage],
                                                                         tmp_path: Path) -> None:
    server, build = saver
    _, later = _native_hashes(build, engine, tmp_path)
    page = play_page()
    _play(page, server)
    key = f"saves/{player_id(bytes.fromhex(_key(page)))}/saver/progress.slot"
    torn = bytearray(server.store.get(key))
    torn[-1] ^= 0xFF  # altered in the store
    server.store.put(key, bytes(torn))
    assert _play(page, server) == later  # the game reads the slot this browser holds
    message = page.page.evaluate("window.layerw.online.message")
    assert "fails its length or checksum" in message and "not used" in message


def test_a_game_worker_keeps_its_saves_online_too(saver: tuple[StoreServer, Path], engine: Engine,
                                                  play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    """The default host, a game worker, opens the slots and their OnlineSaves in the worker: the game's
    slot reaches the server under this browser's key, and a reload reads it back."""
    server, build = saver
    first, later = _native_hashes(build, engine, tmp_path)
    page = play_page()
    hashes = []
    for _ in range(2):
        page.goto(server.play_url("saver", ticks=TICKS, fast=True, renderer="webgl2", sound=0, telemetry=0))
        page.wait_stopped()
        assert page.page.evaluate("window.layerw.host") == "worker"
        assert page.page.evaluate("window.layerw.saved()") == ["progress"]
        hashes.append(page.state_hash())
    assert hashes == [first, later]
    key = str(page.page.evaluate("import('/web/player-key.js').then((m) => m.PlayerKey.loadOrCreate()).then((k) => k.hex)"))
    with OnlineSaves(server.url, "saver", PlayerKey(bytes.fromhex(key))) as native:
        assert native.read("progress") == Slot(7, bytes(range(16)))
