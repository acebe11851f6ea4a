"""PDFs made by the tests themselves: AcroForm documents, and broken or hostile files."""

from __future__ import annotations

import io
import zlib

from pypdf import PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas


def form_pdf(pages: int = 1) -> bytes:
    """A small order form: a text field, a checkbox and a choice on page 1."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.drawString(72, 780, "Order form")
    form = canvas.acroForm
    canvas.drawString(72, 740, "Company")
    form.textfield(
        name="company", x=160, y=730, width=200, height=20, maxlen=80, fieldFlags="required"
    )
    canvas.drawString(72, 700, "Rush delivery")
    form.checkbox(name="rush", x=160, y=695, size=14, checked=False)
    canvas.drawString(72, 660, "Plan")
    form.choice(
        name="plan", x=160, y=650, width=120, height=20, options=["basic", "premium"], value="basic"
    )
    for _ in range(pages - 1):
        canvas.showPage()
        canvas.drawString(72, 780, "More terms")
    canvas.save()
    return buffer.getvalue()


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(form_pdf()))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


MB = 1024 * 1024


def flate_zeros(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9)
    chunk = bytes(MB)
    return b"".join([compressor.compress(chunk) for _ in range(megabytes)] + [compressor.flush()])


def raw_pdf(streams: list[bytes]) -> bytes:
    """A one-page PDF, written byte by byte, whose page draws the given Flate streams."""
    refs = b" ".join(b"%d 0 R" % (4 + i) for i in range(len(streams)))
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [" + refs + b"] >>",
    ] + [
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)
        for data in streams
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return bytes(out)


def bomb_pdf(megabytes: int = 300) -> bytes:
    """A small file whose page content expands to ``megabytes`` of zeros."""
    return raw_pdf([flate_zeros(megabytes)])
