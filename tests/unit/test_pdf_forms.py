"""PDF form templates: fields read from untrusted uploads, refusals, filling, flattening, drafts."""

from __future__ import annotations

import hashlib
import io
import random
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)
from reportlab.pdfgen.canvas import Canvas

from connector.templates.pdf_forms import (
    FormField,
    PdfRejected,
    fill_pdf,
    inspect_pdf,
    watermark_draft,
)
from tests.pdfs import flate_zeros, raw_pdf

MB = 1024 * 1024
LIMIT = 20 * MB
DAMAGED = "the PDF is damaged and cannot be read"
BOMB = "a stream in the PDF expands beyond the allowed size (compression bomb?)"

Draw = Callable[[Canvas], None]


def make_pdf(*pages: Draw, size: tuple[float, float] = (612, 792)) -> bytes:
    """A PDF with one page per callable, each free to draw text and AcroForm fields."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size)
    for draw in pages:
        draw(canvas)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def contract_page(canvas: Canvas) -> None:
    canvas.drawString(72, 750, "Service agreement")
    form = canvas.acroForm
    form.textfield(
        name="full_name", x=72, y=600, width=200, height=20, maxlen=40, fieldFlags="required"
    )
    form.checkbox(name="agree", x=72, y=550, size=14, fieldFlags="")
    # reportlab writes a (label, value) option as the PDF pair [value, label].
    form.choice(
        name="plan",
        x=72,
        y=500,
        width=120,
        height=20,
        options=["basic", ("Pro plan", "pro")],
        value="basic",  # reportlab fails on a choice without a value
    )
    form.radio(name="color", value="red", x=72, y=450, selected=True)
    form.radio(name="color", value="blue", x=100, y=450)


def plain_page(text: str) -> Draw:
    def draw(canvas: Canvas) -> None:
        canvas.drawString(72, 750, text)

    return draw


def edit(pdf: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def widget(**entries: object) -> DictionaryObject:
    """A widget annotation; plain tuples become arrays, plain "/..." strings names."""
    converted = {
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/F"): NumberObject(4),
    }
    for key, value in entries.items():
        if isinstance(value, PdfObject):
            converted[NameObject(f"/{key}")] = value
        elif isinstance(value, tuple):
            converted[NameObject(f"/{key}")] = ArrayObject(FloatObject(v) for v in value)
        elif isinstance(value, str) and value.startswith("/"):
            converted[NameObject(f"/{key}")] = NameObject(value)
        elif isinstance(value, str):
            converted[NameObject(f"/{key}")] = TextStringObject(value)
        else:
            raise TypeError(value)
    return DictionaryObject(converted)


def add_signature_field(pdf: bytes, name: str, page: int, rect: tuple[float, ...]) -> bytes:
    def change(writer: PdfWriter) -> None:
        added = writer.add_annotation(page, widget(FT="/Sig", T=name, Rect=rect))
        dig(writer.root_object["/AcroForm"])["/Fields"].append(added.indirect_reference)

    return edit(pdf, change)


def add_nested_text_field(pdf: bytes, *, kid_typed: bool) -> bytes:
    """A "buyer" text field with a kid widget "name", typed itself or inheriting /FT /Tx."""

    def change(writer: PdfWriter) -> None:
        parent = DictionaryObject(
            {
                NameObject("/FT"): NameObject("/Tx"),
                NameObject("/T"): TextStringObject("buyer"),
                NameObject("/Kids"): ArrayObject(),
            }
        )
        parent_ref = writer._add_object(parent)
        kid = widget(T="name", Rect=(300, 600, 500, 620), DA=TextStringObject("/Helv 10 Tf 0 g"))
        if kid_typed:
            kid[NameObject("/FT")] = NameObject("/Tx")
        kid = writer.add_annotation(0, kid)
        kid[NameObject("/Parent")] = parent_ref
        dig(parent["/Kids"]).append(kid.indirect_reference)
        dig(writer.root_object["/AcroForm"])["/Fields"].append(parent_ref)

    return edit(pdf, change)


def rejection(data: bytes, *, max_bytes: int = LIMIT, max_pages: int = 500) -> str:
    """The sentence inspect_pdf refuses ``data`` with."""
    with pytest.raises(PdfRejected) as refused:
        inspect_pdf(data, max_bytes=max_bytes, max_pages=max_pages)
    return str(refused.value)


def dig(value: object) -> Any:
    """``value`` resolved if it is a reference, and loosely typed for digging into in a test."""
    return value.get_object() if isinstance(value, PdfObject) else value


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def field_values(pdf: bytes) -> dict[str, object]:
    return {name: f.get("/V") for name, f in (reader(pdf).get_fields() or {}).items()}


# Reading fields


def test_fields_are_found_with_types_pages_rects_options_and_flags() -> None:
    pdf = make_pdf(contract_page)
    info = inspect_pdf(pdf, max_bytes=LIMIT)

    assert info.page_count == 1
    assert info.page_sizes == ((612.0, 792.0),)
    assert {f.name: f for f in info.fields} == {
        "full_name": FormField(
            "full_name", "text", 1, (72.0, 600.0, 272.0, 620.0), required=True, max_length=40
        ),
        "agree": FormField("agree", "checkbox", 1, (72.0, 550.0, 86.0, 564.0)),
        "plan": FormField("plan", "select", 1, (72.0, 500.0, 192.0, 520.0), ("basic", "pro")),
        # A radio group is a select over its buttons' "on" states; the first button places it.
        "color": FormField(
            "color", "select", 1, (72.0, 450.0, 92.0, 470.0), ("red", "blue"), required=True
        ),
    }


def test_sha256_is_of_the_uploaded_bytes() -> None:
    pdf = make_pdf(contract_page)
    assert inspect_pdf(pdf, max_bytes=LIMIT).sha256 == hashlib.sha256(pdf).hexdigest()


def test_a_field_on_the_second_page_reports_page_two() -> None:
    def second(canvas: Canvas) -> None:
        canvas.acroForm.textfield(name="date", x=100, y=200, width=80, height=18)

    info = inspect_pdf(make_pdf(plain_page("Terms"), second), max_bytes=LIMIT)

    assert info.page_count == 2
    assert [(f.name, f.page, f.rect) for f in info.fields] == [
        ("date", 2, (100.0, 200.0, 180.0, 218.0))
    ]
    assert info.fields[0].max_length == 100  # reportlab's default /MaxLen


def test_a_signature_field_is_typed_signature() -> None:
    pdf = add_signature_field(
        make_pdf(contract_page, plain_page("Sign below")), "signer_1", 1, (300, 100, 500, 150)
    )

    signature = {f.name: f for f in inspect_pdf(pdf, max_bytes=LIMIT).fields}["signer_1"]

    assert signature == FormField("signer_1", "signature", 2, (300.0, 100.0, 500.0, 150.0))


@pytest.mark.parametrize("kid_typed", [True, False])
def test_nested_fields_get_qualified_names_and_inherit_their_type(kid_typed: bool) -> None:
    pdf = add_nested_text_field(make_pdf(contract_page), kid_typed=kid_typed)
    names = {f.name: f.type for f in inspect_pdf(pdf, max_bytes=LIMIT).fields}
    assert names["buyer.name"] == "text"


def test_a_kid_inheriting_its_type_is_filled() -> None:
    pdf = add_nested_text_field(make_pdf(contract_page), kid_typed=False)
    out = fill_pdf(pdf, {"buyer.name": "Kid"}, flatten=False)
    assert field_values(out)["buyer.name"] == "Kid"
    assert "Kid" in reader(fill_pdf(pdf, {"buyer.name": "Kid"})).pages[0].extract_text()


def test_a_rect_given_by_other_corners_is_normalised() -> None:
    def change(writer: PdfWriter) -> None:
        added = writer.add_annotation(0, widget(FT="/Tx", T="odd", Rect=(200, 120, 100, 100)))
        dig(writer.root_object["/AcroForm"])["/Fields"].append(added.indirect_reference)

    pdf = edit(make_pdf(contract_page), change)
    odd = {f.name: f for f in inspect_pdf(pdf, max_bytes=LIMIT).fields}["odd"]
    assert odd.rect == (100.0, 100.0, 200.0, 120.0)


def test_a_cycle_in_the_field_hierarchy_is_rejected_as_damaged() -> None:
    def change(writer: PdfWriter) -> None:
        looped = DictionaryObject({NameObject("/FT"): NameObject("/Tx")})
        looped_ref = writer._add_object(looped)
        looped[NameObject("/Parent")] = looped_ref
        writer.add_annotation(0, widget(Rect=(0, 0, 10, 10), Parent=looped_ref))

    assert rejection(edit(make_pdf(contract_page), change)) == DAMAGED


def test_a_pdf_without_a_form_has_no_fields() -> None:
    info = inspect_pdf(make_pdf(plain_page("a"), plain_page("b")), max_bytes=LIMIT)
    assert (info.page_count, info.fields) == (2, ())


def test_a_header_after_some_leading_junk_is_accepted() -> None:
    pdf = b"\x00" * 500 + make_pdf(contract_page)
    assert inspect_pdf(pdf, max_bytes=LIMIT).page_count == 1


# Refusals


def test_an_oversized_file_is_rejected_naming_the_limit() -> None:
    pdf = make_pdf(contract_page)
    assert rejection(pdf + b"\n" * LIMIT) == "the file is larger than 20 MB"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b"PK\x03\x04 a zip", b"\x00" * 1100 + b"%PDF-1.7\n"],
    ids=["empty", "text", "zip", "header-too-late"],
)
def test_a_file_without_a_pdf_header_is_rejected(data: bytes) -> None:
    assert rejection(data) == "the file is not a PDF (no %PDF header)"


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_truncated_pdf_is_rejected_as_damaged(keep: float) -> None:
    pdf = make_pdf(contract_page)
    assert rejection(pdf[: int(len(pdf) * keep)]) == DAMAGED


def test_garbage_after_the_header_is_rejected_as_damaged() -> None:
    garbage = bytes(range(256)) * 40
    assert rejection(b"%PDF-1.7\n" + garbage) == DAMAGED


@pytest.mark.parametrize(("user", "owner"), [("secret", None), ("", "owner-only")])
def test_an_encrypted_pdf_is_rejected(user: str, owner: str | None) -> None:
    pdf = edit(make_pdf(contract_page), lambda writer: writer.encrypt(user, owner))
    assert rejection(pdf) == "the PDF is encrypted; upload it without a password"


def test_too_many_pages_are_rejected() -> None:
    pdf = make_pdf(*(plain_page(f"page {n}") for n in range(4)))
    assert inspect_pdf(pdf, max_bytes=LIMIT, max_pages=4).page_count == 4
    assert rejection(pdf, max_pages=3) == "the PDF has 4 pages; the limit is 3"


def test_a_compression_bomb_is_rejected_quickly_and_in_little_memory() -> None:
    bomb = raw_pdf([flate_zeros(300)])  # ~300 KB that would expand to 300 MB
    assert len(bomb) < 400 * 1024

    tracemalloc.start()
    started = time.monotonic()
    try:
        assert rejection(bomb, max_bytes=MB) == BOMB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert time.monotonic() - started < 10
    assert peak < 120 * MB  # the cap is 50 x 1 MB; the bomb's 300 MB never materialise


def test_many_small_streams_that_add_up_past_the_cap_are_rejected() -> None:
    # Each stream alone stays under pypdf's per-stream limit; only the running total trips.
    pdf = raw_pdf([flate_zeros(20)] * 4)
    assert inspect_pdf(raw_pdf([flate_zeros(20)] * 2), max_bytes=MB).page_count == 1
    assert rejection(pdf, max_bytes=MB) == BOMB


def test_a_bomb_in_a_field_appearance_is_rejected() -> None:
    def change(writer: PdfWriter) -> None:
        annotation = dig(dig(writer.pages[0]["/Annots"])[0])
        stream = annotation["/AP"]["/N"].get_object()
        stream.set_data(bytes(60 * MB))  # re-encoded with Flate: small in the file

    pdf = edit(make_pdf(contract_page), change)
    assert len(pdf) < MB
    assert rejection(pdf, max_bytes=MB) == BOMB


@pytest.mark.parametrize("seed", range(3))
def test_mangled_pdfs_are_rejected_or_else_can_be_filled(seed: int) -> None:
    pdf = make_pdf(contract_page, plain_page("two"))
    rng = random.Random(seed)
    for _ in range(40):
        mangled = bytearray(pdf)
        for _ in range(rng.randint(1, 20)):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        try:
            info = inspect_pdf(bytes(mangled), max_bytes=LIMIT)
        except PdfRejected:
            continue
        # inspect_pdf fills a copy on trial, so whatever it accepts completes later.
        values: dict[str, str | bool] = {
            f.name: True if f.type == "checkbox" else (f.options[0] if f.options else "x")
            for f in info.fields
            if f.type != "signature"
        }
        assert fill_pdf(bytes(mangled), values, draft=True).startswith(b"%PDF-")


# Filling


def test_fill_without_flattening_sets_the_field_values() -> None:
    out = fill_pdf(
        make_pdf(contract_page),
        {"full_name": "Ada Lovelace", "agree": True, "plan": "pro", "color": "blue"},
        flatten=False,
    )

    assert field_values(out) == {
        "full_name": "Ada Lovelace",
        "agree": "/Yes",
        "plan": "pro",
        "color": "/blue",
    }
    form = dig(dig(reader(out).trailer["/Root"])["/AcroForm"])
    assert form["/NeedAppearances"].value is True
    states = [dig(a).get("/AS") for a in dig(reader(out).pages[0]["/Annots"])]
    assert states == [None, "/Yes", None, "/Off", "/blue"]


def test_an_unchecked_checkbox_is_off() -> None:
    def checked(canvas: Canvas) -> None:
        canvas.acroForm.checkbox(name="agree", x=72, y=550, checked=True)

    pdf = make_pdf(checked)
    assert field_values(pdf)["agree"] == "/Yes"
    out = fill_pdf(pdf, {"agree": False}, flatten=False)
    assert field_values(out)["agree"] == "/Off"
    assert dig(dig(reader(out).pages[0]["/Annots"])[0])["/AS"] == "/Off"


def test_a_value_goes_to_the_exact_field_not_one_sharing_its_partial_name() -> None:
    def top_level_name(canvas: Canvas) -> None:
        canvas.acroForm.textfield(name="name", x=72, y=600, width=200, height=20)

    pdf = add_nested_text_field(make_pdf(top_level_name), kid_typed=True)

    # pypdf on its own would also write "Top" into "buyer.name", whose partial name is "name".
    top = field_values(fill_pdf(pdf, {"name": "Top"}, flatten=False))
    kid = field_values(fill_pdf(pdf, {"buyer.name": "Kid"}, flatten=False))

    assert (top["name"], top["buyer.name"]) == ("Top", None)
    assert (kid["name"], kid["buyer.name"]) == ("", "Kid")


def test_the_exact_match_marker_does_not_stay_in_the_output() -> None:
    pdf = add_nested_text_field(make_pdf(contract_page), kid_typed=True)
    out = fill_pdf(pdf, {"full_name": "x", "buyer.name": "Kid"}, flatten=False)
    assert all("/TM" not in f for f in (reader(out).get_fields() or {}).values())


def test_widgets_missing_from_the_acroform_are_still_found_and_filled() -> None:
    def drop_form(writer: PdfWriter) -> None:
        del writer.root_object["/AcroForm"]

    pdf = edit(make_pdf(contract_page), drop_form)
    assert "full_name" in {f.name for f in inspect_pdf(pdf, max_bytes=LIMIT).fields}

    out = fill_pdf(pdf, {"full_name": "Ada Lovelace", "agree": True}, flatten=False)

    assert field_values(out)["full_name"] == "Ada Lovelace"
    flat = fill_pdf(pdf, {"full_name": "Ada Lovelace"})
    assert "Ada Lovelace" in reader(flat).pages[0].extract_text()


def test_an_xfa_copy_of_the_form_is_dropped_so_viewers_show_the_values() -> None:
    def add_xfa(writer: PdfWriter) -> None:
        form = dig(writer.root_object["/AcroForm"])
        form[NameObject("/XFA")] = TextStringObject("<xdp:xdp/>")

    out = fill_pdf(edit(make_pdf(contract_page), add_xfa), {"full_name": "Ada"}, flatten=False)

    assert "/XFA" not in dig(dig(reader(out).trailer["/Root"])["/AcroForm"])
    assert field_values(out)["full_name"] == "Ada"


def test_a_pdf_without_fields_is_returned_without_a_form() -> None:
    out = fill_pdf(make_pdf(plain_page("no form here")), {}, flatten=False)
    assert "/AcroForm" not in dig(reader(out).trailer["/Root"])
    assert "no form here" in reader(out).pages[0].extract_text()


def test_flattening_draws_the_values_into_the_page_and_removes_the_form() -> None:
    out = fill_pdf(
        make_pdf(contract_page),
        {"full_name": "Ada Lovelace", "agree": True, "plan": "pro", "color": "blue"},
    )

    flat = reader(out)
    assert "/AcroForm" not in dig(flat.trailer["/Root"])
    assert flat.get_fields() is None
    assert not [a for a in dig(flat.pages[0].get("/Annots", [])) if dig(a)["/Subtype"] == "/Widget"]
    text = flat.pages[0].extract_text()
    assert "Service agreement" in text
    assert "Ada Lovelace" in text
    assert "pro" in text
    # Each widget is drawn from its own current appearance, so the red radio button shows off
    # and the blue one on (pypdf's flatten would draw both from the group's first button).
    drawn = dig(dig(flat.pages[0]["/Resources"])["/XObject"])
    assert len({drawn.raw_get(name).idnum for name in drawn}) == 5


def test_flattening_keeps_every_content_stream_of_the_page() -> None:
    def second_stream(writer: PdfWriter) -> None:
        page = writer.pages[0]
        extra = DecodedStreamObject()
        extra.set_data(b"BT /F1 12 Tf 72 300 Td (Second stream) Tj ET")
        both = ArrayObject([page.raw_get("/Contents"), writer._add_object(extra)])
        page[NameObject("/Contents")] = both

    pdf = edit(make_pdf(contract_page), second_stream)
    text = reader(fill_pdf(pdf, {"full_name": "Ada"})).pages[0].extract_text()
    assert ["Service agreement" in text, "Second stream" in text, "Ada" in text] == [True] * 3


def test_flattening_keeps_untouched_prefilled_values_visible() -> None:
    def prefilled(canvas: Canvas) -> None:
        canvas.acroForm.textfield(name="city", value="Lisbon", x=72, y=600, width=200, height=20)
        canvas.acroForm.textfield(name="zip", x=72, y=560, width=80, height=20)

    out = fill_pdf(make_pdf(prefilled), {"zip": "1100-001"})
    text = reader(out).pages[0].extract_text()
    assert "Lisbon" in text
    assert "1100-001" in text


def test_flattening_leaves_no_signature_widget_behind() -> None:
    pdf = add_signature_field(make_pdf(contract_page), "signer_1", 0, (300, 100, 500, 150))
    out = fill_pdf(pdf, {"full_name": "Ada"})
    assert reader(out).get_fields() is None
    assert "Ada" in reader(out).pages[0].extract_text()


def test_unknown_field_names_raise_key_error_naming_them() -> None:
    with pytest.raises(KeyError, match="'nickname', 'zodiac'"):
        fill_pdf(make_pdf(contract_page), {"full_name": "Ada", "zodiac": "x", "nickname": "y"})


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"agree": "yes"}, "must be True or False"),
        ({"full_name": True}, "takes text"),
        ({"full_name": "x" * 41}, "at most 40 characters"),
        ({"plan": "enterprise"}, "not one of the options"),
        ({"color": "green"}, "not one of the options"),
    ],
)
def test_values_a_field_cannot_hold_raise_value_error(
    values: dict[str, str | bool], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        fill_pdf(make_pdf(contract_page), values)


def test_a_signature_field_cannot_be_filled_with_a_value() -> None:
    pdf = add_signature_field(make_pdf(contract_page), "signer_1", 0, (300, 100, 500, 150))
    with pytest.raises(ValueError, match="signature field"):
        fill_pdf(pdf, {"signer_1": "Ada"})


def test_fill_refuses_a_damaged_pdf_with_pdf_rejected() -> None:
    with pytest.raises(PdfRejected, match="is damaged"):
        fill_pdf(b"%PDF-1.7\n" + bytes(range(256)) * 10, {})


# Drafts


def test_a_draft_fill_is_watermarked_on_every_page() -> None:
    pdf = make_pdf(contract_page, plain_page("Second page"))
    out = fill_pdf(pdf, {"full_name": "Ada Lovelace"}, draft=True)
    pages = reader(out).pages
    assert ["DRAFT" in page.extract_text() for page in pages] == [True, True]
    assert "Ada Lovelace" in pages[0].extract_text()


def test_watermark_draft_marks_every_page_whatever_its_size() -> None:
    pdf = make_pdf(plain_page("one"), plain_page("two"), plain_page("three"), size=(300, 500))
    wide = make_pdf(plain_page("landscape"), size=(842, 595))
    merged = edit(pdf, lambda writer: writer.append(reader(wide)))

    out = watermark_draft(merged)

    pages = reader(out).pages
    assert len(pages) == 4
    for page, original in zip(pages, ["one", "two", "three", "landscape"], strict=True):
        text = page.extract_text()
        assert "DRAFT" in text
        assert original in text


def test_fill_is_not_a_draft_unless_asked() -> None:
    out = fill_pdf(make_pdf(contract_page), {"full_name": "Ada"})
    assert "DRAFT" not in reader(out).pages[0].extract_text()
