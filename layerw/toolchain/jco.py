"""jco: the Bytecode Alliance's JavaScript toolchain for components, pinned, run with node.

``layerw build --component`` transpiles the game component with ``jco transpile`` so that browsers
(which run core modules only) can run it: the output is an ES module of canonical-ABI glue plus the
component's core modules, written into the build directory (``BUILD/transpiled/``) and published
beside the component. The glue is made for custom instantiation (``instantiate(getCoreModule,
imports)``): the browser's loader hands it core modules it fetched and verified itself, and the
host functions of the world's ``host`` interface.

jco and everything it needs are pinned by ``npm/package.json`` and ``npm/package-lock.json`` (package
data). ``ensure_jco`` installs them once with ``npm ci`` into the Layer-W cache (``make setup`` does
it), keyed by the lock file's SHA-256, so a changed lock gets a fresh install and nothing is global.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from layerw.errors import CompileError, ToolchainError

JCO_VERSION = "1.35.0"
NPM_DIR = Path(__file__).resolve().parent / "npm"
MANIFESTS = ("package.json", "package-lock.json")
NAME = "game.component"  # jco --name: game.component.js, game.component.core.wasm, ...
GLUE = f"{NAME}.js"
# Static imports left in the glue mean the component imports something no Layer-W host offers a
# game (WASI, through @bytecodealliance/preview2-shim).
_IMPORT = re.compile(r"^\s*import\s[^;]*?from\s+['\"]([^'\"]+)['\"]", re.MULTILINE)


def install_dir() -> Path:
    base = os.environ.get("LAYERW_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "layerw")
    lock = hashlib.sha256((NPM_DIR / "package-lock.json").read_bytes()).hexdigest()[:16]
    return Path(base) / "npm" / f"jco-{JCO_VERSION}-{lock}"


def cli_path(root: Path) -> Path:
    return root / "node_modules" / "@bytecodealliance" / "jco" / "dist" / "jco.js"


def _installed(root: Path) -> bool:
    try:
        meta = json.loads((root / "node_modules" / "@bytecodealliance" / "jco" / "package.json").read_text())
    except (OSError, ValueError):
        return False
    return meta.get("version") == JCO_VERSION and cli_path(root).is_file()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolchainError(f"{name} is missing: component builds transpile for browsers with jco (npm); "
                             "run `make setup` (or apt install nodejs npm)")
    return path


def ensure_jco() -> Path:
    """jco's CLI script, installed with ``npm ci`` from the pinned lock file on first use."""
    root = install_dir()
    if _installed(root):
        return cli_path(root)
    npm = _tool("npm")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        for name in MANIFESTS:
            shutil.copy(NPM_DIR / name, staging / name)
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                              cwd=staging, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not _installed(staging):
            raise ToolchainError(f"npm ci of @bytecodealliance/jco@{JCO_VERSION} failed "
                                 f"(is the npm registry reachable?):\n{proc.stderr.strip()[-2000:]}")
        try:
            staging.rename(root)
        except OSError:  # another build installed it meanwhile
            if not _installed(root):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cli_path(root)


def transpile(component: Path, out_dir: Path) -> list[Path]:
    """``jco transpile`` ``component`` into ``out_dir``: the glue (GLUE) and its core modules only."""
    cli = ensure_jco()
    node = _tool("node")
    with tempfile.TemporaryDirectory(prefix="layerw-jco-") as tmp:
        cmd = [node, str(cli), "transpile", str(component), "-o", tmp, "--name", NAME,
               "--instantiation", "async", "--no-typescript", "--no-nodejs-compat", "--quiet"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        glue = Path(tmp) / GLUE
        if proc.returncode != 0 or not glue.is_file():
            raise CompileError(f"jco transpile of {component.name} failed:\n{(proc.stderr or proc.stdout).strip()[-4000:]}")
        imported = sorted(set(_IMPORT.findall(glue.read_text())))
        if imported:
            raise CompileError(f"the transpiled {component.name} imports {imported}: the component imports "
                               "interfaces beyond layerw:game (WASI?), which no Layer-W host offers a game")
        out_dir.mkdir(parents=True, exist_ok=True)
        files = sorted(p for p in Path(tmp).iterdir() if p.is_file() and p.suffix in (".js", ".wasm"))
        return [Path(shutil.copy(p, out_dir / p.name)) for p in files]


if __name__ == "__main__":
    print(ensure_jco(), file=sys.stderr)
