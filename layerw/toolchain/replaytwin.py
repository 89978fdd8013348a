"""ReplayTwin: a game module with a check at every loop header, so a browser can stop a replayed call.

V8 cannot interrupt a wasm loop from another thread: the page can only terminate a game worker past
its deadline, and with it the stack. To name where the time went, the page replays the call in a
fresh worker on this twin: the same module with ``call $poll`` (an added import,
``layerw_replay.poll``) at the head of every loop; the poll throws past the replay's deadline, and
V8's stack of that error holds the twin's frames. ``game.replay.json`` maps the twin's code offsets
back to the module's, instruction by instruction (a poll to its loop), so the build's symbols name
them. A WASM-4 cart's twin is made the same way (its ``env`` imports and imported memory stay as they
are; the poll is imported after them, so each defined function's index grows by one, as for a core
module), and its frames are named from the cart's own name section (it has no symbols). A component
build's twin is of its transpiled core module that holds the game's code (``layerw.bundle.GAME_CORE``,
named by the map's ``core``): a page's replay hands the component's glue the twin in that module's place.
Made with wabt (wasm2wat, wat2wasm, wasm-objdump), writing every feature but compact imports (a proposal
V8 does not read: a module importing two things from one module would not compile): beside
``game.symbols.json`` in development builds (a cart's: ``layerw build --replay-twin``), and by ``layerw
publish`` for every version (``twin_of``), which serves it to every page: unlike the symbols it holds
nothing the module does not: it is made from the module's bytes alone (its code, data and custom
sections, the module's function names at the indices they moved to, where it has any, with wabt's
placeholder names for what it left unnamed, and the poll), and its map holds SHA-256s and code offsets only. Map layout,
version 1::

    {"format": "layerw-replay-map", "version": 1, "module_sha256": HEX, "twin_sha256": HEX,
     "runs": [[twin_offset, module_offset], ...],   # sorted; offsets advance together within a run
     "core": NAME}                                  # a component build's only: the transpiled core module twinned
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path

from layerw.errors import CompileError
from layerw.toolchain.wasmtools import wabt

FORMAT = "layerw-replay-map"
VERSION = 1
POLL_MODULE, POLL_NAME = "layerw_replay", "poll"
TWIN_NAME, MAP_NAME = "game.replay.wasm", "game.replay.json"
_POLL = "$__layerw_replay_poll"
# wat2wasm's --enable-all but compact imports: those it would write for two imports from one module (a cart's
# env.memory and env.blit), which V8 refuses ("Invalid import kind 127"); the rest change no encoding
_FEATURES = ("--enable-threads", "--enable-function-references", "--enable-code-metadata", "--enable-gc",
             "--enable-custom-page-sizes", "--enable-wide-arithmetic")
_LOOP = re.compile(r"^\s*loop(\s|$)")
# the module's name section as wasm2wat keeps it, bytes in a string: its function indices miss the poll
_NAMES = re.compile(r'\(@custom "name" (\([^()]*\) )?"([^"\\]|\\.)*"\)')
_DEFINITION = re.compile(r"^  \((func|table|memory|global|export|start|elem|data) ")
_FUNC = re.compile(r"^[0-9a-f]+ func\[(\d+)\]")
_INSTR = re.compile(r"^ ([0-9a-f]+):[^|]*\|\s*(\S.*)$")


def instructions(listing: str) -> list[list[tuple[int, str]]]:
    """wasm-objdump -d's instructions by function (defined functions in order): (offset, mnemonic)."""
    bodies: list[list[tuple[int, str]]] = []
    for line in listing.splitlines():
        if _FUNC.match(line):
            bodies.append([])
        elif (m := _INSTR.match(line)) and bodies:
            bodies[-1].append((int(m.group(1), 16), m.group(2).split()[0]))
    return bodies


