"""The certificate of completion: what was sent, to whom, how each recipient took part, and the
hashes that tie the certificate to the document and the audit trail.

It is appended to the signed document before sealing (``append_pages``) and can also be
downloaded on its own, when the hash of the sealed file is known and printed too. Every value is
escaped before it reaches reportlab's markup, so a name such as ``<b>x</b>`` prints as typed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from connector.evidence.stamp import printable, utc_text
from connector.templates.render_pdf import (
    BOLD,
    FONT,
    INK,
    LINE,
    MARGIN,
    MUTED,
    PageDecor,
    _register_fonts,
    decorated_canvas,
)

HEADING = "Certificate of completion"
ABSENT = "—"
CONTENT_WIDTH = A4[0] - 2 * MARGIN
LABEL_WIDTH = 30 * mm


@dataclass(frozen=True)
class CertificateRecipient:
    name: str
    email: str
    role_label: str
    kind: str  # signer | approver | cc
    status: str
    auth_method: str
    ip_address: str | None
    user_agent: str | None
    consented_at: datetime | None
    sent_at: datetime | None
    viewed_at: datetime | None
    signed_at: datetime | None
    declined_at: datetime | None
    signature_kind: str | None


@dataclass(frozen=True)
class CertificateEvent:
    at: datetime
    action: str
    actor: str
    ip_address: str | None


@dataclass(frozen=True)
class CertificateData:
    envelope_id: str
    title: str
    org_name: str
    status: str
    created_at: datetime
    completed_at: datetime | None
    original_sha256: str  # the document as sent
    signed_sha256: str  # with values and stamped signatures, before these pages and the seal
    sealed_sha256: str | None  # the sealed final file (known only for the standalone certificate)
    audit_chain_head: str
    audit_event_count: int
    disclosure_version: str
    recipients: tuple[CertificateRecipient, ...]
    events: tuple[CertificateEvent, ...]


STYLES = {
    "h1": ParagraphStyle("h1", fontName=BOLD, fontSize=17, leading=22, spaceAfter=4, textColor=INK),
    "h2": ParagraphStyle(
        "h2", fontName=BOLD, fontSize=12.5, leading=16, spaceBefore=10, spaceAfter=6, textColor=INK
    ),
    "recipient": ParagraphStyle(
        "recipient", fontName=BOLD, fontSize=10.5, leading=14, spaceAfter=3, textColor=INK
    ),
    "intro": ParagraphStyle(
        "intro", fontName=FONT, fontSize=9, leading=12.5, spaceAfter=8, textColor=MUTED
    ),
    "label": ParagraphStyle("label", fontName=BOLD, fontSize=8, leading=10.5, textColor=MUTED),
    "value": ParagraphStyle("value", fontName=FONT, fontSize=8.5, leading=11, textColor=INK),
    "hash": ParagraphStyle("hash", fontName=FONT, fontSize=7.5, leading=10, textColor=INK),
    "head": ParagraphStyle("head", fontName=BOLD, fontSize=8.5, leading=11, textColor=INK),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10.5, textColor=INK),
}


def _text(value: str) -> str:
    return escape(printable(value)) or ABSENT


def _optional(value: str | None) -> str:
    return _text(value) if value else ABSENT


def _time(value: datetime | None) -> str:
    return f"{utc_text(value)} UTC" if value is not None else ABSENT


def certificate_pdf(data: CertificateData) -> bytes:
    """The certificate as a PDF: summary, one block per recipient, then the event history."""
    _register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 10 * mm,
        bottomMargin=MARGIN,
        title=f"{HEADING}: {printable(data.title)}",
        author=printable(data.org_name),
        subject=f"Envelope {printable(data.envelope_id)}",
        creator="Countersign",
    )
    story: list[Flowable] = [
        Paragraph(HEADING, STYLES["h1"]),
        Paragraph(
            "This certificate records how the envelope below was sent, viewed and completed. "
            "All times are in UTC. The hashes are SHA-256 digests in hexadecimal.",
            STYLES["intro"],
        ),
        _summary(data),
        Paragraph("Recipients", STYLES["h2"]),
    ]
    if not data.recipients:
        story.append(Paragraph(ABSENT, STYLES["value"]))
    for recipient in data.recipients:
        story.append(KeepTogether(_recipient(recipient)))
    story += [Paragraph("Event history", STYLES["h2"]), _events(data.events)]
    document.build(
        story,
        canvasmaker=decorated_canvas(
            PageDecor(
                org_name=printable(data.org_name),
                title=HEADING,
                footer=f"Envelope {printable(data.envelope_id)}",
            )
        ),
    )
    return buffer.getvalue()


def _summary(data: CertificateData) -> Table:
    def digest(value: str | None, absent: str = ABSENT) -> Paragraph:
        return Paragraph(_text(value) if value else absent, STYLES["hash"])

    rows: list[tuple[str, str | Paragraph]] = [
        ("Envelope ID", _text(data.envelope_id)),
        ("Title", _text(data.title)),
        ("Organization", _text(data.org_name)),
        ("Status", _text(data.status)),
        ("Created", _time(data.created_at)),
        ("Completed", _time(data.completed_at)),
        ("Original document (as sent)", digest(data.original_sha256)),
        ("Signed document (before certificate and seal)", digest(data.signed_sha256)),
        (
            "Sealed file",
            digest(data.sealed_sha256, f"{ABSENT} (this certificate is inside the sealed file)"),
        ),
        ("Audit chain head", digest(data.audit_chain_head)),
        ("Audit events", str(data.audit_event_count)),
        ("Disclosure version", _text(data.disclosure_version)),
    ]
    table = Table(
        [
            [
                Paragraph(escape(label), STYLES["label"]),
                value if isinstance(value, Paragraph) else Paragraph(value, STYLES["value"]),
            ]
            for label, value in rows
        ],
        colWidths=[48 * mm, CONTENT_WIDTH - 48 * mm],
        hAlign="LEFT",
    )
    table.setStyle(_grid())
    return table


def _recipient(recipient: CertificateRecipient) -> list[Flowable]:
    def label(text: str) -> Paragraph:
        return Paragraph(escape(text), STYLES["label"])

    def value(text: str) -> Paragraph:
        return Paragraph(text, STYLES["value"])

    pairs = [
        ("Role", _text(recipient.role_label), "Kind", _text(recipient.kind)),
        ("Status", _text(recipient.status), "Authentication", _text(recipient.auth_method)),
        (
            "Signature",
            _optional(recipient.signature_kind),
            "Consented",
            _time(recipient.consented_at),
        ),
        ("Sent", _time(recipient.sent_at), "Viewed", _time(recipient.viewed_at)),
        ("Signed", _time(recipient.signed_at), "Declined", _time(recipient.declined_at)),
    ]
    wide = [
        ("Email", _text(recipient.email)),
        ("IP address", _optional(recipient.ip_address)),
        ("User agent", _optional(recipient.user_agent)),
    ]
    rows: list[list[Any]] = [[label(a), value(b), label(c), value(d)] for a, b, c, d in pairs]
    rows.insert(0, [label(wide[0][0]), value(wide[0][1]), "", ""])
    rows += [[label(name), value(text), "", ""] for name, text in wide[1:]]
    table = Table(
        rows,
        colWidths=[LABEL_WIDTH, CONTENT_WIDTH / 2 - LABEL_WIDTH] * 2,
        hAlign="LEFT",
    )
    style = _grid()
    for row in (0, len(rows) - 2, len(rows) - 1):  # email, IP address and user agent
        style.add("SPAN", (1, row), (3, row))
    table.setStyle(style)
    return [Paragraph(_text(recipient.name), STYLES["recipient"]), table, Spacer(1, 5 * mm)]


def _events(events: tuple[CertificateEvent, ...]) -> Table:
    header = [Paragraph(text, STYLES["head"]) for text in ("Time (UTC)", "Action", "Actor", "IP")]
    rows: list[list[Any]] = [header]
    for event in events:
        rows.append(
            [
                Paragraph(utc_text(event.at), STYLES["cell"]),
                Paragraph(_text(event.action), STYLES["cell"]),
                Paragraph(_text(event.actor), STYLES["cell"]),
                Paragraph(_optional(event.ip_address), STYLES["cell"]),
            ]
        )
    if not events:
        rows.append([Paragraph(ABSENT, STYLES["cell"]), "", "", ""])
    table = Table(
        rows,
        repeatRows=1,
        colWidths=[37 * mm, 38 * mm, CONTENT_WIDTH - 111 * mm, 36 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, LINE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _grid() -> TableStyle:
    return TableStyle(
        [
            ("BOX", (0, 0), (-1, -1), 0.5, LINE),
            ("INNERGRID", (0, 0), (-1, -1), 0.3, LINE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
    )


def append_pages(pdf: bytes, extra: bytes) -> bytes:
    """``pdf``'s pages followed by ``extra``'s, keeping ``pdf``'s metadata and structure."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in PdfReader(io.BytesIO(extra)).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
