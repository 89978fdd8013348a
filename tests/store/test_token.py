"""The publish token: writing a store needs it (publish, promote, gc); reading never does; the
server never serves it."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import httpx
import pytest
import wasmtime

from layerw.cli import main
from layerw.config import GameConfig
from layerw.errors import StoreError, Unauthorized
from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.server.edge import create_edge
from layerw.store.http import HttpStore
from layerw.store.local import LocalStore
from layerw.store.token import ENV_TOKEN, ENV_TOKEN_FILE, TOKEN_KEY, authorize
from tests.server_thread import serving
from tests.wat import contract_wat


@pytest.fixture
def token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "operator" / "publish.token"
    monkeypatch.setenv(ENV_TOKEN_FILE, str(path))
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    return path


def wat_build(root: Path, version: str = "1.0.0") -> Path:
    build = root / f"tiny-{version}"
    build.mkdir(parents=True)
    (build / "game.wasm").write_bytes(wasmtime.wat2wasm(contract_wat()))
    (build / "layerw.toml").write_text(GameConfig.from_dict({"game": {"name": "tiny", "version": version}}).to_toml())
    return build


def test_a_new_store_is_claimed_with_a_new_private_token(token_file: Path, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    grant = authorize(store)
    assert grant.created == token_file and grant.claimed
    token = token_file.read_text().strip()
    assert len(token) >= 40 and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert store.get(TOKEN_KEY).decode().strip() == hashlib.sha256(token.encode()).hexdigest()  # only its hash
    again = authorize(store)
    assert again.created is None and not again.claimed and again.source == str(token_file)
    other = LocalStore(tmp_path / "other")  # a second store is claimed with the same operator token
    assert authorize(other).claimed and other.get(TOKEN_KEY) == store.get(TOKEN_KEY)


def test_a_wrong_or_missing_token_is_refused(token_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "store")
    authorize(store, "the-right-token")
    with pytest.raises(Unauthorized, match="--token"):
        authorize(store, "a-wrong-token")
    monkeypatch.setenv(ENV_TOKEN, "another-wrong-one")
    with pytest.raises(Unauthorized, match=r"\$LAYERW_TOKEN"):
        authorize(store)
    monkeypatch.setenv(ENV_TOKEN, "the-right-token")
    assert authorize(store).source == "$LAYERW_TOKEN"
    monkeypatch.delenv(ENV_TOKEN)
    with pytest.raises(Unauthorized, match=str(token_file)):  # nothing given: says where a token would go
        authorize(store)
    assert not token_file.exists()  # a claimed store never gets a fresh token made up for it
    assert issubclass(Unauthorized, PermissionError)


def cli(*args: str) -> int:
    return main(list(args))


def test_publish_promote_and_gc_refuse_without_the_token(token_file: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = str(tmp_path / "store")
    assert cli("publish", str(wat_build(tmp_path)), "--store", url) == 0
    assert "created a publish token" in capsys.readouterr().err
    token = token_file.read_text().strip()
    token_file.unlink()  # another operator, on another machine
    for args in (("publish", str(wat_build(tmp_path, "2.0.0")), "--store", url, "--token", "guess"),
                 ("promote", "tiny", "1.0.0", "--channel", "beta", "--store", url),
                 ("gc", "--store", url, "--min-age", "0")):
        assert cli(*args) == 1
        assert "Unauthorized" in capsys.readouterr().err
    store = LocalStore(url)
    assert [v.version for v in store.versions("tiny")] == ["1.0.0"] and list(store.channels("tiny")) == ["latest"]
    assert cli("promote", "tiny", "1.0.0", "--channel", "beta", "--store", url, "--token", token) == 0
    assert cli("versions", "tiny", "--store", url) == 0  # reading needs no token


def test_reading_needs_no_token_and_the_token_hash_is_never_served(token_file: Path, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    assert cli("publish", str(wat_build(tmp_path)), "--store", store.url) == 0
    token_file.unlink()
    digest = store.get(TOKEN_KEY).decode().strip()
    paths = ["/auth/publish-token.sha256", "/chunks/../auth/publish-token.sha256", "/channels/..%2Fauth/publish-token.json",
             "/manifests/..%2Fauth/publish-token.sha256.json", "/games/auth/manifest", "/web/..%2F..%2Fauth",
             "/channels/auth/publish-token.sha256.json"]
    with serving(create_app(StoreCatalog(store), store=store)) as origin, \
            serving(create_edge(origin, tmp_path / "edge", 1 << 20)) as edge:
        for base in (origin, edge):
            for path in paths:
                r = httpx.get(base + path)
                assert r.status_code in (400, 404) and digest not in r.text, (base, path, r.status_code)
            assert httpx.get(f"{base}/chunks/{digest}").status_code == 404  # not a chunk either
        with HttpStore(origin) as remote:
            assert remote.resolve("tiny").version == "1.0.0"  # reading: no token anywhere
            with pytest.raises(StoreError):
                remote.get(TOKEN_KEY)
