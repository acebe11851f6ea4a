"""Draws the Zendesk app's logos: a blue rounded square (#2750c4) with a white signature stroke.

Run ``.venv/bin/python -m manifests.make_assets`` after changing the drawing; it rewrites
``manifests/zendesk/assets/logo.png`` (320x320) and ``logo-small.png`` (128x128), which are
committed. Drawn at 4x and downsampled, so the edges are anti-aliased at both sizes.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parent / "zendesk" / "assets"
BLUE = (0x27, 0x50, 0xC4, 255)
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4
#: File name → edge length in pixels (Zendesk's marketplace sizes).
LOGOS = {"logo.png": 320, "logo-small.png": 128}


def _signature(size: float) -> list[tuple[float, float]]:
    """A cursive stroke: three loops (a prolate trochoid) shrinking towards a rising tail."""
    points = []
    steps = 1200
    for i in range(steps + 1):
        t = i / steps
        angle = 2 * math.pi * 3 * t
        radius = 0.10 * (1 - 0.6 * t)
        x = 0.17 + 0.50 * t + 0.9 * radius * math.sin(angle)
        y = 0.62 - 1.3 * radius * (1 - math.cos(angle)) - 0.04 * t
        points.append((x * size, y * size))
    # The tail: a quadratic sweep from the last loop out to the right, rising a little.
    (x0, y0), (x1, y1), (x2, y2) = (
        points[-1],
        (0.80 * size, 0.62 * size),
        (0.84 * size, 0.50 * size),
    )
    for i in range(1, 201):
        t = i / 200
        x = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t**2 * x2
        y = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t**2 * y2
        points.append((x, y))
    return points


def draw_logo(edge: int) -> Image.Image:
    size = edge * SUPERSAMPLE
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=round(size * 0.22), fill=BLUE)
    # The pen: a round nib stamped densely along the path gives a smooth stroke with round caps.
    nib = size * 0.024
    for x, y in _signature(size):
        draw.ellipse((x - nib, y - nib, x + nib, y + nib), fill=WHITE)
    # The line it is signed on.
    line_y = size * 0.74
    draw.rounded_rectangle(
        (size * 0.17, line_y, size * 0.83, line_y + size * 0.02),
        radius=round(size * 0.01),
        fill=(255, 255, 255, 170),
    )
    return image.resize((edge, edge), Image.Resampling.LANCZOS)


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    for name, edge in LOGOS.items():
        path = ASSETS / name
        draw_logo(edge).save(path, format="PNG", optimize=True)
        print(f"wrote {path} ({edge}x{edge})")


if __name__ == "__main__":
    main()
