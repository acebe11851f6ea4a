"""Signature stamps: drawn and typed signatures and approvals land on their page, as real text."""

from __future__ import annotations

import base64
import io
import random
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from connector.evidence.stamp import (
    Manifestation,
    decode_drawn_signature,
    manifestation_text,
    stamp_signatures,
)

ENVELOPE = "3f2c9a1e-5b7d-4c1a-9e3f-0a1b2c3d4e5f"
SIGNED_AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def two_pages() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.drawString(72, 780, "First page terms")
    canvas.showPage()
    canvas.drawString(72, 780, "Second page terms")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def png(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save)
    return buffer.getvalue()


def data_url(raw: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode()}"


def stroke(size: tuple[int, int] = (600, 200)) -> Image.Image:
    """A black stroke on a transparent pad, like a signature canvas exports."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).line(
        [(40, 150), (140, 40), (240, 160), (340, 50), (440, 140)], fill=(0, 0, 0, 255), width=6
    )
    return image


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def page_texts(pdf: bytes) -> list[str]:
    return [words(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def signer(**overrides: object) -> Manifestation:
    base = Manifestation(
        role="customer",
        meaning="Signed as Customer",
        printed_name="Jane Customer",
        email="jane@initech.example",
        signed_at=SIGNED_AT,
        envelope_id=ENVELOPE,
        signature_kind="drawn",
        signature_value=data_url(png(stroke())),
        page=1,
        x=72,
        y=600,
        width=240,
        height=51,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


TYPED = signer(
    role="provider",
    meaning="Signed as Provider",
    printed_name="Pat Provider",
    email="pat@acme.example",
    signature_kind="typed",
    signature_value="Patricia Provider",
    page=2,
)
APPROVER = signer(
    role="legal",
    meaning="Approved as Legal",
    printed_name="Lee Legal",
    email="lee@acme.example",
    signature_kind="none",
    signature_value="",
    page=2,
    y=400,
)


def test_each_stamp_lands_on_its_own_page() -> None:
    drawn = signer()
    stamped = stamp_signatures(two_pages(), [drawn, TYPED, APPROVER])
    reader = PdfReader(io.BytesIO(stamped))
    first, second = page_texts(stamped)

    assert len(reader.pages) == 2
    assert "First page terms" in first
    assert "Second page terms" in second

    assert manifestation_text(drawn) in first
    assert (
        f"Signed as Customer · Jane Customer · 2026-03-04 05:06:07 UTC · Envelope {ENVELOPE}"
        in first
    )
    assert "Signed as Customer" not in second

    assert "Patricia Provider" in second
    assert manifestation_text(TYPED) in second
    assert f"Approved as Legal · Lee Legal · 2026-03-04 05:06:07 UTC · Envelope {ENVELOPE}" in (
        second
    )
    for absent in ("Patricia Provider", "Signed as Provider", "Approved as Legal"):
        assert absent not in first

    assert len(reader.pages[0].images) >= 1
    assert len(reader.pages[1].images) == 0


def test_pages_without_a_signature_are_left_alone() -> None:
    original = two_pages()
    stamped = stamp_signatures(original, [signer()])
    before = PdfReader(io.BytesIO(original)).pages[1]
    after = PdfReader(io.BytesIO(stamped)).pages[1]

    assert after.get_contents().get_data() == before.get_contents().get_data()  # type: ignore[union-attr]
    assert page_texts(stamped)[1] == "Second page terms"


def test_no_stamps_changes_no_page() -> None:
    assert page_texts(stamp_signatures(two_pages(), [])) == page_texts(two_pages())


def test_control_characters_are_stripped_from_the_printed_text() -> None:
    sneaky = replace(TYPED, printed_name="Pat\x00 Pro\u202evider\n", signature_value="Pat\tPro\x07")
    second = page_texts(stamp_signatures(two_pages(), [sneaky]))[1]

    assert "Signed as Provider · Pat Provider · 2026-03-04" in second
    assert "Pat Pro" in second
    assert "\x00" not in second
    assert "\u202e" not in second


def test_a_long_manifestation_wraps_inside_a_narrow_box() -> None:
    narrow = replace(signer(), width=120, printed_name="Maximiliana Bartholomew-Featherstonehaugh")
    first = page_texts(stamp_signatures(two_pages(), [narrow]))[0]
    assert manifestation_text(narrow) in first


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"page": 3}, "page 3"),
        ({"page": 0}, "page 0"),
        ({"signature_kind": "stamp"}, "Unknown signature kind"),
        ({"width": 0}, "positive size"),
        ({"signature_kind": "typed", "signature_value": " \n"}, "typed signature is empty"),
        ({"signed_at": datetime(2026, 3, 4, 5, 6, 7)}, "timezone-aware"),
        ({"signature_value": "data:image/png;base64,!!"}, "base64"),
    ],
)
def test_bad_manifestations_are_refused(change: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        stamp_signatures(two_pages(), [replace(signer(), **change)])  # type: ignore[arg-type]


def test_the_signed_time_is_printed_in_utc() -> None:
    from datetime import timedelta, timezone

    madrid = datetime(2026, 3, 4, 6, 6, 7, tzinfo=timezone(timedelta(hours=1)))
    assert "· 2026-03-04 05:06:07 UTC ·" in manifestation_text(signer(signed_at=madrid))


# decode_drawn_signature


def test_a_drawn_signature_is_reencoded_without_metadata() -> None:
    info = PngInfo()
    info.add_text("Author", "tracking-id-1234")
    info.add_text("Comment", "made on a secret device")
    raw = png(stroke(), pnginfo=info, dpi=(300, 300))
    assert b"tracking-id-1234" in raw

    clean = decode_drawn_signature(data_url(raw))

    assert b"tracking-id-1234" not in clean
    assert b"secret device" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "PNG"
        assert image.size == (600, 200)
        assert "Author" not in image.info
        assert "dpi" not in image.info
        assert image.convert("RGBA").tobytes() == stroke().tobytes()  # lossless


def test_an_opaque_white_pad_with_ink_is_accepted() -> None:
    image = Image.new("RGB", (400, 150), (255, 255, 255))
    ImageDraw.Draw(image).line([(20, 100), (380, 60)], fill=(20, 20, 80), width=4)
    assert decode_drawn_signature(data_url(png(image))).startswith(b"\x89PNG")


def jpeg() -> bytes:
    buffer = io.BytesIO()
    stroke().convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://example.com/signature.png", "data:image/png;base64 URL"),
        ("Jane Customer", "data:image/png;base64 URL"),
        (data_url(png(stroke()), "image/jpeg"), "data:image/png;base64 URL"),
        (data_url(jpeg()), "not a PNG"),
        ("data:image/png;base64,iVBORw0KGgo=%%%", "not valid base64"),
        ("data:image/png;base64,iVBORw0KGgo", "not valid base64"),
        ("data:image/png;base64,", "empty"),
        (data_url(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20), "not a readable PNG"),
        (data_url(png(stroke((3000, 100)))), "3000 x 100 pixels"),
        (data_url(png(Image.new("RGBA", (600, 200), (0, 0, 0, 0)))), "blank"),
        (data_url(png(Image.new("RGBA", (600, 200), (255, 0, 0, 0)))), "blank"),
        (data_url(png(Image.new("RGB", (600, 200), (255, 255, 255)))), "blank"),
    ],
)
def test_bad_drawn_signatures_are_refused(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        decode_drawn_signature(value)


def test_an_oversized_drawn_signature_is_refused() -> None:
    raw = png(stroke())
    with pytest.raises(ValueError, match="larger than 100 bytes"):
        decode_drawn_signature(data_url(raw), max_bytes=100)
    noise = Image.frombytes("RGBA", (400, 300), random.Random(7).randbytes(400 * 300 * 4))
    big = png(noise)
    assert len(big) > 300_000
    with pytest.raises(ValueError, match="larger than 300000 bytes"):
        decode_drawn_signature(data_url(big))
