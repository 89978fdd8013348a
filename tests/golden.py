"""Golden frames: compare a rendered RGBA frame with tests/golden/NAME.png, with a small tolerance.

``pytest --update-golden`` rewrites the files from the current renderer (look at them before
committing). A missing golden file is written and the test fails, so it is never silently new.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

GOLDEN = Path(__file__).resolve().parent / "golden"
MAX_MEAN_DIFF = 1.5  # mean absolute difference per channel, 0..255
MAX_BAD_FRACTION = 0.005  # pixels whose largest channel difference exceeds BAD_DIFF
BAD_DIFF = 48


def compare(actual: np.ndarray, name: str, request: pytest.FixtureRequest) -> None:
    path = GOLDEN / f"{name}.png"
    update = bool(request.config.getoption("--update-golden"))
    if update or not path.exists():
        GOLDEN.mkdir(parents=True, exist_ok=True)
        Image.fromarray(actual, "RGBA").save(path)
        if not update:
            pytest.fail(f"no golden frame {path.name}; wrote one, check it and rerun")
        return
    with Image.open(path) as im:
        expected = np.asarray(im.convert("RGBA"), np.int16)
    assert expected.shape == actual.shape
    diff = np.abs(actual.astype(np.int16) - expected)
    mean, bad = diff.mean(), (diff.max(axis=2) > BAD_DIFF).mean()
    if mean > MAX_MEAN_DIFF or bad > MAX_BAD_FRACTION:
        out = path.with_name(f"{name}.actual.png")
        Image.fromarray(actual, "RGBA").save(out)
        pytest.fail(f"{path.name}: mean diff {mean:.2f}, {bad:.2%} pixels off; got {out}")
