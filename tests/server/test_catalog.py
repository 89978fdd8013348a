"""StoreCatalog: rooms run the version the channel names when they are built; a version's bundle is
loaded once and shared (no new store client per room), and closing it leaves the catalog's store open."""

from __future__ import annotations

from pathlib import Path

from layerw.server.catalog import StoreCatalog
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.web.store_server import wat_build


def test_a_versions_bundle_is_loaded_once_and_a_new_version_is_seen(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    publish(wat_build(tmp_path, "g", "1.0.0"), store)
    catalog = StoreCatalog(store)
    first = catalog.bundle("g")
    assert first.config.version == "1.0.0" and catalog.bundle("g") is first
    assert first.store is store  # the catalog's store, not a new client
    publish(wat_build(tmp_path, "g", "1.1.0", tick="(nop)"), store)  # the channel moves on
    second = catalog.bundle("g")
    assert second.config.version == "1.1.0" and second is not first
    first.close()
    assert store.games() == ["g"] and catalog.bundle("g") is second  # the shared store is still open


def test_the_catalog_keeps_a_bounded_number_of_versions(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    catalog = StoreCatalog(store, kept=2)
    for minor in range(4):
        publish(wat_build(tmp_path, "g", f"1.{minor}.0", tick=f"(drop (i32.const {minor}))"), store)
        assert catalog.bundle("g").config.version == f"1.{minor}.0"
    assert len(catalog._bundles) == 2
