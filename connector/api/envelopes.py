"""/api/v1/envelopes: send, list, read, void, remind, embedded signing URLs, documents, audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from flask import Response as FlaskResponse
from flask import request
from pydantic import BaseModel, Field
from spectree import Response
from sqlalchemy import or_, select

from connector import audit
from connector.api import bp, spec
from connector.api.auth import current_principal, require_key
from connector.api.schemas import PageQuery, ProblemOut
from connector.db import request_session
from connector.documents import read_document
from connector.envelopes import service
from connector.envelopes.documents import envelope_document
from connector.models import DocumentKind, Envelope, Recipient, Role
from connector.problems import Problem
from connector.signing.service import envelope_pdf, issue_signing_url
from connector.tenancy import owned

ERRORS = {
    "HTTP_401": ProblemOut,
    "HTTP_403": ProblemOut,
    "HTTP_404": ProblemOut,
    "HTTP_409": ProblemOut,
}


class RecipientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    role: str = Field(min_length=1, max_length=100)
    routing_order: int = Field(1, ge=1, le=100)
    delivery: Literal["email", "embedded"] = "email"
    locale: Literal["en", "es"] = "en"


class CrmRef(BaseModel):
    system: Literal["zendesk", "salesforce"]
    object: str = Field(min_length=1, max_length=100)
    record_id: str = Field(min_length=1, max_length=100)


class EnvelopeCreate(BaseModel):
    template_id: uuid.UUID
    fields: dict[str, Any] = Field(default_factory=dict)
    recipients: list[RecipientIn] = Field(min_length=1, max_length=50)
    crm: CrmRef | None = None
    subject: str = Field("", max_length=300)
    message: str = Field("", max_length=5000)
    expires_in_days: int | None = Field(None, ge=1, le=365)
    reminder_every_hours: int | None = Field(None, ge=1, le=24 * 30)


class RecipientOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    role: str
    kind: str
    routing_order: int
    delivery: str
    status: str
    sent_at: datetime | None
    viewed_at: datetime | None
    signed_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None


class EnvelopeOut(BaseModel):
    id: uuid.UUID
    status: str
    subject: str
    message: str
    template_version_id: uuid.UUID
    crm: CrmRef | None
    created_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    expires_at: datetime | None
    crm_error: str | None = Field(
        None, description="the last CRM write-back error, until one succeeds"
    )
    recipients: list[RecipientOut]


class EnvelopeList(BaseModel):
    items: list[EnvelopeOut]
    limit: int
    offset: int


class EnvelopeQuery(PageQuery):
    status: Literal["draft", "sent", "completed", "declined", "voided", "expired"] | None = None
    q: str | None = Field(
        None, max_length=200, description="matches subject, recipient name or email"
    )
    crm_record_id: str | None = Field(None, max_length=100)


class VoidIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class SigningUrlIn(BaseModel):
    return_url: str | None = Field(None, max_length=2000)


class SigningUrlOut(BaseModel):
    url: str
    expires_at: str


class RemindOut(BaseModel):
    reminded: list[uuid.UUID]


class AuditEventOut(BaseModel):
    seq: int
    action: str
    actor_kind: str
    actor_label: str
    ip_address: str | None
    user_agent: str | None
    data: dict[str, Any]
    occurred_at: datetime
    hash: str


class ChainOut(BaseModel):
    valid: bool
    head: str
    problems: list[str]


class AuditOut(BaseModel):
    events: list[AuditEventOut]
    chain: ChainOut


def envelope_out(envelope: Envelope) -> EnvelopeOut:
    recipients = service.recipients_of(request_session(), envelope.id)
    crm = (
        CrmRef.model_validate(
            {
                "system": envelope.crm_system,
                "object": envelope.crm_object or "",
                "record_id": envelope.crm_record_id or "",
            }
        )
        if envelope.crm_system
        else None
    )
    return EnvelopeOut(
        id=envelope.id,
        status=envelope.status,
        subject=envelope.subject,
        message=envelope.message,
        template_version_id=envelope.template_version_id,
        crm=crm,
        created_at=envelope.created_at,
        sent_at=envelope.sent_at,
        completed_at=envelope.completed_at,
        voided_at=envelope.voided_at,
        void_reason=envelope.void_reason,
        expires_at=envelope.expires_at,
        crm_error=envelope.crm_error,
        recipients=[
            RecipientOut(
                id=r.id,
                name=r.name,
                email=r.email,
                role=r.role_key,
                kind=r.kind,
                routing_order=r.routing_order,
                delivery=r.delivery,
                status=r.status,
                sent_at=r.sent_at,
                viewed_at=r.viewed_at,
                signed_at=r.signed_at,
                declined_at=r.declined_at,
                decline_reason=r.decline_reason,
            )
            for r in recipients
        ],
    )


def _trail() -> audit.Actor:
    return service.actor_trail(
        current_principal(),
        request_session(),
        request.remote_addr,
        request.headers.get("User-Agent"),
    )


@bp.post("/envelopes")
@require_key(Role.ADMIN, Role.AGENT)
@spec.validate(
    json=EnvelopeCreate,
    resp=Response(HTTP_201=EnvelopeOut, HTTP_200=EnvelopeOut, HTTP_422=ProblemOut, **ERRORS),
    tags=["envelopes"],
    operation_id="sendEnvelope",
)
def send_envelope(json: EnvelopeCreate) -> tuple[EnvelopeOut, int, dict[str, str]]:
    """Send a template to its recipients. With an `Idempotency-Key` header, repeating the request
    returns the first envelope (200, `Idempotent-Replayed: true`) and sends nothing again."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise Problem(422, "Invalid input", "Idempotency-Key: 1 to 200 characters")
    send = service.SendRequest(
        template_id=str(json.template_id),
        fields=json.fields,
        recipients=[service.RecipientSpec(**r.model_dump()) for r in json.recipients],
        crm=json.crm.model_dump() if json.crm else None,
        message=json.message,
        subject=json.subject,
        expires_in_days=json.expires_in_days,
        reminder_every_hours=json.reminder_every_hours,
        idempotency_key=key,
    )
    envelope, created = service.create_envelope(
        request_session(), actor=current_principal(), request=send, trail=_trail()
    )
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return envelope_out(envelope), 201 if created else 200, headers


