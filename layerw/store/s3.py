"""S3Store: a store in any S3-protocol bucket, ``s3://bucket/prefix``, through boto3.

Endpoint, credentials and region come from the standard AWS sources (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, profiles) unless given as options.
Requests retry with exponential backoff and jitter (botocore "standard" mode); the client is
thread-safe and its connection pool is sized for ``parallelism`` concurrent requests. A PUT is
atomic in S3, so every write is. Foreign errors are wrapped at this boundary: a missing key is
``NotPublished``, an unreachable or refusing server ``StoreUnavailable``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from layerw.errors import NotPublished, StoreError, StoreUnavailable
from layerw.store.store import Store, StoredObject

RETRIES = 5  # attempts per request, backoff between them
_MISSING = {"404", "NoSuchKey", "NotFound"}
_REFUSED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket"}


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix/")."""
    if not url.startswith("s3://"):
        raise StoreError(f"{url!r} is not an s3:// URL")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise StoreError(f"{url!r} names no bucket: use s3://bucket/prefix")
    prefix = prefix.strip("/")
    return bucket, prefix + "/" if prefix else ""


class S3Store(Store):
    def __init__(self, url: str, *, endpoint_url: str | None = None, retries: int = RETRIES,
                 parallelism: int = 16, timeout_s: float = 30.0) -> None:
        self.bucket, self.prefix = parse_url(url)
        self.url = url.rstrip("/")
        self.parallelism = parallelism
        self._options = {"endpoint_url": endpoint_url, "retries": retries, "parallelism": parallelism, "timeout_s": timeout_s}
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        session = boto3.session.Session()
        config = Config(
            retries={"max_attempts": retries, "mode": "standard"},
            connect_timeout=min(timeout_s, 5.0), read_timeout=timeout_s,
            max_pool_connections=parallelism + 4,
            # S3-compatible servers rarely resolve virtual-host bucket names; AWS itself takes both.
            s3={"addressing_style": "path" if endpoint else "auto"},
        )
        try:
            self.client: Any = session.client("s3", endpoint_url=endpoint, config=config,
                                              region_name=session.region_name or "us-east-1")
        except (BotoCoreError, ValueError) as e:
            raise StoreUnavailable(f"cannot open {url}: {e}") from e

    @property
    def options(self) -> dict[str, Any]:
        return {k: v for k, v in self._options.items() if v is not None}

    def _wrap(self, e: Exception, what: str, key: str) -> StoreError:
        where = f"{what} s3://{self.bucket}/{self.prefix}{key}"
        if isinstance(e, ClientError):
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                return NotPublished(f"{key} is not in {self.url}")
            if code in _REFUSED:
                return StoreUnavailable(f"{where}: {code}: check the bucket exists and the credentials "
                                        "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) allow it")
            if int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500:
                # InternalError, ServiceUnavailable, SlowDown: the server is there but not serving
                # (e.g. still starting up); retried like an unreachable one, after boto's own retries
                return StoreUnavailable(f"{where}: {e}")
            return StoreError(f"{where}: {e}")
        if isinstance(e, NoCredentialsError):
            return StoreUnavailable(f"{where}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        return StoreUnavailable(f"{where}: {e} (is the endpoint right? AWS_ENDPOINT_URL or --endpoint-url)")

    def get(self, key: str) -> bytes:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()
        except (BotoCoreError, ClientError) as e:
            raise self._wrap(e, "reading", key) from e

    def put(self, key: str, data: bytes, *, durable: bool = False) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        except (BotoCoreError, ClientError) as e:
            raise self._wrap(e, "writing", key) from e

    def head(self, key: str) -> StoredObject | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except (BotoCoreError, ClientError) as e:
            err = self._wrap(e, "checking", key)
            if isinstance(err, NotPublished):
                return None
            raise err from e
        return StoredObject(key, int(r["ContentLength"]), r["LastModified"].timestamp())

    def list(self, prefix: str) -> Iterator[StoredObject]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
            for page in pages:
                for obj in page.get("Contents", ()):
                    yield StoredObject(obj["Key"][len(self.prefix):], int(obj["Size"]), obj["LastModified"].timestamp())
        except (BotoCoreError, ClientError) as e:
            raise self._wrap(e, "listing", prefix) from e

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (BotoCoreError, ClientError) as e:
            raise self._wrap(e, "deleting", key) from e

    def close(self) -> None:
        self.client.close()
