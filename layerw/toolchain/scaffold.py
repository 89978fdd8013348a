"""scaffold: ``layerw new NAME`` writes a small game that builds and runs."""

from __future__ import annotations

import re
from pathlib import Path

from layerw.config import CONFIG_NAME, GameConfig
from layerw.errors import ConfigError

TEMPLATES = Path(__file__).resolve().parent / "templates"


def scaffold(path: Path, language: str = "c") -> Path:
    """Create ``path`` with layerw.toml and main.c (or main.cpp); refuses to overwrite."""
    name = re.sub(r"[^a-z0-9-]+", "-", path.name.lower()).strip("-") or "game"
    GameConfig(name=name).check(str(path / CONFIG_NAME))
    if path.exists() and any(path.iterdir()):
        raise ConfigError(f"{path} exists and is not empty: choose a new directory")
    source = "main.cpp" if language == "cpp" else "main.c"
    (path / "assets").mkdir(parents=True, exist_ok=True)
    (path / CONFIG_NAME).write_text((TEMPLATES / "layerw.toml").read_text().replace("{name}", name))
    (path / source).write_text((TEMPLATES / "main.c").read_text())
    return path
