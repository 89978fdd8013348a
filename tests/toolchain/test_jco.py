"""jco, the pinned npm tool that transpiles component builds for browsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layerw.errors import CompileError
from layerw.toolchain import jco


def test_package_files_pin_the_jco_the_toolchain_names() -> None:
    package = json.loads((jco.NPM_DIR / "package.json").read_text())
    lock = json.loads((jco.NPM_DIR / "package-lock.json").read_text())
    assert package["dependencies"] == {"@bytecodealliance/jco": jco.JCO_VERSION}  # exact, no range
    assert lock["packages"]["node_modules/@bytecodealliance/jco"]["version"] == jco.JCO_VERSION
    assert lock["packages"][""]["dependencies"] == package["dependencies"]


def test_transpile_rejects_what_browsers_cannot_link(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="jco transpile"):
        jco.transpile(tmp_path / "missing.wasm", tmp_path / "out")
    glue = "import { x } from '@bytecodealliance/preview2-shim/cli';\nexport function instantiate() {}\n"
    assert jco._IMPORT.findall(glue) == ["@bytecodealliance/preview2-shim/cli"]
