"""LocalStore: a store in a directory — the embedded default (``~/.local/share/layerw``).

Keys are relative paths below the root. Every write goes to a temporary file beside its target and
is renamed over it (atomic on POSIX), so a reader or a resumed publish never sees half an object;
``durable`` writes (manifests, channels) are also fsynced, with their directory.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from layerw.errors import NotPublished, StoreError, StoreUnavailable
from layerw.store.store import Store, StoredObject

TMP_PREFIX = ".tmp-"


def default_root() -> Path:
    """``$XDG_DATA_HOME/layerw``, i.e. ``~/.local/share/layerw`` by default."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "layerw"


class LocalStore(Store):
    def __init__(self, root: Path | str, *, parallelism: int = Store.parallelism) -> None:
        self.parallelism = parallelism
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)
        if self.root.exists() and not self.root.is_dir():
            raise StoreUnavailable(f"store {self.root} is not a directory")

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
            raise StoreError(f"invalid store key {key!r}")
        return self.root.joinpath(*parts)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotPublished(f"{key} is not in {self.url}") from None
        except OSError as e:
            raise StoreUnavailable(f"cannot read {key} from {self.url}: {e}") from e

    def put(self, key: str, data: bytes, *, durable: bool = False) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    if durable:
                        f.flush()
                        os.fsync(f.fileno())
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            if durable:
                dfd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as e:
            raise StoreUnavailable(f"cannot write {key} to {self.url}: {e}") from e

    def head(self, key: str) -> StoredObject | None:
        try:
            st = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return StoredObject(key, st.st_size, st.st_mtime) if stat.S_ISREG(st.st_mode) else None

    def list(self, prefix: str) -> Iterator[StoredObject]:
        # Walk from the deepest directory the prefix names, then filter by the full prefix.
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self._path(base) if base else self.root
        if not start.is_dir():
            return
        for dirpath, _, files in os.walk(start):
            for name in files:
                if name.startswith(TMP_PREFIX):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        st = path.stat()
                    except FileNotFoundError:  # deleted while listing
                        continue
                    yield StoredObject(key, st.st_size, st.st_mtime)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as e:
            raise StoreUnavailable(f"cannot delete {key} from {self.url}: {e}") from e
