"""``layerw publish`` stores a core module's replay twin and its offset map as chunks its manifest names
(``Manifest.replay``): made from the module alone, kept by gc like the module, and a WASM-4 cart's too;
absent from a version published without a maker (whose manifest is the same bytes as before the key)."""

from __future__ import annotations

import json
from pathlib import Path

import wasmtime

from layerw.store.gc import gc
from layerw.store.local import LocalStore
from layerw.store.manifest import FileEntry, Manifest
from layerw.store.publish import publish
from layerw.store.store import Store
from layerw.toolchain.cart import build_cart
from layerw.toolchain.replaytwin import FORMAT, twin_of
from tests.store.test_publish import layerw
from tests.web.store_server import wat_build

SPIN = "(loop $spin (br $spin))"


def stored(store: Store, entry: FileEntry) -> bytes:
    return b"".join(store.read_chunk(ref.id, ref.encoding) for ref in entry.chunks)


def test_publish_stores_the_module_s_twin_and_map_and_gc_keeps_them(tmp_path: Path) -> None:
    build = wat_build(tmp_path, "spinner", tick=SPIN)
    module = (build / "game.wasm").read_bytes()
    with LocalStore(tmp_path / "store") as store:
        manifest = publish(build, store, replay_twin=twin_of).manifest
        assert manifest.replay is not None and store.manifest("spinner", "1.0.0") == manifest
        twin, offsets = stored(store, manifest.replay.twin), stored(store, manifest.replay.map)
        assert (twin, offsets) == twin_of(module)
        doc = json.loads(offsets)
        assert set(doc) == {"format", "version", "module_sha256", "twin_sha256", "runs"} and doc["format"] == FORMAT
        assert (doc["module_sha256"], doc["twin_sha256"]) == (manifest.module.sha256, manifest.replay.twin.sha256)
        assert all(isinstance(n, int) for run in doc["runs"] for n in run)  # code offsets only
        assert {c.id for e in (manifest.replay.twin, manifest.replay.map) for c in e.chunks} <= manifest.chunk_ids()
        gc(store, min_age_s=0)
        assert stored(store, manifest.replay.twin) == twin


def test_layerw_publish_makes_the_twin(tmp_path: Path) -> None:
    out = layerw("publish", str(wat_build(tmp_path, "spinner", tick=SPIN)), "--store", str(tmp_path / "store"))
    assert "1 new / 0 reused" in out and "replay twin" in out  # the count is what players download
    with LocalStore(tmp_path / "store") as store:
        assert store.manifest("spinner", "1.0.0").replay is not None


def test_no_maker_publishes_no_twin(tmp_path: Path) -> None:
    plain = wat_build(tmp_path, "plain", tick=SPIN)
    with LocalStore(tmp_path / "store") as store:
        old = publish(plain, store).manifest  # as a version published before publish made twins
        assert old.replay is None and b'"replay"' not in old.to_bytes()
        assert Manifest.parse(old.to_bytes()) == old


def test_a_cart_s_twin_is_published_and_gc_keeps_it(tmp_path: Path) -> None:
    cart = cart_build(tmp_path)
    module = (cart / "game.wasm").read_bytes()
    with LocalStore(tmp_path / "store") as store:
        manifest = publish(cart, store, replay_twin=twin_of).manifest
        assert manifest.replay is not None
        twin = stored(store, manifest.replay.twin)
        assert (twin, stored(store, manifest.replay.map)) == twin_of(module)
        assert {c.id for e in (manifest.replay.twin, manifest.replay.map) for c in e.chunks} <= manifest.chunk_ids()
        gc(store, min_age_s=0)
        assert stored(store, manifest.replay.twin) == twin


def cart_build(root: Path, name: str = "cart") -> Path:
    """A WASM-4 cart's build directory (build_cart): its update spins in a loop."""
    cart = root / f"{name}.wasm"
    cart.write_bytes(wasmtime.wat2wasm('(module (import "env" "memory" (memory 1)) (import "env" "trace" (func (param i32)))'
                                       ' (import "env" "rect" (func (param i32 i32 i32 i32)))'
                                       ' (func (export "update") (loop $l (br $l))))'))
    return build_cart(cart, root / f"{name}-build", name=name)
