"""Signature stamps: each signer's drawn or typed signature, and a line of text saying who signed
what, when and in which envelope, drawn over the signed document at the signature boxes.

The stamps are one reportlab overlay per page, merged with pypdf over the original content; pages
without a signature are left untouched. All text is real text (DejaVu Sans, embedded) so the
printed name and the manifestation line can be selected, searched and extracted.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import RectangleObject
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from connector.templates.render_pdf import FONT, INK, MUTED, _register_fonts

DATA_URL_PREFIX = "data:image/png;base64,"
MAX_DRAWN_BYTES = 300_000
MAX_DRAWN_WIDTH, MAX_DRAWN_HEIGHT = 2000, 1000
SIGNATURE_KINDS = ("drawn", "typed", "none")

TEXT_SIZE = 6.0  # the manifestation line
TEXT_LEADING = 7.2
PADDING = 2.0  # between the box edge and the signature
TYPED_MAX_SIZE = 26.0
TYPED_MIN_SIZE = 4.0
ITALIC_DEGREES = 12.0
ASCENT = 0.76  # DejaVu Sans ascender, in ems
DESCENT = 0.24
SEPARATOR = " · "


@dataclass(frozen=True)
class Manifestation:
    """One signature (or approval) to stamp, and the facts printed beside it."""

    role: str
    meaning: str  # e.g. "Signed as Customer", "Approved as Legal"
    printed_name: str
    email: str
    signed_at: datetime  # aware UTC
    envelope_id: str
    signature_kind: str  # "drawn" | "typed" | "none" (approvers)
    signature_value: str  # drawn: "data:image/png;base64,…"; typed: the typed name; none: ""
    page: int  # 1-based
    x: float  # the signature box in PDF points, origin bottom-left
    y: float
    width: float
    height: float


_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def printable(value: str) -> str:
    """``value`` on one line: control characters become spaces, bidi and zero-width controls go."""
    value = _INVISIBLE.sub("", value)
    value = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in value
        if unicodedata.category(ch) != "Cs"
    )
    return " ".join(value.split())


def utc_text(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC; a naive datetime is refused rather than guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Timestamps for evidence must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def manifestation_text(manifestation: Manifestation) -> str:
    """The line printed under a signature: meaning, name, time and envelope."""
    return SEPARATOR.join(
        [
            printable(manifestation.meaning),
            printable(manifestation.printed_name),
            f"{utc_text(manifestation.signed_at)} UTC",
            f"Envelope {printable(manifestation.envelope_id)}",
        ]
    )


def decode_drawn_signature(value: str, *, max_bytes: int = MAX_DRAWN_BYTES) -> bytes:
    """The PNG in a ``data:image/png;base64,`` URL, checked and re-encoded without metadata.

    Raises ValueError (one sentence, safe to show) when it is not such a URL, not valid base64,
    larger than ``max_bytes`` decoded, not a PNG, larger than 2000 x 1000 pixels, or blank.
    """
    if not isinstance(value, str) or not value.startswith(DATA_URL_PREFIX):
        raise ValueError("The drawn signature must be a data:image/png;base64 URL.")
    payload = value[len(DATA_URL_PREFIX) :]
    if len(payload) > 4 * math.ceil(max_bytes / 3):
        raise ValueError(f"The drawn signature is larger than {max_bytes} bytes.")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("The drawn signature is not valid base64.") from error
    if not raw:
        raise ValueError("The drawn signature is empty.")
    if len(raw) > max_bytes:
        raise ValueError(f"The drawn signature is larger than {max_bytes} bytes.")
    try:
        image = Image.open(io.BytesIO(raw))
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError("The drawn signature is not a readable PNG image.") from error
    with image:
        if image.format != "PNG":
            raise ValueError("The drawn signature is not a PNG image.")
        width, height = image.size
        if width > MAX_DRAWN_WIDTH or height > MAX_DRAWN_HEIGHT:
            raise ValueError(
                f"The drawn signature is {width} x {height} pixels, larger than "
                f"{MAX_DRAWN_WIDTH} x {MAX_DRAWN_HEIGHT}."
            )
        if width < 1 or height < 1:
            raise ValueError("The drawn signature has no pixels.")
        try:
            rgba = image.convert("RGBA")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            raise ValueError("The drawn signature is not a readable PNG image.") from error
    if _ink_box(rgba) is None:
        raise ValueError("The drawn signature is blank.")
    clean = Image.frombytes("RGBA", rgba.size, rgba.tobytes())  # a new image: no metadata
    out = io.BytesIO()
    clean.save(out, format="PNG")
    return out.getvalue()


def _ink_box(rgba: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the pixels that stand out from a white page, or None if none do."""
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    gray = Image.alpha_composite(white, rgba).convert("L")
    low, high = cast(tuple[int, int], gray.getextrema())  # one band: a pair of levels
    if high - low < 16:  # one flat colour (fully transparent included): nothing was drawn
        return None
    background = cast(int, gray.getpixel((0, 0)))
    ink = gray.point(lambda level: 255 if abs(level - background) >= 16 else 0)
    return ink.getbbox()


