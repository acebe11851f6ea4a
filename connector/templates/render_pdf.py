"""Draw a document to PDF with reportlab Platypus: header, page numbers, escaped values, and
signature boxes whose positions are recorded so signatures can be stamped there at completion.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from connector.templates.document import (
    ClauseItem,
    HeadingItem,
    Item,
    PageBreakItem,
    SignatureItem,
    TableItem,
)

FONTS = Path(__file__).resolve().parent / "fonts"
FONT, BOLD = "CountersignSans", "CountersignSans-Bold"
INK, MUTED, LINE = (
    colors.HexColor("#1d2430"),
    colors.HexColor("#5b6575"),
    colors.HexColor("#c9cfda"),
)
MARGIN = 20 * mm
SIGNATURE_HEIGHT = 18 * mm


def _register_fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONTS / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


@dataclass(frozen=True)
class SignatureBox:
    """Where a role's signature goes: page (1-based) and rectangle in points from bottom-left."""

    role: str
    page: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class RenderedPdf:
    pdf: bytes
    signature_boxes: list[SignatureBox] = field(default_factory=list)
    page_count: int = 0


@dataclass(frozen=True)
class PageDecor:
    org_name: str
    title: str
    footer: str
    logo: bytes | None = None
    draft: bool = False


def render_pdf(items: list[Item], decor: PageDecor) -> RenderedPdf:
    """The PDF of ``items``. Every value is escaped: markup in a value prints as typed."""
    _register_fonts()
    buffer = io.BytesIO()
    boxes: list[SignatureBox] = []
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 10 * mm,
        bottomMargin=MARGIN,
        title=decor.title,
        author=decor.org_name,
        creator="Countersign",
    )
    story = [flowable for item in items for flowable in _flowables(item, boxes)]
    pages: list[int] = []
    document.build(story, canvasmaker=decorated_canvas(decor, pages))
    return RenderedPdf(
        pdf=buffer.getvalue(), signature_boxes=boxes, page_count=pages[0] if pages else 0
    )


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


STYLES = {
    "h1": ParagraphStyle("h1", fontName=BOLD, fontSize=17, leading=22, spaceAfter=8, textColor=INK),
    "h2": ParagraphStyle(
        "h2", fontName=BOLD, fontSize=13.5, leading=18, spaceAfter=6, textColor=INK
    ),
    "h3": ParagraphStyle(
        "h3", fontName=BOLD, fontSize=11.5, leading=15, spaceAfter=4, textColor=INK
    ),
    "title": ParagraphStyle(
        "title",
        fontName=BOLD,
        fontSize=10.5,
        leading=14,
        spaceBefore=6,
        spaceAfter=3,
        textColor=INK,
    ),
    "body": ParagraphStyle(
        "body",
        fontName=FONT,
        fontSize=10,
        leading=14.5,
        spaceAfter=6,
        textColor=INK,
        alignment=TA_LEFT,
    ),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK),
    "head": ParagraphStyle("head", fontName=BOLD, fontSize=9.5, leading=12.5, textColor=INK),
    "small": ParagraphStyle("small", fontName=FONT, fontSize=8.5, leading=11, textColor=MUTED),
}


def _flowables(item: Item, boxes: list[SignatureBox]) -> list[Flowable]:
    if isinstance(item, HeadingItem):
        return [Paragraph(_text(item.text), STYLES[f"h{item.level}"])]
    if isinstance(item, ClauseItem):
        parts: list[Flowable] = []
        if item.title:
            parts.append(Paragraph(_text(item.title), STYLES["title"]))
        parts.extend(Paragraph(_text(p), STYLES["body"]) for p in item.paragraphs)
        return parts
    if isinstance(item, TableItem):
        return _table(item)
    if isinstance(item, PageBreakItem):
        return [PageBreak()]
    if isinstance(item, SignatureItem):
        return [KeepTogether([Spacer(1, 4 * mm), SignatureFlowable(item, boxes)])]
    raise TypeError(f"unknown document item {item!r}")