@bp.get("/envelopes")
@require_key()
@spec.validate(
    query=EnvelopeQuery,
    resp=Response(HTTP_200=EnvelopeList, **ERRORS),
    tags=["envelopes"],
    operation_id="listEnvelopes",
)
def list_envelopes(query: EnvelopeQuery) -> EnvelopeList:
    """The organization's envelopes, newest first, filtered by status, text or CRM record."""
    statement = owned(Envelope, current_principal().org_id)
    if query.status:
        statement = statement.where(Envelope.status == query.status)
    if query.crm_record_id:
        statement = statement.where(Envelope.crm_record_id == query.crm_record_id)
    if query.q:
        pattern = f"%{query.q.lower()}%"
        matching = select(Recipient.envelope_id).where(
            or_(Recipient.name.ilike(pattern), Recipient.email.ilike(pattern))
        )
        statement = statement.where(or_(Envelope.subject.ilike(pattern), Envelope.id.in_(matching)))
    rows = request_session().scalars(
        statement.order_by(Envelope.created_at.desc()).limit(query.limit).offset(query.offset)
    )
    return EnvelopeList(
        items=[envelope_out(e) for e in rows], limit=query.limit, offset=query.offset
    )


@bp.get("/envelopes/<envelope_id>")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=EnvelopeOut, **ERRORS), tags=["envelopes"], operation_id="getEnvelope"
)
def get_envelope(envelope_id: str) -> EnvelopeOut:
    """One envelope with its recipients and their progress."""
    return envelope_out(service.get_envelope(request_session(), current_principal(), envelope_id))


@bp.post("/envelopes/<envelope_id>/void")
@require_key(Role.ADMIN, Role.AGENT)
@spec.validate(
    json=VoidIn,
    resp=Response(HTTP_200=EnvelopeOut, HTTP_422=ProblemOut, **ERRORS),
    tags=["envelopes"],
    operation_id="voidEnvelope",
)
def void_envelope(envelope_id: str, json: VoidIn) -> EnvelopeOut:
    """Stop a sent envelope: every link dies and the recipients are told why."""
    envelope = service.void_envelope(
        request_session(),
        actor=current_principal(),
        envelope_id=envelope_id,
        reason=json.reason,
        trail=_trail(),
    )
    return envelope_out(envelope)


