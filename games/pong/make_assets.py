"""Generate pong's assets/ball.png (run: .venv/bin/python games/pong/make_assets.py)."""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "assets"
SIZE = 16


def ball() -> Image.Image:
    # Drawn 4x larger and downsampled for a smooth edge; a white ball with a soft highlight.
    big = SIZE * 4
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((2, 2, big - 3, big - 3), fill=(235, 235, 235, 255))
    d.ellipse((10, 10, big // 2, big // 2), fill=(255, 255, 255, 255))
    d.ellipse((2, 2, big - 3, big - 3), outline=(170, 170, 170, 255), width=4)
    return img.resize((SIZE, SIZE), Image.LANCZOS)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    ball().save(OUT / "ball.png", optimize=True)
    print("wrote", OUT / "ball.png")
