"""The store: published games as content-addressed chunks, manifests and channels, in a directory or S3.

    open_store(url)      a Store, chosen once from the URL: ``s3://bucket/prefix`` is S3Store,
                         ``http(s)://`` a read-only HttpStore (a server or edge), anything else
                         (a path, ``file://``) a LocalStore
    publish(dir, store)  a build directory becomes a version; a channel moves to it last
    StoreBundle          a published game as the runtime's Bundle (streams assets, caches chunks)
    gc(store)            drop chunks no manifest references

See DESIGN.md ("store") for why chunks are immutable and only channels change.
"""

from __future__ import annotations

import os
from typing import Any

from layerw.store.local import LocalStore, default_root
from layerw.store.store import Store

ENV_STORE = "LAYERW_STORE"


def default_store_url() -> str:
    """``$LAYERW_STORE``, else the embedded local store ``~/.local/share/layerw``."""
    return os.environ.get(ENV_STORE) or str(default_root())


def open_store(url: str | None = None, **options: Any) -> Store:
    """The store at ``url`` (default: ``default_store_url()``); ``options`` go to the S3 backend
    (``endpoint_url``, ``retries``, ``parallelism``, ``timeout_s``); a local store takes ``parallelism``."""
    url = url or default_store_url()
    if url.startswith(("http://", "https://")):
        from layerw.store.http import HttpStore  # a `layerw serve` or an edge: read-only

        return HttpStore(url, **{k: v for k, v in options.items() if k in ("parallelism", "timeout_s")})
    if url.startswith("s3://"):
        from layerw.store.s3 import S3Store  # boto3 loads only when an S3 store is used

        return S3Store(url, **options)
    return LocalStore(url.removeprefix("file://"), parallelism=int(options.get("parallelism", LocalStore.parallelism)))