@bp.post("/envelopes/<envelope_id>/remind")
@require_key(Role.ADMIN, Role.AGENT)
@spec.validate(
    resp=Response(HTTP_200=RemindOut, **ERRORS), tags=["envelopes"], operation_id="remindEnvelope"
)
def remind_envelope(envelope_id: str) -> RemindOut:
    """Email every invited recipient who has not finished again."""
    session = request_session()
    envelope = service.lock_envelope(
        session, service.get_envelope(session, current_principal(), envelope_id).id
    )
    return RemindOut(reminded=[r.id for r in service.remind(session, envelope, trail=_trail())])


@bp.post("/envelopes/<envelope_id>/recipients/<recipient_id>/signing-url")
@require_key(Role.ADMIN, Role.AGENT)
@spec.validate(
    json=SigningUrlIn,
    resp=Response(HTTP_200=SigningUrlOut, HTTP_422=ProblemOut, **ERRORS),
    tags=["envelopes"],
    operation_id="createSigningUrl",
)
def signing_url(envelope_id: str, recipient_id: str, json: SigningUrlIn) -> SigningUrlOut:
    """A 5-minute, single-use URL opening the signer panel for this recipient (embedded)."""
    session = request_session()
    envelope = service.get_envelope(session, current_principal(), envelope_id)
    url, expires_at = issue_signing_url(session, envelope, recipient_id, return_url=json.return_url)
    return SigningUrlOut(url=url, expires_at=expires_at)


def _pdf(content: bytes, filename: str) -> FlaskResponse:
    response = FlaskResponse(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/envelopes/<envelope_id>/document")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=None, **ERRORS), tags=["envelopes"], operation_id="getEnvelopeDocument"
)
def envelope_document_pdf(envelope_id: str) -> FlaskResponse:
    """The sealed final PDF once completed; before that a DRAFT with the values so far."""
    session = request_session()
    envelope = service.get_envelope(session, current_principal(), envelope_id)
    content, filename = envelope_pdf(session, envelope)
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action="downloaded",
        actor=_trail(),
        data={"document": "final" if "draft" not in filename else "draft"},
    )
    return _pdf(content, filename)


@bp.get("/envelopes/<envelope_id>/certificate")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=None, **ERRORS),
    tags=["envelopes"],
    operation_id="getEnvelopeCertificate",
)
def envelope_certificate(envelope_id: str) -> FlaskResponse:
    """The certificate of completion (PDF), once the envelope is completed and sealed."""
    session = request_session()
    envelope = service.get_envelope(session, current_principal(), envelope_id)
    certificate = envelope_document(session, envelope.id, DocumentKind.CERTIFICATE)
    if certificate is None:
        raise Problem(
            409,
            "Conflict",
            f"This envelope is {envelope.status}; its certificate exists once it is "
            "completed and sealed.",
        )
    return _pdf(read_document(certificate), f"{envelope.id}-certificate.pdf")


@bp.get("/envelopes/<envelope_id>/audit")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=AuditOut, **ERRORS), tags=["envelopes"], operation_id="getEnvelopeAudit"
)
def envelope_audit(envelope_id: str) -> AuditOut:
    """Every event of the envelope, and whether its hash chain is intact."""
    session = request_session()
    envelope = service.get_envelope(session, current_principal(), envelope_id)
    report = audit.verify_chain(session, audit.chain_for(envelope.id, envelope.org_id))
    events = audit.events_of(session, envelope.id)
    # The export itself is evidence too; it shows from the next read of the trail on.
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action="exported",
        actor=_trail(),
        data={"events": len(events), "head": report.head},
    )
    return AuditOut(
        events=[
            AuditEventOut(
                seq=e.seq,
                action=e.action,
                actor_kind=e.actor_kind,
                actor_label=e.actor_label,
                ip_address=e.ip_address,
                user_agent=e.user_agent,
                data=e.data,
                occurred_at=e.occurred_at,
                hash=e.hash,
            )
            for e in events
        ],
        chain=ChainOut(valid=report.valid, head=report.head, problems=report.problems),
    )