def _twin_text(wat: str) -> str:
    """The module's text with the poll imported before every definition and called at every loop header,
    less its name section's bytes (wat2wasm --debug-names writes the names again, at the indices they moved to)."""
    out: list[str] = []
    imported = False
    for line in wat.splitlines():
        line = _NAMES.sub("", line)
        if not imported and _DEFINITION.match(line):
            out.append(f'  (import "{POLL_MODULE}" "{POLL_NAME}" (func {_POLL}))')
            imported = True
        out.append(line)
        if _LOOP.match(line):
            out.append(f"call {_POLL}")
    return "\n".join(out) + "\n"


def offset_runs(module: list[list[tuple[int, str]]], twin: list[list[tuple[int, str]]]) -> list[list[int]]:
    """Runs of [twin offset, module offset] pairing each twin instruction with the module's (a poll
    with the loop it follows); a new run starts wherever the two stop advancing together."""
    if len(twin) != len(module):
        raise CompileError(f"the replay twin has {len(twin)} function bodies, the module {len(module)}")
    runs: list[list[int]] = []
    for index, (body, twin_body) in enumerate(zip(module, twin, strict=True)):
        i, poll_next = 0, False
        for offset, mnemonic in twin_body:
            if poll_next:  # the poll the twin calls at the loop's head: it names the loop
                if mnemonic != "call":
                    raise CompileError(f"the replay twin's function {index} has no poll after its loop at {body[i - 1][0]:#x}")
                pair, poll_next = (offset, body[i - 1][0]), False
            elif i < len(body) and body[i][1] == mnemonic:
                pair, poll_next = (offset, body[i][0]), mnemonic == "loop"
                i += 1
            else:
                found = body[i][1] if i < len(body) else "its end"
                raise CompileError(f"the replay twin's function {index} differs from the module's at "
                                   f"instruction {i}: {mnemonic} for {found}")
            if not runs or pair[0] - runs[-1][0] != pair[1] - runs[-1][1]:
                runs.append(list(pair))
        if i != len(body):
            raise CompileError(f"the replay twin's function {index} lacks {len(body) - i} of the module's instructions")
    return runs


def make_twin(module: Path, twin: Path, offsets: Path, core: str | None = None) -> None:
    """Write ``module``'s replay twin to ``twin`` and its offset map to ``offsets`` (``core``: as ``twin_of``'s)."""
    data, table = twin_of(module.read_bytes(), core)
    twin.write_bytes(data)
    offsets.write_bytes(table)


def twin_of(module: bytes, core: str | None = None) -> tuple[bytes, bytes]:
    """A module's replay twin and its offset map (JSON); ``layerw publish`` stores them with a version
    (and ``layerw serve --serve-symbols`` makes them on request for a version published without).
    ``core`` names the transpiled core module ``module`` is, for a component build's twin."""
    with tempfile.TemporaryDirectory(prefix="layerw-twin-") as tmp:
        original, text, twin = Path(tmp) / "game.wasm", Path(tmp) / "twin.wat", Path(tmp) / "twin.wasm"
        original.write_bytes(module)
        wat = wabt("wasm2wat", "--enable-all", "--generate-names", str(original))
        text.write_text(_twin_text(wat))
        # names only where the module has some: a stripped module's twin gets no placeholder names either
        named = ("--debug-names",) if _NAMES.search(wat) else ()
        wabt("wat2wasm", *_FEATURES, *named, str(text), "-o", str(twin))
        runs = offset_runs(instructions(wabt("wasm-objdump", "-d", str(original))),
                           instructions(wabt("wasm-objdump", "-d", str(twin))))
        data = twin.read_bytes()
    doc: dict[str, object] = {"format": FORMAT, "version": VERSION, "module_sha256": hashlib.sha256(module).hexdigest(),
                              "twin_sha256": hashlib.sha256(data).hexdigest(), "runs": runs}
    if core is not None:
        doc["core"] = core
    table = json.dumps(doc, separators=(",", ":"))
    return data, table.encode()
