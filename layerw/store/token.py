"""Token: the operator's publish token, which a store asks for before it is written to.

Reading a published game needs no token. Publishing, moving a channel (promote, rollback) and gc
need the store's token. The store keeps only the token's SHA-256, under ``auth/`` (``TOKEN_KEY``):
no server route serves that prefix (the HTTP face has chunks, manifests and channels only) and
``HttpStore`` will not ask for it.

The token the tools use, first found wins: ``--token``, ``$LAYERW_TOKEN``, the token file
(``$LAYERW_TOKEN_FILE``, else ``~/.local/share/layerw/publish.token``, mode 0600).

A store without a token is claimed by its first writer: with the operator's token when there is
one, else with a new random one written to the token file, whose path is printed. From then on any
other token, or none, is ``Unauthorized``. To hand publishing to someone, give them the token.

The token is the second lock, not the first: the directory's permissions or the S3 bucket's
credentials still decide who may write the store at all; the token makes Layer-W's own tools
refuse to publish, promote or gc for whoever was not given it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from layerw.errors import NotPublished, Unauthorized
from layerw.store.local import default_root
from layerw.store.store import Store

TOKEN_KEY = "auth/publish-token.sha256"
ENV_TOKEN = "LAYERW_TOKEN"
ENV_TOKEN_FILE = "LAYERW_TOKEN_FILE"


def token_file() -> Path:
    """``$LAYERW_TOKEN_FILE``, else ``publish.token`` beside the embedded default store."""
    return Path(os.environ.get(ENV_TOKEN_FILE) or default_root() / "publish.token").expanduser()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    """Permission to write a store: where the token came from, and what ``authorize`` set up."""

    store: str
    source: str  # "--token", "$LAYERW_TOKEN" or the token file's path
    created: Path | None = None  # a new token was written here
    claimed: bool = False  # the store had no token: it now requires this one


def operator_token(explicit: str | None = None) -> tuple[str, str] | None:
    """(token, where it came from): ``explicit`` (--token), $LAYERW_TOKEN, else the token file."""
    if explicit:
        return explicit.strip(), "--token"
    if os.environ.get(ENV_TOKEN, "").strip():
        return os.environ[ENV_TOKEN].strip(), f"${ENV_TOKEN}"
    path = token_file()
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise Unauthorized(f"cannot read the publish token file {path}: {e}") from e
    return (text, str(path)) if text else None


def _new_token_file() -> tuple[str, Path]:
    """A new random token in the token file (readable by its owner only)."""
    path = token_file()
    token = secrets.token_hex(32)  # hex: never starts with '-', which `--token TOKEN` would read as an option
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # written meanwhile by another publish: use that one
        return path.read_text().strip(), path
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, path


def authorize(store: Store, token: str | None = None) -> Grant:
    """Check that the operator may write ``store`` (``token`` from --token, else the environment or
    the token file); a store without a token is claimed. Unauthorized when the token is missing or
    is not the store's."""
    try:
        required = store.get(TOKEN_KEY).decode("ascii", "replace").strip()
    except NotPublished:
        required = ""
    found = operator_token(token)
    if not required:
        created = None
        if found is None:
            value, created = _new_token_file()
            found = value, str(created)
        store.put(TOKEN_KEY, (digest(found[0]) + "\n").encode(), durable=True)
        return Grant(store.url, found[1], created=created, claimed=True)
    if found is None:
        raise Unauthorized(f"{store.url} needs its publish token to be written to: pass --token, set ${ENV_TOKEN}, "
                           f"or put it in {token_file()} (its operator has it)")
    if not hmac.compare_digest(digest(found[0]), required):
        raise Unauthorized(f"the publish token from {found[1]} is not the token of {store.url}: "
                           f"ask its operator for the right one (--token or ${ENV_TOKEN})")
    return Grant(store.url, found[1])
