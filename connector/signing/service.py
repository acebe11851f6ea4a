"""What a recipient does: open the envelope, consent, fill and sign (or approve), or decline.

Every refusal that depends on the moment (already signed, not your turn, voided, expired, the
document changed) is a 409 with a sentence; a bad token is a 401.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import audit
from connector.crm.writeback import queue_status
from connector.envelopes import service as envelopes
from connector.envelopes.documents import (
    definition_of,
    document_html,
    document_title,
    envelope_document,
    evaluation_of,
    render_document,
)
from connector.jobs_port import request_job
from connector.models import (
    CrmConnection,
    DocumentKind,
    Envelope,
    EnvelopeStatus,
    FieldValue,
    Org,
    Recipient,
    RecipientStatus,
    utcnow,
)
from connector.problems import Problem
from connector.signing import tokens
from connector.templates.definition import SIGNING_TYPES

DISCLOSURE_VERSION = "2026-11"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SEAL_JOB = "envelopes.seal"


@dataclass(frozen=True)
class Caller:
    ip: str | None
    user_agent: str | None


DEAD_LINK = "This signing link has expired or was already used. Ask the sender for a new one."


def _unauthorized(detail: str = DEAD_LINK) -> Problem:
    return Problem(401, "Unauthorized", detail)


def conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail)


def resolve(
    session: Session, token: str, *, accept: tuple[str, ...] = ("session", "link")
) -> Recipient:
    """The recipient a token is for, if the token is valid and still alive."""
    try:
        claims = tokens.read(token, accept=accept)
        recipient_id = uuid.UUID(claims.recipient_id)
    except (tokens.TokenError, ValueError):
        raise _unauthorized() from None
    recipient = session.get(Recipient, recipient_id)
    if recipient is None or recipient.token_nonce != claims.nonce:
        raise _unauthorized()
    if claims.purpose == "url" and (not claims.jti or claims.jti != recipient.signing_url_jti):
        raise _unauthorized()
    return recipient


def embed_origins_for_token(session: Session, token: str) -> list[str]:
    """The origins allowed to frame the panel for this token; [] when the token is bad."""
    try:
        claims = tokens.read(token, accept=("session", "link", "url"))
        recipient = session.get(Recipient, uuid.UUID(claims.recipient_id))
    except (tokens.TokenError, ValueError):
        return []
    return allowed_origins(session, recipient.org_id) if recipient else []


def allowed_origins(session: Session, org_id: uuid.UUID) -> list[str]:
    org = session.get_one(Org, org_id)
    origins = list(org.settings.get("embed_origins", []))
    for base_url in session.scalars(
        select(CrmConnection.base_url).where(CrmConnection.org_id == org_id)
    ):
        parts = urlsplit(base_url)
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def issue_signing_url(
    session: Session, envelope: Envelope, recipient_id: Any, *, return_url: str | None
) -> tuple[str, str]:
    """A 5-minute, single-use URL for embedded signing; returns (url, expires_at ISO)."""
    recipient = session.get(Recipient, _uuid(recipient_id))
    if recipient is None or recipient.envelope_id != envelope.id:
        raise Problem(404, "Not Found", "No recipient with that id in this envelope.")
    if recipient.kind == "cc":
        raise conflict("A cc recipient does not sign.")
    if envelope.status != EnvelopeStatus.SENT:
        raise conflict(f"This envelope is {envelope.status}; it cannot be signed.")
    if return_url and urlsplit(return_url).scheme not in ("http", "https"):
        raise Problem(422, "Invalid input", "return_url: must be an http(s) URL")
    jti = uuid.uuid4().hex
    recipient.signing_url_jti = jti
    recipient.return_url = return_url
    token = tokens.issue(
        "url", recipient_id=str(recipient.id), nonce=recipient.token_nonce, jti=jti
    )
    base_url = current_app.extensions["countersign.settings"].base_url
    expires_at = utcnow() + tokens.LIFETIMES["url"]
    return f"{base_url}/s/{token}", expires_at.isoformat()


def _uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Problem(404, "Not Found", "No recipient with that id in this envelope.") from None


# Opening and reading.


def open_signing(session: Session, token: str, caller: Caller) -> dict[str, Any]:
    """What the panel shows; exchanges a single-use URL or a link for a session token."""
    recipient = resolve(session, token, accept=("session", "link", "url"))
    if token.startswith("u."):
        recipient.signing_url_jti = None  # exchanged once: the URL is dead from now on
    envelope = session.get_one(Envelope, recipient.envelope_id)
    if envelope.status == EnvelopeStatus.SENT and recipient.status in (
        RecipientStatus.SENT,
        RecipientStatus.DELIVERED,
    ):
        recipient.status = RecipientStatus.VIEWED
        recipient.delivered_at = recipient.delivered_at or utcnow()
        recipient.viewed_at = utcnow()
    if not token.startswith("s."):
        audit.record(
            session,
            org_id=envelope.org_id,
            envelope_id=envelope.id,
            action="viewed",
            actor=_trail(recipient, caller),
            data={"recipient_id": str(recipient.id)},
        )
    session_token = tokens.issue(
        "session", recipient_id=str(recipient.id), nonce=recipient.token_nonce
    )
    return describe(session, envelope, recipient, session_token)


def describe(
    session: Session, envelope: Envelope, recipient: Recipient, session_token: str
) -> dict[str, Any]:
    state, reason = state_of(session, envelope, recipient)
    org = session.get_one(Org, envelope.org_id)
    evaluation = evaluation_of(session, envelope)
    definition = evaluation.definition
    values = evaluation.json_values()
    html = document_html(session, envelope, evaluation)
    role = definition.role(recipient.role_key)
    fields = [
        {
            "key": f.key,
            "label": f.label,
            "type": f.type,
            "required": f.required,
            "options": list(f.options),
            "value": values.get(f.key),
            "validation": (
                f.validation.model_dump()
                if f.validation
                else {"regex": None, "min": None, "max": None, "max_length": None}
            ),
        }
        for f in definition.fields
        if f.filled_by == recipient.role_key
        and f.key in evaluation.active
        and f.type not in SIGNING_TYPES
    ]
    return {
        "session_token": session_token,
        "session_expires_at": (utcnow() + tokens.LIFETIMES["session"]).isoformat(),
        "envelope": {
            "id": str(envelope.id),
            "title": document_title(session, envelope),
            "org_name": org.name,
            "message": envelope.message,
            "status": envelope.status,
        },
        "recipient": {
            "id": str(recipient.id),
            "name": recipient.name,
            "email": recipient.email,
            "role": recipient.role_key,
            "role_label": role.label or role.key,
            "kind": recipient.kind,
            "status": recipient.status,
            "consented": recipient.consented_at is not None,
        },
        "state": state,
        "blocked_reason": reason,
        # A voided, expired or declined envelope no longer shows its content.
        "document": {
            "html": "" if state == "closed" else html,
            "sha256": hashlib.sha256(html.encode()).hexdigest(),
            "pdf_url": None
            if state == "closed"
            else f"/api/v1/signing/{session_token}/document.pdf",
        },
        "fields": [] if state == "closed" else fields,
        "allowed_origins": allowed_origins(session, envelope.org_id),
        "return_url": recipient.return_url,
        "locale": recipient.locale,
    }


def state_of(session: Session, envelope: Envelope, recipient: Recipient) -> tuple[str, str | None]:
    if recipient.status in (RecipientStatus.SIGNED, RecipientStatus.DECLINED):
        return "done", None
    if envelope.status != EnvelopeStatus.SENT:
        return "closed", closed_reason(session, envelope)
    order = envelopes.current_order(envelopes.recipients_of(session, envelope.id))
    if order is not None and recipient.routing_order > order:
        return (
            "waiting",
            "Another recipient signs before you. You will get an email when it is your turn.",
        )
    if recipient.consented_at is None or recipient.consent_withdrawn_at is not None:
        return "consent", None
    return "sign", None


def closed_reason(session: Session, envelope: Envelope) -> str:
    if envelope.status == EnvelopeStatus.VOIDED:
        return f"The sender voided this envelope: {envelope.void_reason}"
    if envelope.status == EnvelopeStatus.EXPIRED:
        return "This envelope expired before it was signed. Ask the sender to send it again."
    if envelope.status == EnvelopeStatus.DECLINED:
        decliner = session.scalars(
            select(Recipient).where(
                Recipient.envelope_id == envelope.id, Recipient.status == RecipientStatus.DECLINED
            )
        ).first()
        return f"{decliner.name if decliner else 'A recipient'} declined to sign this envelope."
    if envelope.status == EnvelopeStatus.COMPLETED:
        return "Everyone has signed this envelope."
    return f"This envelope is {envelope.status}."


def _trail(recipient: Recipient, caller: Caller) -> audit.Actor:
    return audit.Actor(
        "recipient",
        str(recipient.id),
        f"{recipient.name} <{recipient.email}>",
        caller.ip,
        (caller.user_agent or "")[:500] or None,
    )


def _locked(session: Session, token: str) -> tuple[Envelope, Recipient]:
    recipient = resolve(session, token)
    envelope = envelopes.lock_envelope(session, recipient.envelope_id)
    session.refresh(recipient)
    return envelope, recipient


def _must_be_open(session: Session, envelope: Envelope, recipient: Recipient) -> None:
    if recipient.status == RecipientStatus.SIGNED:
        raise conflict("You have already signed this envelope.")
    if recipient.status == RecipientStatus.DECLINED:
        raise conflict("You declined this envelope; it cannot be signed now.")
    if envelope.status != EnvelopeStatus.SENT:
        raise conflict(closed_reason(session, envelope))
    if envelope.expires_at and envelope.expires_at <= utcnow():
        raise conflict(
            "This envelope expired before it was signed. Ask the sender to send it again."
        )
    order = envelopes.current_order(envelopes.recipients_of(session, envelope.id))
    if order is not None and recipient.routing_order > order:
        raise conflict("It is not your turn to sign yet: a recipient before you has not finished.")


# Acting.


def consent(session: Session, token: str, caller: Caller) -> dict[str, Any]:
    envelope, recipient = _locked(session, token)
    _must_be_open(session, envelope, recipient)
    recipient.consented_at = utcnow()
    recipient.consent_withdrawn_at = None
    recipient.disclosure_version = DISCLOSURE_VERSION
    recipient.ip_address, recipient.user_agent = caller.ip, (caller.user_agent or "")[:500]
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action="consent_given",
        actor=_trail(recipient, caller),
        data={"disclosure_version": DISCLOSURE_VERSION},
    )
    return {"consented_at": recipient.consented_at.isoformat()}


def withdraw_consent(session: Session, token: str, caller: Caller) -> dict[str, Any]:
    envelope, recipient = _locked(session, token)
    _must_be_open(session, envelope, recipient)
    recipient.consent_withdrawn_at = utcnow()
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action="consent_withdrawn",
        actor=_trail(recipient, caller),
    )
    return {"consent_withdrawn_at": recipient.consent_withdrawn_at.isoformat()}


def complete(
    session: Session,
    token: str,
    caller: Caller,
    *,
    fields: dict[str, Any],
    signature: dict[str, Any] | None,
    document_sha256: str | None = None,
) -> dict[str, Any]:
    envelope, recipient = _locked(session, token)
    _must_be_open(session, envelope, recipient)
    if recipient.consented_at is None or recipient.consent_withdrawn_at is not None:
        raise conflict("Accept the electronic records disclosure before signing.")
    if (
        document_sha256
        and document_sha256 != hashlib.sha256(document_html(session, envelope).encode()).hexdigest()
    ):
        raise conflict("The document changed after you opened it. Review it again, then sign.")
    values = _recipient_values(session, envelope, recipient, fields)
    adopted = _adopted_signature(recipient, signature)
    claimed = session.execute(
        update(Recipient)
        .where(Recipient.id == recipient.id, Recipient.status.not_in(envelopes.FINISHED))
        .values(status=RecipientStatus.SIGNED)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict("You have already signed this envelope.")
    session.refresh(recipient)
    now = utcnow()
    values |= _signing_values(session, envelope, recipient, now)
    for key, value in values.items():
        session.add(
            FieldValue(
                org_id=envelope.org_id,
                envelope_id=envelope.id,
                field_key=key,
                value=value,
                filled_by=recipient.role_key,
                recipient_id=recipient.id,
            )
        )
    recipient.signed_at = now
    recipient.signature = adopted
    recipient.ip_address, recipient.user_agent = caller.ip, (caller.user_agent or "")[:500]
    session.flush()
    action = "approved" if recipient.kind == "approver" else "signed"
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action=action,
        actor=_trail(recipient, caller),
        data={
            "recipient_id": str(recipient.id),
            "role": recipient.role_key,
            "fields": sorted(values),
            "signature_kind": adopted["kind"] if adopted else None,
        },
    )
    _advance(session, envelope)
    return {
        "status": "signed",
        "envelope_status": envelope.status,
        "return_url": recipient.return_url,
    }


def _recipient_values(
    session: Session, envelope: Envelope, recipient: Recipient, fields: dict[str, Any]
) -> dict[str, Any]:
    definition = definition_of(session, envelope)
    mine = {
        f.key: f
        for f in definition.fields
        if f.filled_by == recipient.role_key and f.type not in SIGNING_TYPES
    }
    errors = [
        {
            "path": f"fields.{k}",
            "message": "is not yours to fill"
            if k in {f.key for f in definition.fields}
            else "unknown field",
        }
        for k in fields
        if k not in mine
    ]
    evaluation = evaluation_of(
        session, envelope, extra={k: v for k, v in fields.items() if k in mine}
    )
    errors += [
        {"path": f"fields.{i['field']}", "message": i["message"]}
        for i in evaluation.invalid
        if i["field"] in mine
    ]
    errors += [
        {"path": f"fields.{m['field']}", "message": "is required"}
        for m in evaluation.missing
        if m["field"] in mine
    ]
    if errors:
        raise Problem(
            422, "Invalid values", f"{errors[0]['path']}: {errors[0]['message']}", errors=errors
        )
    json_values = evaluation.json_values()
    return {
        k: json_values[k] for k in mine if k in evaluation.active and json_values.get(k) is not None
    }


def _adopted_signature(
    recipient: Recipient, signature: dict[str, Any] | None
) -> dict[str, Any] | None:
    from connector.evidence.stamp import decode_drawn_signature

    if recipient.kind == "approver":
        return None
    if not isinstance(signature, dict) or signature.get("kind") not in ("drawn", "typed"):
        raise Problem(
            422,
            "Invalid signature",
            "signature.kind: draw or type your signature",
            errors=[{"path": "signature.kind", "message": "must be drawn or typed"}],
        )
    value = signature.get("value")
    if signature["kind"] == "typed":
        name = CONTROL.sub("", value).strip() if isinstance(value, str) else ""
        if not 1 <= len(name) <= 100:
            raise Problem(
                422,
                "Invalid signature",
                "signature.value: type your name (1 to 100 characters)",
                errors=[{"path": "signature.value", "message": "type your name"}],
            )
        return {"kind": "typed", "value": name}
    try:
        png = decode_drawn_signature(value if isinstance(value, str) else "")
    except ValueError as err:
        raise Problem(
            422,
            "Invalid signature",
            f"signature.value: {err}",
            errors=[{"path": "signature.value", "message": str(err)}],
        ) from None
    return {"kind": "drawn", "value": "data:image/png;base64," + base64.b64encode(png).decode()}


def _signing_values(
    session: Session, envelope: Envelope, recipient: Recipient, now: Any
) -> dict[str, Any]:
    """The fields signing itself fills: the date and the printed name."""
    values: dict[str, Any] = {}
    for spec in definition_of(session, envelope).fields:
        if spec.filled_by != recipient.role_key:
            continue
        if spec.type == "date_signed":
            values[spec.key] = now.date().isoformat()
        elif spec.type == "name_signed":
            values[spec.key] = recipient.name
        elif spec.type in ("signature", "initials") and recipient.kind != "approver":
            values[spec.key] = f"Signed by {recipient.name}"
    return values


def _advance(session: Session, envelope: Envelope) -> None:
    """Invite the next routing order, or complete the envelope when everyone has finished."""
    recipients = envelopes.recipients_of(session, envelope.id)
    if envelopes.current_order(recipients) is not None:
        envelopes.invite_next(session, envelope)
        return
    envelope.status = EnvelopeStatus.COMPLETED
    envelope.completed_at = utcnow()
    envelope.next_reminder_at = None
    audit.record(session, org_id=envelope.org_id, envelope_id=envelope.id, action="completed")
    request_job(session, SEAL_JOB, str(envelope.id), job_id=f"seal-{envelope.id}")


def decline(session: Session, token: str, caller: Caller, *, reason: str) -> dict[str, Any]:
    envelope, recipient = _locked(session, token)
    _must_be_open(session, envelope, recipient)
    reason = CONTROL.sub(" ", reason or "").strip()
    if not 1 <= len(reason) <= 1000:
        raise Problem(
            422,
            "Invalid input",
            "reason: say why you decline (1 to 1000 characters)",
            errors=[{"path": "reason", "message": "1 to 1000 characters"}],
        )
    recipient.status = RecipientStatus.DECLINED
    recipient.declined_at = utcnow()
    recipient.decline_reason = reason
    recipient.ip_address, recipient.user_agent = caller.ip, (caller.user_agent or "")[:500]
    envelope.status = EnvelopeStatus.DECLINED
    envelope.declined_at = recipient.declined_at
    queue_status(session, envelope)
    envelope.next_reminder_at = None
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action="declined",
        actor=_trail(recipient, caller),
        data={"recipient_id": str(recipient.id), "reason": reason},
    )
    from connector.envelopes import notify

    for other in envelopes.recipients_of(session, envelope.id):
        if other.id != recipient.id and other.sent_at and other.delivery == "email":
            notify.send(
                session,
                "declined",
                envelope,
                other,
                decline_reason=reason,
                decliner_name=recipient.name,
            )
    return {"status": "declined"}


def document_pdf(session: Session, token: str) -> tuple[bytes, str]:
    """The sealed final once completed, else a DRAFT with the values so far."""
    recipient = resolve(session, token)
    envelope = session.get_one(Envelope, recipient.envelope_id)
    if envelope.status in (EnvelopeStatus.VOIDED, EnvelopeStatus.EXPIRED, EnvelopeStatus.DECLINED):
        raise conflict(closed_reason(session, envelope))
    return envelope_pdf(session, envelope)


def envelope_pdf(session: Session, envelope: Envelope) -> tuple[bytes, str]:
    from connector.documents import read_document

    final = envelope_document(session, envelope.id, DocumentKind.FINAL)
    if final is not None:
        return read_document(final), f"{envelope.id}.pdf"
    if envelope.status == EnvelopeStatus.COMPLETED:
        raise conflict("The sealed document is being prepared; try again in a moment.")
    return render_document(session, envelope, draft=True).pdf, f"{envelope.id}-draft.pdf"
