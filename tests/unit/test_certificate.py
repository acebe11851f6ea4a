"""The certificate of completion: every recipient and hash is printed, literally, page-numbered."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader, PdfWriter

from connector.evidence.certificate import (
    CertificateData,
    CertificateEvent,
    CertificateRecipient,
    append_pages,
    certificate_pdf,
)

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ENVELOPE = "3f2c9a1e-5b7d-4c1a-9e3f-0a1b2c3d4e5f"
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


RECIPIENTS = (
    CertificateRecipient(
        name="<b>x</b>",
        email="jane@initech.example",
        role_label="Customer",
        kind="signer",
        status="signed",
        auth_method="email link + code",
        ip_address="203.0.113.9",
        user_agent=USER_AGENT,
        consented_at=T0 + timedelta(minutes=1),
        sent_at=T0,
        viewed_at=T0 + timedelta(minutes=1),
        signed_at=T0 + timedelta(minutes=3),
        declined_at=None,
        signature_kind="drawn",
    ),
    CertificateRecipient(
        name="Lee Legal",
        email="lee@acme.example",
        role_label="Legal review",
        kind="approver",
        status="approved",
        auth_method="email link",
        ip_address="2001:db8:85a3::8a2e:370:7334",
        user_agent=None,
        consented_at=T0 + timedelta(minutes=5),
        sent_at=T0,
        viewed_at=T0 + timedelta(minutes=5),
        signed_at=T0 + timedelta(minutes=6),
        declined_at=None,
        signature_kind=None,
    ),
    CertificateRecipient(
        name="Carla Copy",
        email="carla@acme.example",
        role_label="Finance",
        kind="cc",
        status="completed",
        auth_method="none",
        ip_address=None,
        user_agent=None,
        consented_at=None,
        sent_at=T0 + timedelta(minutes=7),
        viewed_at=None,
        signed_at=None,
        declined_at=None,
        signature_kind=None,
    ),
)

DATA = CertificateData(
    envelope_id=ENVELOPE,
    title="SaaS amendment",
    org_name="Acme Inc.",
    status="completed",
    created_at=T0 - timedelta(hours=1),
    completed_at=T0 + timedelta(minutes=6),
    original_sha256=sha("original"),
    signed_sha256=sha("signed"),
    sealed_sha256=None,
    audit_chain_head=sha("chain"),
    audit_event_count=7,
    disclosure_version="esign-2026-01",
    recipients=RECIPIENTS,
    events=(
        CertificateEvent(T0, "envelope.sent", "Sam Sender <sam@acme.example>", "198.51.100.4"),
        CertificateEvent(T0 + timedelta(minutes=1), "recipient.viewed", "<b>x</b>", None),
        CertificateEvent(T0 + timedelta(minutes=3), "recipient.signed", "<b>x</b>", "203.0.113.9"),
    ),
)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def texts(pdf: bytes) -> list[str]:
    return [words(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_every_recipient_and_hash_is_printed() -> None:
    text = " ".join(texts(certificate_pdf(DATA)))

    assert "Certificate of completion" in text
    for value in (
        ENVELOPE,
        "SaaS amendment",
        "Acme Inc.",
        DATA.original_sha256,
        DATA.signed_sha256,
        DATA.audit_chain_head,
        "esign-2026-01",
        "2026-03-04 04:06:07 UTC",  # created
        "2026-03-04 05:12:07 UTC",  # completed
    ):
        assert value in text
    for recipient in RECIPIENTS:
        for value in (recipient.name, recipient.email, recipient.role_label, recipient.kind):
            assert value in text
        assert recipient.auth_method in text
    assert "203.0.113.9" in text
    assert "2001:db8:85a3::8a2e:370:7334" in text
    assert "AppleWebKit/605.1.15" in text
    assert "2026-03-04 05:09:07 UTC" in text  # Jane signed
    assert "recipient.signed" in text
    assert "Sam Sender <sam@acme.example>" in text
    assert "—" in text  # absent values


def test_markup_in_values_prints_literally() -> None:
    text = " ".join(texts(certificate_pdf(DATA)))
    assert "<b>x</b>" in text


def test_the_sealed_hash_is_printed_when_known() -> None:
    sealed = sha("sealed")
    assert sealed not in " ".join(texts(certificate_pdf(DATA)))
    assert sealed in " ".join(texts(certificate_pdf(replace(DATA, sealed_sha256=sealed))))


def test_many_events_run_over_several_numbered_pages() -> None:
    events = tuple(
        CertificateEvent(T0 + timedelta(seconds=i), f"event.{i}", f"Actor {i}", "192.0.2.1")
        for i in range(250)
    )
    pages = texts(certificate_pdf(replace(DATA, events=events, audit_event_count=250)))

    assert len(pages) > 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert f"Envelope {ENVELOPE}" in text
    joined = " ".join(pages)
    assert "event.0 " in joined
    assert "event.249" in joined


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        certificate_pdf(replace(DATA, created_at=datetime(2026, 1, 1)))


def test_append_pages_keeps_the_document_first_and_its_metadata() -> None:
    writer = PdfWriter()
    for _ in range(2):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "The signed amendment", "/Author": "Acme Inc."})
    buffer = io.BytesIO()
    writer.write(buffer)
    document = buffer.getvalue()
    certificate = certificate_pdf(DATA)
    certificate_pages = len(PdfReader(io.BytesIO(certificate)).pages)

    combined = PdfReader(io.BytesIO(append_pages(document, certificate)))

    assert len(combined.pages) == 2 + certificate_pages
    assert combined.pages[0].extract_text() == ""
    assert "Certificate of completion" in combined.pages[2].extract_text()
    assert combined.metadata is not None
    assert combined.metadata.title == "The signed amendment"
    assert combined.metadata.author == "Acme Inc."