def _table(item: TableItem) -> list[Flowable]:
    data = [[Paragraph(_text(c), STYLES["head"]) for c in item.columns]]
    data += [[Paragraph(_text(c), STYLES["cell"]) for c in row] for row in item.rows]
    table = Table(
        data,
        repeatRows=1,
        hAlign="LEFT",
        colWidths=[(A4[0] - 2 * MARGIN) / len(item.columns)] * len(item.columns),
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, LINE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    parts: list[Flowable] = []
    if item.title:
        parts.append(Paragraph(_text(item.title), STYLES["title"]))
    return [*parts, table, Spacer(1, 4 * mm)]


class SignatureFlowable(Flowable):
    """A signature area: label, an empty box for the signature, and lines for name and date."""

    def __init__(self, item: SignatureItem, boxes: list[SignatureBox]) -> None:
        super().__init__()
        self.item = item
        self.boxes = boxes
        self.width = 85 * mm
        self.height = SIGNATURE_HEIGHT + 17 * mm
        self.label = Paragraph(_text(item.label), STYLES["title"])

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = min(self.width, avail_width)
        _, label_height = self.label.wrap(self.width, avail_height)
        self.label_height = label_height
        return self.width, self.height + label_height

    def draw(self) -> None:
        canvas = self.canv
        box_y = 11 * mm
        self.label.drawOn(canvas, 0, self.height)
        canvas.setStrokeColor(LINE)
        canvas.setLineWidth(0.6)
        canvas.rect(0, box_y, self.width, SIGNATURE_HEIGHT, stroke=1, fill=0)
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(2 * mm, box_y + 1.5 * mm, f"Signature ({self.item.role})")
        canvas.setStrokeColor(INK)
        canvas.line(0, 4 * mm, self.width * 0.62, 4 * mm)
        canvas.line(self.width * 0.68, 4 * mm, self.width, 4 * mm)
        canvas.drawString(0, 1 * mm, "Name")
        canvas.drawString(self.width * 0.68, 1 * mm, "Date (UTC)")
        x, y = canvas.absolutePosition(0, box_y)
        self.boxes.append(
            SignatureBox(self.item.role, canvas.getPageNumber(), x, y, self.width, SIGNATURE_HEIGHT)
        )


def decorated_canvas(decor: PageDecor, pages: list[int] | None = None) -> Any:
    """A canvas that knows the page count, for "page X of Y", header, footer and watermark."""

    class DecoratedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._states: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            if pages is not None:
                pages.append(len(self._states))
            for state in self._states:
                self.__dict__.update(state)
                _decorate(self, decor, len(self._states))
                super().showPage()
            super().save()

    return DecoratedCanvas


def _decorate(canvas: Canvas, decor: PageDecor, total: int) -> None:
    width, height = A4
    canvas.saveState()
    if decor.draft:
        canvas.setFillColor(colors.Color(0.55, 0.58, 0.65, alpha=0.18))
        canvas.setFont(BOLD, 110)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -35, "DRAFT")
        canvas.rotate(-45)
        canvas.translate(-width / 2, -height / 2)
    canvas.setFillColor(INK)
    canvas.setFont(BOLD, 9.5)
    canvas.drawString(MARGIN, height - MARGIN + 2 * mm, decor.org_name[:90])
    canvas.setFont(FONT, 8.5)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(width - MARGIN, height - MARGIN + 2 * mm, decor.title[:90])
    if decor.logo:
        _draw_logo(canvas, decor.logo, width, height)
    canvas.setStrokeColor(LINE)
    canvas.line(MARGIN, height - MARGIN, width - MARGIN, height - MARGIN)
    canvas.line(MARGIN, MARGIN - 4 * mm, width - MARGIN, MARGIN - 4 * mm)
    canvas.drawString(MARGIN, MARGIN - 9 * mm, decor.footer[:120])
    canvas.drawRightString(
        width - MARGIN, MARGIN - 9 * mm, f"Page {canvas.getPageNumber()} of {total}"
    )
    canvas.restoreState()


def _draw_logo(canvas: Canvas, logo: bytes, width: float, height: float) -> None:
    try:
        image = ImageReader(io.BytesIO(logo))
        image_width, image_height = image.getSize()
    except Exception:  # noqa: BLE001 - a broken logo must not stop the document
        return
    box = 9 * mm
    scale = min(box / image_height, 40 * mm / image_width)
    canvas.drawImage(
        image,
        width / 2 - image_width * scale / 2,
        height - MARGIN + 1 * mm,
        image_width * scale,
        image_height * scale,
        mask="auto",
    )
