"""PDF form templates: read an uploaded PDF's AcroForm fields, fill them in, mark drafts.
Every PDF is untrusted: anything wrong with it surfaces as PdfRejected, and decoding is capped.
"""

from __future__ import annotations

import hashlib
import io
import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pypdf import PageObject, PdfReader, PdfWriter, Transformation, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.filters import decode_stream_data
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

MB = 1024 * 1024
HEADER = b"%PDF-"
# Acrobat accepts a header anywhere in the first 1024 bytes; so do we, but no further.
HEADER_WINDOW = 1024
# Decoded bytes allowed per upload: 50 x the upload limit, within [1 MB, 200 MB].
EXPANSION_FACTOR = 50
DECODE_CAP = 200 * MB
DECODE_FLOOR = MB
# Field and annotation flag bits, PDF 32000-1 tables 221, 226, 228, 230 and 165.
FF_REQUIRED = 1 << 1
FF_RADIO = 1 << 15
FF_PUSHBUTTON = 1 << 16
FF_EDIT = 1 << 18
F_HIDDEN = 1 << 1
F_NOVIEW = 1 << 5
MAX_FIELD_DEPTH = 32

DAMAGED = "the PDF is damaged and cannot be read"
BOMB = "a stream in the PDF expands beyond the allowed size (compression bomb?)"
TOO_COMPLEX = "the PDF exceeds a size or complexity limit (compression bomb?)"
ENCRYPTED = "the PDF is encrypted; upload it without a password"
NOT_PDF = "the file is not a PDF (no %PDF header)"

PUBLIC_TYPES = {
    "text": "text",
    "checkbox": "checkbox",
    "radio": "select",
    "choice": "select",
    "signature": "signature",
}


class PdfRejected(Exception):
    """The upload is not a PDF we accept; str(err) is one sentence naming the problem."""


@dataclass(frozen=True)
class FormField:
    name: str  # fully qualified AcroForm field name, "parent.child"
    type: str  # one of: "text", "checkbox", "select", "signature"
    page: int  # 1-based page number of its first widget
    rect: tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF points of that widget
    options: tuple[str, ...] = ()  # export values of a select (choice list or radio group)
    required: bool = False  # field flag bit 2
    max_length: int | None = None  # /MaxLen of a text field


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    page_sizes: tuple[tuple[float, float], ...]  # (width, height) of each media box, in points
    fields: tuple[FormField, ...]
    sha256: str  # hex digest of the uploaded bytes


@dataclass
class _Field:
    """One fully qualified name, with every field dictionary and widget that carries it."""

    name: str
    kind: str
    field_type: str
    flags: int
    max_length: int | None
    options: dict[str, None]  # an ordered set: forms with thousands of options stay linear
    nodes: dict[int, DictionaryObject] = field(default_factory=dict)  # by id(), same reason
    widgets: list[tuple[int, DictionaryObject]] = field(default_factory=list)


