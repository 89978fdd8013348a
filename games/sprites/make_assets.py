"""Generate the sprite stress scene's assets (run: .venv/bin/python games/sprites/make_assets.py).

assets/sheet.png   128x32: four 32x32 animation frames of a spinning, pulsing star, near-white
                   so each sprite's tint colours it.
assets/config.txt  "count=N", the number of sprites (read by the game at start-up).
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "assets"
K = 4
CELL = 32


def star(frame: int) -> Image.Image:
    s = CELL * K
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = s / 2
    spin = frame * (math.pi / 10)            # a quarter of the 5-fold symmetry per cycle
    outer = s * (0.46 - 0.03 * (frame % 2))  # pulse
    inner = outer * 0.45
    pts = []
    for i in range(10):
        a = spin + i * math.pi / 5 - math.pi / 2
        r = outer if i % 2 == 0 else inner
        pts.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(pts, fill=(225, 225, 225, 255), outline=(255, 255, 255, 255), width=2 * K)
    cr = s * (0.09 + 0.02 * frame)
    d.ellipse((c - cr, c - cr, c + cr, c + cr), fill=(255, 255, 255, 255))
    return img.resize((CELL, CELL), Image.LANCZOS)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    sheet = Image.new("RGBA", (CELL * 4, CELL), (0, 0, 0, 0))
    for f in range(4):
        sheet.paste(star(f), (CELL * f, 0))
    sheet.save(OUT / "sheet.png", optimize=True)
    (OUT / "config.txt").write_text("count=10000\n")
    print("wrote", OUT / "sheet.png", OUT / "config.txt")
