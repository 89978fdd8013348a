"""IoLayout: where a started game keeps its input block, command buffer and state (its lw_io).

``lw_init`` (core) or ``init`` (component) hands the host an lw_io record; ``check_io`` is the one
check every backend applies to it before trusting any of its addresses: the ABI it speaks, the
input block's size, and that every block lies inside memory, in order, with room for the command
buffer's scratch tail. A core host reads the record from guest memory; a component returns it by
value and the memory size comes from its ``pages`` export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from layerw import abi
from layerw.errors import InvalidModule


@dataclass(frozen=True)
class IoLayout:
    input_ptr: int
    cmd_ptr: int
    cmd_capacity: int
    state_begin: int
    snd_ptr: int = 0  # the sound block; 0 when the game makes no sound
    snd_capacity: int = 0

    @property
    def cmd_end(self) -> int:
        """First byte after the command buffer: state resumes here."""
        return self.cmd_ptr + self.cmd_capacity


def check_io(game: str, io: Mapping[str, int], memory_size: int) -> IoLayout:
    """The layout ``io`` (lw_io's fields by name) describes, in a memory of ``memory_size`` bytes;
    anything a host cannot trust raises InvalidModule naming ``game``."""
    magic, version = int(io["magic"]), int(io["abi_version"])
    if magic != abi.IO_MAGIC or version != abi.ABI_VERSION:
        raise InvalidModule(f"{game} speaks ABI {version} (magic {magic:#x}); "
                            f"this host speaks ABI {abi.ABI_VERSION}: rebuild the game")
    if io["input_size"] != abi.INPUT.size:
        raise InvalidModule(f"{game}: input block is {io['input_size']} bytes, expected {abi.INPUT.size}")
    layout = IoLayout(*(int(io[k]) for k in ("input_ptr", "cmd_ptr", "cmd_capacity", "state_begin")),
                      *(int(io.get(k, 0)) for k in ("snd_ptr", "snd_capacity")))  # snd_ptr 0: no sound
    if (min(layout.input_ptr, layout.cmd_ptr, layout.cmd_capacity, layout.state_begin) < 0
            or layout.input_ptr + abi.INPUT.size > memory_size or layout.cmd_end > memory_size
            or layout.cmd_capacity < abi.COMMAND_SCRATCH or layout.state_begin > layout.cmd_ptr):
        raise InvalidModule(f"{game}: lw_io describes blocks outside memory or out of order (input "
                            f"{layout.input_ptr}, commands {layout.cmd_ptr}+{layout.cmd_capacity}, state from "
                            f"{layout.state_begin}; memory {memory_size} bytes)")
    if layout.snd_ptr and (layout.snd_capacity > abi.SOUND_CAPACITY or layout.snd_ptr + layout.snd_capacity > memory_size
                           or layout.snd_ptr < layout.state_begin):
        raise InvalidModule(f"{game}: lw_io describes a sound block outside memory or above {abi.SOUND_CAPACITY} "
                            f"bytes ({layout.snd_ptr}+{layout.snd_capacity}; memory {memory_size} bytes)")
    return layout