def inspect_pdf(data: bytes, *, max_bytes: int, max_pages: int = 500) -> PdfInfo:
    """Pages and form fields of an uploaded PDF, or PdfRejected saying why it is refused."""
    if len(data) > max_bytes:
        raise PdfRejected(f"the file is larger than {_megabytes(max_bytes)} MB")
    if data.find(HEADER, 0, HEADER_WINDOW + len(HEADER) - 1) < 0:
        raise PdfRejected(NOT_PDF)
    cap = max(DECODE_FLOOR, min(EXPANSION_FACTOR * max_bytes, DECODE_CAP))
    with _guarded(cap):
        reader = _open(data)
        count = len(reader.pages)
        if count > max_pages:
            raise PdfRejected(f"the PDF has {count} pages; the limit is {max_pages}")
        if count == 0:
            raise PdfRejected("the PDF has no pages")
        budget = _Budget(cap)
        sizes = []
        for page in reader.pages:
            box = page.mediabox
            sizes.append((abs(float(box.width)), abs(float(box.height))))
            _charge_contents(page, budget)
        fields = tuple(_public(entry) for entry in _scan(list(reader.pages), budget).values())
        # Fill and flatten a copy now, so that a template accepted here cannot fail at completion.
        writer = PdfWriter(clone_from=reader)
        trial = _scan(list(writer.pages), None)
        samples = {
            name: _sample(entry) for name, entry in trial.items() if entry.kind != "signature"
        }
        _fill(writer, trial, _plan(trial, samples), draft=True, flatten=True)
    return PdfInfo(
        page_count=count,
        page_sizes=tuple(sizes),
        fields=fields,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def fill_pdf(
    data: bytes, values: dict[str, str | bool], *, draft: bool = False, flatten: bool = True
) -> bytes:
    """``data`` with ``values`` filled in: text and choices as strings, checkboxes as booleans.

    Raises KeyError for names that are not fields, ValueError for a value the field cannot hold,
    PdfRejected if the PDF itself cannot be processed.
    """
    with _guarded(DECODE_CAP):
        writer = PdfWriter(clone_from=_open(data))
        fields = _scan(list(writer.pages), None)
    # Outside the guard: these are the caller's mistakes, not the PDF's, and must stay so.
    plan = _plan(fields, values)
    with _guarded(DECODE_CAP):
        return _fill(writer, fields, plan, draft=draft, flatten=flatten)


def watermark_draft(pdf: bytes) -> bytes:
    """``pdf`` with a large diagonal, light grey, extractable "DRAFT" over every page."""
    with _guarded(DECODE_CAP):
        writer = PdfWriter(clone_from=_open(pdf))
        _stamp_draft(writer)
        return _write(writer)


@contextmanager
def _guarded(cap: int) -> Iterator[None]:
    """Run pypdf with its decoders capped at ``cap`` and any failure turned into PdfRejected."""
    try:
        with apply_configuration(
            zlib_maximum_output_length=cap,
            lzw_maximum_output_length=cap,
            run_length_maximum_output_length=cap,
            brotli_maximum_output_length=cap,
            jbig2_maximum_output_length=cap,
            array_based_stream_maximum_output_length=cap,
            stream_decoding_work_maximum_length=cap,
            # Never hand untrusted bytes to an external decoder binary.
            jbig2dec_binary=None,
        ):
            yield
    except PdfRejected:
        raise
    except MemoryError as exc:
        raise PdfRejected(BOMB) from exc
    except LimitReachedError as exc:
        raise PdfRejected(TOO_COMPLEX) from exc
    except Exception as exc:
        # pypdf meets malformed input with whatever error the parsing step happened to hit.
        raise PdfRejected(DAMAGED) from exc


def _open(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise PdfRejected(ENCRYPTED)
    return reader


def _write(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _megabytes(size: int) -> str:
    value = size / MB
    return f"{value:.0f}" if value >= 1 else f"{value:.2g}"


class _Budget:
    """Decoded bytes left for the streams we read, charged per use, each decoded only once."""

    def __init__(self, cap: int) -> None:
        self.left = cap
        self._sizes: dict[int, int] = {}

    def charge(self, obj: PdfObject | None) -> None:
        stream = _resolve(obj)
        if not isinstance(stream, StreamObject):
            return
        size = self._sizes.get(id(stream))
        if size is None:
            try:
                size = len(decode_stream_data(stream))
            except LimitReachedError as exc:
                raise PdfRejected(BOMB) from exc
            self._sizes[id(stream)] = size
        self.left -= size
        if self.left < 0:
            raise PdfRejected(BOMB)


def _charge_contents(page: PageObject, budget: _Budget) -> None:
    contents = _resolve(page.get("/Contents"))
    for item in contents if isinstance(contents, ArrayObject) else [contents]:
        budget.charge(item)


def _charge_appearances(widget: DictionaryObject, budget: _Budget) -> None:
    appearances = _resolve(widget.get("/AP"))
    if not isinstance(appearances, DictionaryObject):
        return
    for key in ("/N", "/D", "/R"):
        entry = _resolve(appearances.get(key))
        if isinstance(entry, DictionaryObject) and not isinstance(entry, StreamObject):
            for state in entry.values():
                budget.charge(state)
        else:
            budget.charge(entry)


def _resolve(obj: PdfObject | None) -> PdfObject | None:
    return obj.get_object() if obj is not None else None


def _text(obj: PdfObject | None) -> str | None:
    value = _resolve(obj)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return None


def _integer(obj: PdfObject | None) -> int | None:
    value = _resolve(obj)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    return None


def _numbers(obj: PdfObject | None, count: int) -> list[float] | None:
    value = _resolve(obj)
    if not isinstance(value, ArrayObject) or len(value) != count:
        return None
    numbers = [_resolve(item) for item in value]
    if not all(isinstance(n, int | float) and math.isfinite(n) for n in numbers):
        return None
    return [float(n) for n in numbers]  # type: ignore[arg-type]


def _lineage(node: DictionaryObject) -> list[DictionaryObject]:
    """The field and its ancestors, nearest first; a cycle or absurd depth means damage."""
    chain: list[DictionaryObject] = []
    current: PdfObject | None = node
    while isinstance(current, DictionaryObject):
        if any(seen is current for seen in chain) or len(chain) >= MAX_FIELD_DEPTH:
            raise PdfRejected(DAMAGED)
        chain.append(current)
        current = _resolve(current.get("/Parent"))
    return chain


def _inherited(chain: list[DictionaryObject], key: str) -> PdfObject | None:
    for node in chain:
        if key in node:
            return _resolve(node[key])
    return None


def _states(widget: DictionaryObject) -> list[str]:
    """Names of the widget's "on" appearance states, without the slash."""
    appearances = _resolve(widget.get("/AP"))
    normal = _resolve(appearances.get("/N")) if isinstance(appearances, DictionaryObject) else None
    if not isinstance(normal, DictionaryObject) or isinstance(normal, StreamObject):
        return []
    return [str(key)[1:] for key in normal if key != "/Off"]


def _kind(field_type: PdfObject | None, flags: int) -> str | None:
    if field_type == "/Tx":
        return "text"
    if field_type == "/Ch":
        return "choice"
    if field_type == "/Sig":
        return "signature"
    if field_type == "/Btn" and not flags & FF_PUSHBUTTON:
        return "radio" if flags & FF_RADIO else "checkbox"
    return None


def _choice_options(chain: list[DictionaryObject]) -> list[str]:
    raw = _inherited(chain, "/Opt")
    if not isinstance(raw, ArrayObject):
        return []
    options = []
    for item in raw:
        entry = _resolve(item)
        # An [export, display] pair stores the export value first (PDF 32000-1 table 231).
        text = _text(entry[0]) if isinstance(entry, ArrayObject) and entry else _text(entry)
        if text is not None:
            options.append(text)
    return options


def _scan(pages: list[PageObject], budget: _Budget | None) -> dict[str, _Field]:
    """Fields reachable from the pages' widgets, by fully qualified name, in page order."""
    fields: dict[str, _Field] = {}
    for index, page in enumerate(pages):
        annotations = _resolve(page.get("/Annots"))
        if not isinstance(annotations, ArrayObject):
            continue
        for ref in annotations:
            widget = _resolve(ref)
            if not isinstance(widget, DictionaryObject) or widget.get("/Subtype") != "/Widget":
                continue
            # A widget with its own /T is merged with its field; otherwise its parent is the field.
            node = widget if "/T" in widget else _resolve(widget.get("/Parent"))
            if not isinstance(node, DictionaryObject):
                continue
            chain = _lineage(node)
            name = ".".join(p for p in (_text(n.get("/T")) for n in reversed(chain)) if p)
            field_type = _inherited(chain, "/FT")
            flags = _integer(_inherited(chain, "/Ff")) or 0
            kind = _kind(field_type, flags)
            if not name or kind is None:
                continue
            if budget is not None:
                _charge_appearances(widget, budget)
            entry = fields.get(name)
            if entry is None:
                max_length = _integer(_inherited(chain, "/MaxLen"))
                entry = fields[name] = _Field(
                    name=name,
                    kind=kind,
                    field_type=str(field_type),
                    flags=flags,
                    max_length=max_length
                    if kind == "text" and max_length is not None and max_length >= 0
                    else None,
                    options=dict.fromkeys(_choice_options(chain) if kind == "choice" else []),
                )
            elif entry.kind != kind:
                # Same name, different kind: a broken form; the first one seen stands.
                continue
            entry.nodes[id(node)] = node
            entry.widgets.append((index, widget))
            if kind == "radio":
                entry.options.update(dict.fromkeys(_states(widget)))
    return fields


def _public(entry: _Field) -> FormField:
    page, widget = entry.widgets[0]
    corners = _numbers(widget.get("/Rect"), 4)
    if corners is None:
        raise PdfRejected(DAMAGED)
    x1, y1, x2, y2 = corners
    return FormField(
        name=entry.name,
        type=PUBLIC_TYPES[entry.kind],
        page=page + 1,
        rect=(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)),
        options=tuple(entry.options),
        required=bool(entry.flags & FF_REQUIRED),
        max_length=entry.max_length,
    )


def _plan(
    fields: dict[str, _Field], values: dict[str, str | bool]
) -> list[tuple[_Field, str | bool]]:
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise KeyError(f"no form field named {', '.join(map(repr, unknown))}")
    plan: list[tuple[_Field, str | bool]] = []
    for name, value in values.items():
        entry = fields[name]
        if entry.kind == "signature":
            raise ValueError(f"{name!r} is a signature field; it is signed, not filled")
        if entry.kind == "checkbox":
            if not isinstance(value, bool):
                raise ValueError(f"{name!r} is a checkbox; its value must be True or False")
        elif not isinstance(value, str):
            raise ValueError(f"{name!r} takes text, not {type(value).__name__}")
        elif entry.max_length is not None and len(value) > entry.max_length:
            raise ValueError(f"{name!r} holds at most {entry.max_length} characters")
        elif (
            value
            and entry.options
            and value not in entry.options
            and not (entry.kind == "choice" and entry.flags & FF_EDIT)
        ):
            raise ValueError(f"{value!r} is not one of the options of {name!r}")
        plan.append((entry, value))
    return plan


def _sample(entry: _Field) -> str | bool:
    if entry.kind == "checkbox":
        return True
    if entry.options:
        return next(iter(entry.options))
    return "X" if entry.max_length != 0 else ""


def _fill(
    writer: PdfWriter,
    fields: dict[str, _Field],
    plan: list[tuple[_Field, str | bool]],
    *,
    draft: bool,
    flatten: bool,
) -> bytes:
    _set_values(writer, plan)
    if flatten:
        _flatten(writer, fields)
    elif fields:
        _leave_editable(writer)
    if draft:
        _stamp_draft(writer)
    return _write(writer)


def _set_values(writer: PdfWriter, plan: list[tuple[_Field, str | bool]]) -> None:
    # Page by page, because pypdf compares every widget on the pages given with every value.
    texts: dict[int, dict[str, str]] = {}
    marked: list[tuple[DictionaryObject, PdfObject | None]] = []
    try:
        for entry, value in plan:
            if isinstance(value, bool):
                _set_checkbox(entry, value)
            elif entry.kind == "radio":
                _set_radio(entry, value)
            else:
                # pypdf matches fields by qualified name *or* bare partial name, so "name" would
                # also fill "buyer.name"; a random /TM (which pypdf prefers) makes the match exact.
                token = f"countersign-{secrets.token_hex(8)}"
                for node in entry.nodes.values():
                    marked.append((node, node.get("/TM")))
                    node[NameObject("/TM")] = TextStringObject(token)
                    # pypdf takes a widget with /T but no /FT for a kid of its parent: say it.
                    node[NameObject("/FT")] = NameObject(entry.field_type)
                for index, _ in entry.widgets:
                    texts.setdefault(index, {})[token] = value
        if texts:
            form = _resolve(writer.root_object.get("/AcroForm"))
            if not isinstance(form, DictionaryObject) or "/Fields" not in form:
                # Widgets that no /AcroForm lists still show and inspect_pdf offers them.
                writer.reattach_fields()
            for index, page_texts in texts.items():
                writer.update_page_form_field_values(
                    writer.pages[index], page_texts, auto_regenerate=True
                )
    finally:
        for node, previous in reversed(marked):
            if previous is None:
                del node["/TM"]
            else:
                node[NameObject("/TM")] = previous
    for entry, value in plan:
        if entry.kind in ("text", "choice") and any(
            node.get("/V") != value for node in entry.nodes.values()
        ):
            raise PdfRejected(f"the form field {entry.name!r} could not be filled")


def _leave_editable(writer: PdfWriter) -> None:
    writer.set_need_appearances_writer(True)
    form = _resolve(writer.root_object.get("/AcroForm"))
    # Viewers that know XFA would show its copy of the form, without the values set here.
    if isinstance(form, DictionaryObject) and "/XFA" in form:
        del form["/XFA"]


def _set_checkbox(entry: _Field, checked: bool) -> None:
    chosen: str | None = None
    for _, widget in entry.widgets:
        on = "/" + next(iter(_states(widget)), "Yes")
        widget[NameObject("/AS")] = NameObject(on if checked else "/Off")
        chosen = chosen or on
    for node in entry.nodes.values():
        node[NameObject("/V")] = NameObject(chosen if checked and chosen else "/Off")


def _set_radio(entry: _Field, value: str) -> None:
    state = "/" + value if value else "/Off"
    for _, widget in entry.widgets:
        widget[NameObject("/AS")] = NameObject(state if value in _states(widget) else "/Off")
    for node in entry.nodes.values():
        node[NameObject("/V")] = NameObject(state)


def _flatten(writer: PdfWriter, fields: dict[str, _Field]) -> None:
    """Draw every visible widget's appearance into its page, then drop the widgets and the form.

    pypdf's own flatten names the drawing after the field, so a radio group's second button
    would be drawn with the first one's appearance; here each widget gets its own name.
    """
    signatures = {
        id(widget)
        for entry in fields.values()
        if entry.kind == "signature"
        for _, widget in entry.widgets
    }
    for index, page in enumerate(writer.pages):
        annotations = _resolve(page.get("/Annots"))
        if not isinstance(annotations, ArrayObject):
            continue
        drawings: list[tuple[NameObject, IndirectObject, str]] = []
        for ref in annotations:
            widget = _resolve(ref)
            if not isinstance(widget, DictionaryObject) or widget.get("/Subtype") != "/Widget":
                continue
            if id(widget) in signatures or (_integer(widget.get("/F")) or 0) & (
                F_HIDDEN | F_NOVIEW
            ):
                continue
            drawing = _appearance(widget)
            if drawing is not None:
                name = NameObject(f"/CsFlat{index}n{len(drawings)}")
                drawings.append((name, drawing[0], f"q {drawing[1]} cm {name} Do Q"))
        if drawings:
            _draw(writer, page, drawings)
    writer.remove_annotations(subtypes="/Widget")
    if "/AcroForm" in writer.root_object:
        del writer.root_object["/AcroForm"]


def _appearance(widget: DictionaryObject) -> tuple[IndirectObject, str] | None:
    """The widget's current normal appearance and the matrix placing it on its rectangle."""
    appearances = _resolve(widget.get("/AP"))
    if not isinstance(appearances, DictionaryObject):
        return None
    ref = appearances.get("/N")
    normal = _resolve(ref)
    if isinstance(normal, DictionaryObject) and not isinstance(normal, StreamObject):
        state = widget.get("/AS")
        ref = normal.get(state) if isinstance(state, NameObject) else None
        normal = _resolve(ref)
    # Streams are always indirect in a valid PDF; a direct one cannot be named as an XObject.
    if not isinstance(ref, IndirectObject) or not isinstance(normal, StreamObject):
        return None
    rect = _numbers(widget.get("/Rect"), 4)
    bbox = _numbers(normal.get("/BBox"), 4)
    if rect is None or bbox is None:
        return None
    a, b, c, d, e, f = _numbers(normal.get("/Matrix"), 6) or [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    # PDF 32000-1 §12.5.5: fit the form's transformed bounding box onto the annotation rectangle.
    xs, ys = [], []
    for x, y in ((bbox[0], bbox[1]), (bbox[0], bbox[3]), (bbox[2], bbox[1]), (bbox[2], bbox[3])):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    box_width, box_height = max(xs) - min(xs), max(ys) - min(ys)
    if box_width <= 0 or box_height <= 0:
        return None
    left, bottom = min(rect[0], rect[2]), min(rect[1], rect[3])
    scale_x = (max(rect[0], rect[2]) - left) / box_width
    scale_y = (max(rect[1], rect[3]) - bottom) / box_height
    matrix = (scale_x, 0.0, 0.0, scale_y, left - min(xs) * scale_x, bottom - min(ys) * scale_y)
    return ref, " ".join(_decimal(n) for n in matrix)


def _decimal(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _draw(
    writer: PdfWriter, page: PageObject, drawings: list[tuple[NameObject, IndirectObject, str]]
) -> None:
    resources = _resolve(page.get("/Resources"))
    if not isinstance(resources, DictionaryObject):
        resources = DictionaryObject()
        page[NameObject("/Resources")] = resources
    xobjects = _resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        xobjects = DictionaryObject()
        resources[NameObject("/XObject")] = xobjects
    for name, ref, _ in drawings:
        xobjects[name] = ref
    contents = page.get_contents()
    if contents is None:
        contents = ContentStream(None, writer)
    # The page's own drawing is fenced in q/Q so a state it leaves behind cannot skew the fields.
    commands = "\n".join(command for _, _, command in drawings).encode()
    contents.set_data(b"q\n" + contents.get_data() + b"\nQ\n" + commands + b"\n")
    page.replace_contents(contents)
    page.compress_content_streams()


def _stamp_draft(writer: PdfWriter) -> None:
    overlays: dict[tuple[float, float], PageObject] = {}
    for page in writer.pages:
        box = page.cropbox
        size = (round(abs(float(box.width)), 2) or 1.0, round(abs(float(box.height)), 2) or 1.0)
        if size not in overlays:
            overlays[size] = _draft_overlay(*size)
        page.merge_transformed_page(
            overlays[size], Transformation().translate(float(box.left), float(box.bottom))
        )


def _draft_overlay(width: float, height: float) -> PageObject:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height))
    font = "Helvetica-Bold"
    diagonal = math.hypot(width, height)
    # The word spans a little over half the diagonal, whatever the page size.
    font_size = 0.55 * diagonal / stringWidth("DRAFT", font, 1)
    canvas.setFillColor(colors.Color(0.5, 0.5, 0.5, alpha=0.25))
    canvas.setFont(font, font_size)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(math.degrees(math.atan2(height, width)))
    canvas.drawCentredString(0, -0.35 * font_size, "DRAFT")
    canvas.showPage()
    canvas.save()
    return PdfReader(io.BytesIO(buffer.getvalue())).pages[0]
