"""OnlineSaves: a player's save slots on a `layerw serve` server (its store), from any device.

The player is who holds the key: 32 random bytes made on first play and kept in a file only the
user can read (``PlayerKey``; ``~/.local/share/layerw/player.key`` by default). Copy that file to
another device and the same saves are there; the server derives the player from the key and never
stores it. Slots travel in ``saves.py``'s format (a header with the data's SHA-256), so a slot
that arrives torn or altered is ``SaveCorrupt`` here as on disk; the server's refusals come back
typed: ``SaveUnauthorized`` (401: no well-formed key; 403: a key its operator revoked), ``SaveTooBig``
(413), ``SaveError`` for the rest (as the browser's online-saves.js types them).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from types import TracebackType

import httpx

from layerw.errors import SaveError, SaveTooBig, SaveUnauthorized
from layerw.saves import MAX_VERSION, Slot, check_name, decode, encode

KEY_BYTES = 32
# the save server's refusals by status (save_routes.py); any other refusal is a SaveError
REFUSALS: dict[int, type[SaveError]] = {401: SaveUnauthorized, 403: SaveUnauthorized, 413: SaveTooBig}


def default_key_path() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "layerw" / "player.key"


class PlayerKey:
    """A player's secret key: whoever holds it is that player to every server."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SaveError(f"a player key is {KEY_BYTES} bytes, not {len(key)}")
        self.key = key

    @classmethod
    def load_or_create(cls, path: Path | None = None) -> PlayerKey:
        """The key in ``path`` (hex), made there (mode 0600, atomically) on first use."""
        path = path or default_key_path()
        try:
            return cls(bytes.fromhex(path.read_text().strip()))
        except FileNotFoundError:
            pass
        except ValueError as e:
            raise SaveError(f"{path} does not hold a player key ({e}): move it away to start a new player") from e
        key = cls(secrets.token_bytes(KEY_BYTES))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.key.hex())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # never over a key another process made meanwhile: that one wins
        except FileExistsError:
            return cls.load_or_create(path)
        finally:
            tmp.unlink(missing_ok=True)
        return key

    @property
    def header(self) -> str:
        return f"Bearer {self.key.hex()}"


class OnlineSaves:
    """One game's slots for one player on the server at ``base_url`` (``http://HOST:PORT``)."""

    def __init__(self, base_url: str, game: str, key: PlayerKey, *, timeout_s: float = 10.0) -> None:
        self.game = game
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s,
                                    headers={"Authorization": key.header})

    def _call(self, method: str, path: str, body: bytes | None = None) -> httpx.Response:
        try:
            response = self._client.request(method, path, content=body)
        except httpx.HTTPError as e:
            raise SaveError(f"the save server {self._client.base_url} cannot be reached: {e}") from e
        if response.status_code < 300 or response.status_code == 404 and method == "GET":
            return response
        try:
            reason = str(response.json()["error"])
        except (ValueError, KeyError, TypeError):
            reason = response.text[:200]
        error = REFUSALS.get(response.status_code, SaveError)
        raise error(f"the save server refused {method} {path} ({response.status_code}): {reason}")

    def names(self) -> list[str]:
        return [str(s["slot"]) for s in self._call("GET", f"/saves/{self.game}").json()]

    def read(self, name: str) -> Slot | None:
        """Slot ``name``, or None when it was never written; SaveCorrupt when it arrives torn."""
        response = self._call("GET", f"/saves/{self.game}/{check_name(name)}")
        return None if response.status_code == 404 else decode(name, response.content)

    def write(self, name: str, data: bytes, version: int) -> None:
        if not 0 <= version <= MAX_VERSION:
            raise SaveError(f"save slot {name!r}: version {version} must be within 0..2^31-1")
        self._call("PUT", f"/saves/{self.game}/{check_name(name)}", encode(Slot(version, bytes(data))))

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/saves/{self.game}/{check_name(name)}")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OnlineSaves:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
