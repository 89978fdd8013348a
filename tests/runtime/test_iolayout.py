"""check_io: the one lw_io check every backend applies before trusting an address."""

from __future__ import annotations

import pytest

from layerw import abi
from layerw.errors import InvalidModule
from layerw.runtime.iolayout import IoLayout, check_io

MEMORY = 4 * 65536
GOOD = {"magic": abi.IO_MAGIC, "abi_version": abi.ABI_VERSION, "input_ptr": 2048, "input_size": abi.INPUT.size,
        "cmd_ptr": 65536, "cmd_capacity": 65536, "state_begin": 1024, "reserved": 0}


def test_an_honest_record_is_its_layout() -> None:
    layout = check_io("g", GOOD, MEMORY)
    assert layout == IoLayout(input_ptr=2048, cmd_ptr=65536, cmd_capacity=65536, state_begin=1024)
    assert layout.cmd_end == 131072


@pytest.mark.parametrize(("field", "value", "match"), [
    ("magic", 0x1234, "speaks ABI"),
    ("abi_version", abi.ABI_VERSION + 1, "speaks ABI"),
    ("input_size", abi.INPUT.size - 4, "input block is"),
    ("input_ptr", MEMORY - abi.INPUT.size + 1, "outside memory"),   # input block runs past memory
    ("cmd_capacity", MEMORY, "outside memory"),                     # commands run past memory
    ("cmd_capacity", abi.COMMAND_SCRATCH - 1, "outside memory"),    # no scratch tail
    ("state_begin", 65537, "out of order"),                         # state begins inside the commands
    ("cmd_ptr", -1, "outside memory"),
])
def test_each_lie_is_invalid_module(field: str, value: int, match: str) -> None:
    with pytest.raises(InvalidModule, match=match):
        check_io("g", {**GOOD, field: value}, MEMORY)


def test_the_edges_fit() -> None:
    edge = {**GOOD, "input_ptr": MEMORY - abi.INPUT.size, "cmd_ptr": MEMORY - 65536, "state_begin": MEMORY - 65536}
    assert check_io("g", edge, MEMORY).cmd_end == MEMORY
