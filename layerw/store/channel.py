"""Channel: a named pointer (``latest``, ``beta``, ...) from a game to one of its versions.

Stored at ``channels/<game>/<channel>.json``: the only mutable keys in a store, each replaced
whole in one atomic write, after the version's manifest and chunks exist. A channel pins the
SHA-256 of the manifest it points at, which a server can use as the manifest's strong ETag
without reading the manifest itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from layerw.errors import ManifestError
from layerw.store.chunk import is_chunk_id
from layerw.store.manifest import SCHEMA, check_version

DEFAULT = "latest"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def check_name(name: str, what: str = "channel") -> str:
    """A game or channel name: lowercase letters, digits and '-' (as in layerw.toml)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ManifestError(f"{what} name {name!r} must be lowercase letters, digits and '-'")
    return name


@dataclass(frozen=True)
class Channel:
    game: str
    name: str
    version: str
    manifest_sha256: str

    def to_bytes(self) -> bytes:
        doc = {"schema": SCHEMA, "game": self.game, "channel": self.name, "version": self.version,
               "manifest_sha256": self.manifest_sha256}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, data: bytes, where: str = "channel") -> Channel:
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise ManifestError(f"{where}: not JSON: {e}") from e
        keys = {"schema", "game", "channel", "version", "manifest_sha256"}
        if not isinstance(doc, dict) or set(doc) != keys:
            raise ManifestError(f"{where}: expected an object with keys {sorted(keys)}")
        if doc["schema"] != SCHEMA:
            raise ManifestError(f"{where}: schema {doc['schema']!r}, this host reads schema {SCHEMA}: upgrade layerw")
        sha = doc["manifest_sha256"]
        if not isinstance(sha, str) or not is_chunk_id(sha):
            raise ManifestError(f"{where}: manifest_sha256 {sha!r} is not a SHA-256 hex digest")
        version = doc["version"]
        if not isinstance(version, str):
            raise ManifestError(f"{where}: version must be a string")
        return cls(check_name(doc["game"], "game"), check_name(doc["channel"]), check_version(version, where), sha)
