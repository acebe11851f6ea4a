"""Completion: the final PDF (document + values + stamped signatures + certificate of completion),
sealed with PAdES, stored encrypted, and sent to everyone. Also verification of any PDF.

The seal job is idempotent: a completed envelope with a final document is left alone.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import audit
from connector.crm.writeback import queue_status
from connector.documents import store_document
from connector.envelopes import notify
from connector.envelopes.documents import (
    definition_of,
    document_title,
    envelope_document,
    evaluation_of,
    render_document,
)
from connector.envelopes.service import recipients_of
from connector.evidence.certificate import (
    CertificateData,
    CertificateEvent,
    CertificateRecipient,
    append_pages,
    certificate_pdf,
)
from connector.evidence.keys import seal_identity, timestamp_url, trust_roots
from connector.evidence.seal import seal_pdf, verify_pdf
from connector.evidence.stamp import Manifestation, stamp_signatures
from connector.models import Document, DocumentKind, Envelope, EnvelopeStatus, Org, Recipient
from connector.signing.service import DISCLOSURE_VERSION

METADATA_KEY = "/CountersignEnvelope"


def seal_envelope(session: Session, envelope_id: uuid.UUID) -> Document | None:
    """Build, seal and store the final PDF of a completed envelope, then send it to everyone."""
    envelope = session.get(Envelope, envelope_id)
    if envelope is None or envelope.status != EnvelopeStatus.COMPLETED:
        return None
    existing = envelope_document(session, envelope.id, DocumentKind.FINAL)
    if existing is not None:
        return existing
    org = session.get_one(Org, envelope.org_id)
    recipients = recipients_of(session, envelope.id)
    rendered = render_document(
        session, envelope, draft=False, evaluation=evaluation_of(session, envelope)
    )
    signed = stamp_signatures(
        rendered.pdf, _manifestations(session, envelope, recipients, rendered.signature_boxes)
    )
    signed_sha256 = hashlib.sha256(signed).hexdigest()
    original = envelope_document(session, envelope.id, DocumentKind.ORIGINAL)
    report = audit.verify_chain(session, audit.chain_for(envelope.id, envelope.org_id))
    data = _certificate_data(session, envelope, org, recipients, original, signed_sha256, report)
    final = _with_metadata(append_pages(signed, certificate_pdf(data)), envelope.id)
    sealed = seal_pdf(
        final,
        seal_identity(session, org),
        reason=f"Sealed by Countersign for {org.name}",
        location=None,
        timestamp_url=timestamp_url(),
    )
    title = document_title(session, envelope)[:80]
    document = store_document(
        session,
        org_id=org.id,
        kind=DocumentKind.FINAL,
        filename=f"{title} (signed).pdf",
        content=sealed,
        envelope_id=envelope.id,
    )
    certificate = certificate_pdf(replace(data, sealed_sha256=document.sha256))
    store_document(
        session,
        org_id=org.id,
        kind=DocumentKind.CERTIFICATE,
        filename=f"{title} (certificate).pdf",
        content=certificate,
        envelope_id=envelope.id,
    )
    audit.record(
        session,
        org_id=org.id,
        envelope_id=envelope.id,
        action="sealed",
        data={
            "final_sha256": document.sha256,
            "signed_sha256": signed_sha256,
            "audit_head": report.head,
        },
    )
    queue_status(session, envelope)
    for recipient in recipients:
        if recipient.delivery == "email" or recipient.kind == "cc":
            notify.send(session, "completed", envelope, recipient, attachments=[str(document.id)])
    return document


def _manifestations(
    session: Session, envelope: Envelope, recipients: list[Recipient], boxes: list[Any]
) -> list[Manifestation]:
    definition = definition_of(session, envelope)
    labels = {r.key: r.label or r.key.title() for r in definition.roles}
    by_role = {box.role: box for box in boxes}
    stamps = []
    for recipient in recipients:
        box = by_role.get(recipient.role_key)
        if box is None or recipient.signed_at is None:
            continue
        meaning = "Approved" if recipient.kind == "approver" else "Signed"
        signature = recipient.signature or {"kind": "none", "value": ""}
        stamps.append(
            Manifestation(
                role=recipient.role_key,
                meaning=f"{meaning} as {labels.get(recipient.role_key, recipient.role_key)}",
                printed_name=recipient.name,
                email=recipient.email,
                signed_at=recipient.signed_at,
                envelope_id=str(envelope.id),
                signature_kind=signature["kind"],
                signature_value=signature["value"],
                page=box.page,
                x=box.x,
                y=box.y,
                width=box.width,
                height=box.height,
            )
        )
    return stamps


def _certificate_data(
    session: Session,
    envelope: Envelope,
    org: Org,
    recipients: list[Recipient],
    original: Document | None,
    signed_sha256: str,
    report: audit.ChainReport,
) -> CertificateData:
    definition = definition_of(session, envelope)
    labels = {r.key: r.label or r.key.title() for r in definition.roles}
    events = audit.events_of(session, envelope.id)
    return CertificateData(
        envelope_id=str(envelope.id),
        title=document_title(session, envelope),
        org_name=org.name,
        status=envelope.status,
        created_at=envelope.created_at,
        completed_at=envelope.completed_at,
        original_sha256=original.sha256 if original else "",
        signed_sha256=signed_sha256,
        sealed_sha256=None,
        audit_chain_head=report.head,
        audit_event_count=report.count,
        disclosure_version=DISCLOSURE_VERSION,
        recipients=tuple(
            CertificateRecipient(
                name=r.name,
                email=r.email,
                role_label=labels.get(r.role_key, r.role_key),
                kind=r.kind,
                status=r.status,
                auth_method=_auth_method(r),
                ip_address=r.ip_address,
                user_agent=r.user_agent,
                consented_at=r.consented_at,
                sent_at=r.sent_at,
                viewed_at=r.viewed_at,
                signed_at=r.signed_at,
                declined_at=r.declined_at,
                signature_kind=(r.signature or {}).get("kind"),
            )
            for r in recipients
        ),
        events=tuple(
            CertificateEvent(
                at=e.occurred_at,
                action=e.action,
                actor=e.actor_label or e.actor_kind,
                ip_address=e.ip_address,
            )
            for e in events
        ),
    )


def _auth_method(recipient: Recipient) -> str:
    if recipient.delivery == "embedded":
        return "Embedded session opened by the sender's application"
    return "Email link sent to " + recipient.email


def _with_metadata(pdf: bytes, envelope_id: uuid.UUID) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({METADATA_KEY: str(envelope_id), "/Producer": "Countersign"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@dataclass
class Verification:
    genuine: bool
    envelope_id: str | None = None
    sealed_at: datetime | None = None
    reasons: list[str] = field(default_factory=list)


def verify_upload(session: Session, pdf: bytes) -> Verification:
    """Genuine only when the seal is intact and trusted AND the file is a stored final document."""
    digest = hashlib.sha256(pdf).hexdigest()
    stored = session.scalars(
        select(Document).where(Document.sha256 == digest, Document.kind == DocumentKind.FINAL)
    ).first()
    envelope_id = str(stored.envelope_id) if stored else _claimed_envelope(pdf)
    envelope = session.get(Envelope, uuid.UUID(envelope_id)) if envelope_id else None
    if envelope is None:
        return Verification(False, None, None, ["The file does not name an envelope sealed here."])
    org = session.get_one(Org, envelope.org_id)
    result = verify_pdf(pdf, trust_roots(session, org))
    reasons = list(result.reasons)
    if stored is None:
        reasons.append("The file is not identical to the document sealed for this envelope.")
    return Verification(
        result.genuine and stored is not None, str(envelope.id), result.signed_at, reasons
    )


def _claimed_envelope(pdf: bytes) -> str | None:
    try:
        metadata: dict[str, Any] = dict(PdfReader(io.BytesIO(pdf)).metadata or {})
        value = str(metadata.get(METADATA_KEY, ""))
        return str(uuid.UUID(value))
    except Exception:  # noqa: BLE001 - any unreadable or foreign file simply names no envelope
        return None
