"""Generate asteroids' PNGs (run: .venv/bin/python games/asteroids/make_assets.py).

assets/ship.png      32x32, the ship pointing right (+x), so sprite rotation = heading.
assets/asteroid.png  192x64 sheet of three 64x64 rock variants, light grey so a tint colours them.
"""

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "assets"
K = 4  # supersampling factor


def ship() -> Image.Image:
    s = 32 * K
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    p = lambda x, y: (x * K, y * K)
    hull = [p(30, 16), p(4, 4), p(9, 16), p(4, 28)]
    d.polygon(hull, fill=(210, 220, 235, 255), outline=(120, 140, 170, 255), width=K)
    d.polygon([p(4, 4), p(12, 9), p(9, 16)], fill=(90, 150, 230, 255))   # wings
    d.polygon([p(4, 28), p(12, 23), p(9, 16)], fill=(90, 150, 230, 255))
    d.ellipse((p(15, 13) + p(21, 19)), fill=(60, 220, 255, 255))          # cockpit
    return img.resize((32, 32), Image.LANCZOS)


def rock(rng: random.Random) -> Image.Image:
    s = 64 * K
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = s / 2
    n = 13
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n + rng.uniform(-0.15, 0.15)
        r = s * rng.uniform(0.36, 0.48)
        pts.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(pts, fill=(170, 165, 160, 255), outline=(230, 230, 225, 255), width=2 * K)
    for _ in range(5):  # craters
        a, r = rng.uniform(0, 2 * math.pi), rng.uniform(0, s * 0.22)
        x, y, cr = c + r * math.cos(a), c + r * math.sin(a), rng.uniform(s * 0.04, s * 0.09)
        d.ellipse((x - cr, y - cr, x + cr, y + cr), fill=(120, 115, 112, 255))
        d.arc((x - cr, y - cr, x + cr, y + cr), 200, 380, fill=(205, 200, 195, 255), width=K)
    return img.resize((64, 64), Image.LANCZOS)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    ship().save(OUT / "ship.png", optimize=True)
    rng = random.Random(7)
    sheet = Image.new("RGBA", (192, 64), (0, 0, 0, 0))
    for i in range(3):
        sheet.paste(rock(rng), (64 * i, 0))
    sheet.save(OUT / "asteroid.png", optimize=True)
    print("wrote", OUT / "ship.png", OUT / "asteroid.png")
