"""The button and arrow icons of the WASM-4 charset (codes 0x80..0x87), drawn for Layer-W.

WASM-4's text guide names six icons: the X and Z buttons at 0x80 and 0x81 and the left, right,
up and down arrows at 0x84..0x87. These are Layer-W's own design (not WASM-4's bitmaps): a filled
circle with the button's letter cut out, and a solid arrow. 0x82 and 0x83 are not documented and
have no glyph.
"""

from __future__ import annotations

import numpy as np

X_BUTTON = """
..####..
.######.
##.##.##
###..###
###..###
##.##.##
.######.
..####..
"""

Z_BUTTON = """
..####..
.######.
##....##
####.###
###.####
##....##
.######.
..####..
"""

UP_ARROW = """
...#....
..###...
.#####..
#######.
..###...
..###...
..###...
........
"""


def art(text: str) -> np.ndarray:
    """A picture written as rows of '#' (ink) and '.' (none), as a bool array (8x8 for an icon)."""
    return np.array([[c == "#" for c in row] for row in text.split()])


def icons() -> dict[int, np.ndarray]:
    """Code -> (8, 8) bool ink of each icon: the arrows are one picture turned (the up arrow's
    rows mirrored make the down arrow, its transpose the left arrow)."""
    up = art(UP_ARROW)
    down = np.roll(up[::-1], -1, axis=0)  # mirrored, then back to rows 0..6 like the up arrow
    left = up.T
    right = np.roll(left[:, ::-1], -1, axis=1)
    return {0x80: art(X_BUTTON), 0x81: art(Z_BUTTON), 0x84: left, 0x85: right, 0x86: up, 0x87: down}