def stamp_signatures(pdf: bytes, manifestations: Sequence[Manifestation]) -> bytes:
    """``pdf`` with every manifestation drawn at its box; other pages stay as they were."""
    _register_fonts()
    reader = PdfReader(io.BytesIO(pdf))
    if reader.is_encrypted:
        raise ValueError("An encrypted PDF cannot be stamped.")
    writer = PdfWriter(clone_from=reader)
    by_page: dict[int, list[Manifestation]] = {}
    for manifestation in manifestations:
        _check(manifestation, len(writer.pages))
        by_page.setdefault(manifestation.page, []).append(manifestation)
    for number, on_page in sorted(by_page.items()):
        page = writer.pages[number - 1]
        overlay = PdfReader(io.BytesIO(_overlay(page.mediabox, on_page))).pages[0]
        box = RectangleObject(page.mediabox)
        overlay.mediabox = box
        overlay.cropbox = box
        overlay.trimbox = box
        page.merge_page(overlay)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _check(manifestation: Manifestation, page_count: int) -> None:
    if manifestation.signature_kind not in SIGNATURE_KINDS:
        raise ValueError(f"Unknown signature kind {manifestation.signature_kind!r}.")
    if not 1 <= manifestation.page <= page_count:
        raise ValueError(
            f"The signature box is on page {manifestation.page} of a {page_count}-page document."
        )
    numbers = (manifestation.x, manifestation.y, manifestation.width, manifestation.height)
    if not all(math.isfinite(n) for n in numbers) or min(numbers[2:]) <= 0:
        raise ValueError("The signature box must have a finite position and a positive size.")
    if manifestation.signature_kind == "typed" and not printable(manifestation.signature_value):
        raise ValueError("The typed signature is empty.")


def _overlay(mediabox: RectangleObject, manifestations: list[Manifestation]) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(float(mediabox.right), float(mediabox.top)),
        pageCompression=1,
    )
    canvas.setCreator("Countersign")
    for manifestation in manifestations:
        _draw(canvas, manifestation, float(mediabox.bottom))
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw(canvas: Canvas, m: Manifestation, page_bottom: float) -> None:
    lines = _wrap(manifestation_text(m), max(m.width, 60.0))
    text_height = len(lines) * TEXT_LEADING
    area_y, area_height = m.y + PADDING, m.height - 2 * PADDING
    if m.y - page_bottom >= text_height + PADDING:
        first_baseline = m.y - TEXT_SIZE - 1  # just below the box
    else:  # no room below: inside the bottom of the box, above which the signature goes
        first_baseline = m.y + PADDING + (len(lines) - 1) * TEXT_LEADING + TEXT_SIZE * DESCENT
        area_y += text_height
        area_height -= text_height
    canvas.saveState()
    canvas.setFillColor(MUTED)
    canvas.setFont(FONT, TEXT_SIZE)
    for index, line in enumerate(lines):
        canvas.drawString(m.x, first_baseline - index * TEXT_LEADING, line)
    canvas.restoreState()
    area_x, area_width = m.x + PADDING, m.width - 2 * PADDING
    if area_width <= 0 or area_height <= 0:
        return
    if m.signature_kind == "drawn":
        _draw_image(canvas, m.signature_value, area_x, area_y, area_width, area_height)
    elif m.signature_kind == "typed":
        _draw_typed(canvas, printable(m.signature_value), area_x, area_y, area_width, area_height)


def _wrap(text: str, width: float) -> list[str]:
    """Lines no wider than ``width``, broken after a " · " where possible."""
    lines: list[str] = []
    current = ""
    parts = text.split(SEPARATOR)
    for index, part in enumerate(parts):
        piece = part + (SEPARATOR.rstrip() if index < len(parts) - 1 else "")
        candidate = f"{current} {piece}" if current else piece
        if stringWidth(candidate, FONT, TEXT_SIZE) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        split = simpleSplit(piece, FONT, TEXT_SIZE, width) or [piece]
        lines.extend(split[:-1])
        current = split[-1]
    if current:
        lines.append(current)
    return lines


def _draw_image(
    canvas: Canvas, value: str, x: float, y: float, width: float, height: float
) -> None:
    with Image.open(io.BytesIO(decode_drawn_signature(value))) as opened:
        image = opened.convert("RGBA")
    box = _ink_box(image)
    if box is not None:  # trim the empty margins of the pad so the strokes fill the box
        margin = max(2, round(0.03 * max(image.size)))
        left, top, right, bottom = box
        image = image.crop(
            (
                max(0, left - margin),
                max(0, top - margin),
                min(image.width, right + margin),
                min(image.height, bottom + margin),
            )
        )
    scale = min(width / image.width, height / image.height)
    drawn_width, drawn_height = image.width * scale, image.height * scale
    canvas.drawImage(
        ImageReader(image),
        x + (width - drawn_width) / 2,
        y + (height - drawn_height) / 2,
        drawn_width,
        drawn_height,
        mask="auto",
    )


def _draw_typed(canvas: Canvas, name: str, x: float, y: float, width: float, height: float) -> None:
    slant = math.tan(math.radians(ITALIC_DEGREES)) * ASCENT  # extra width from the skew, in ems
    width_per_point = stringWidth(name, FONT, 1) + slant
    size = min(TYPED_MAX_SIZE, height / (ASCENT + DESCENT), width / width_per_point)
    size = max(size, TYPED_MIN_SIZE)
    text_width = width_per_point * size
    baseline = y + (height - size * (ASCENT + DESCENT)) / 2 + size * DESCENT
    canvas.saveState()
    canvas.setFillColor(INK)
    canvas.setFont(FONT, size)
    canvas.translate(x + max(0.0, (width - text_width) / 2), baseline)
    canvas.skew(0, ITALIC_DEGREES)
    canvas.drawString(0, 0, name)
    canvas.restoreState()
