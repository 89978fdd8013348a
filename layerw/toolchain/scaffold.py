"""scaffold: ``layerw new NAME`` writes a small game that builds and runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from layerw.config import CONFIG_NAME, GameConfig
from layerw.errors import ConfigError

TEMPLATES = Path(__file__).resolve().parent / "templates"
SPRITE = "ship.png"  # 16x16, white: the template tints it


def scaffold(path: Path, language: str = "c") -> Path:
    """Create ``path`` with layerw.toml, main.c (or main.cpp) and the sprite it draws (assets/ship.png);
    refuses to overwrite. The templates show input, sprites, text, sound and saves, with brief comments."""
    name = re.sub(r"[^a-z0-9-]+", "-", path.name.lower()).strip("-") or "game"
    GameConfig(name=name).check(str(path / CONFIG_NAME))
    if path.exists() and any(path.iterdir()):
        raise ConfigError(f"{path} exists and is not empty: choose a new directory")
    source = "main.cpp" if language == "cpp" else "main.c"
    (path / "assets").mkdir(parents=True, exist_ok=True)
    (path / CONFIG_NAME).write_text((TEMPLATES / "layerw.toml").read_text().replace("{name}", name))
    (path / source).write_text((TEMPLATES / source).read_text())
    shutil.copyfile(TEMPLATES / SPRITE, path / "assets" / SPRITE)
    return path
