"""Sending envelopes and what follows: routing, reminders, expiry and voiding.

Routing: recipients with the same routing order sign in parallel; the next order is invited once
every signer and approver of the previous one has finished. cc recipients get the final copy.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import audit
from connector.actors import Actor
from connector.crm.connections import connection_for
from connector.crm.prefill import CrmRecord, Prefilled, merge, prefill
from connector.crm.writeback import queue_status
from connector.documents import store_document
from connector.envelopes import notify
from connector.envelopes.documents import render_document
from connector.models import (
    DocumentKind,
    Envelope,
    EnvelopeStatus,
    FieldValue,
    Recipient,
    RecipientStatus,
    Role,
    User,
    utcnow,
)
from connector.problems import Problem
from connector.signing.tokens import new_nonce
from connector.templates.definition import TemplateDefinition
from connector.templates.evaluate import evaluate
from connector.templates.service import check_sender_values, current_version, get_template
from connector.tenancy import get_owned

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
DEFAULT_EXPIRY_DAYS = 30
DEFAULT_REMINDER_HOURS = 48
FINISHED = (RecipientStatus.SIGNED, RecipientStatus.DECLINED)
OPEN = EnvelopeStatus.SENT


@dataclass(frozen=True)
class RecipientSpec:
    name: str
    email: str
    role: str
    routing_order: int = 1
    delivery: str = "email"
    locale: str = "en"


@dataclass
class SendRequest:
    template_id: str
    fields: dict[str, Any]
    recipients: list[RecipientSpec]
    crm: dict[str, str] | None = None
    message: str = ""
    subject: str = ""
    expires_in_days: int | None = None
    reminder_every_hours: int | None = None
    idempotency_key: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


def actor_trail(
    actor: Actor, session: Session, ip: str | None = None, agent: str | None = None
) -> audit.Actor:
    if actor.user_id:
        user = session.get(User, actor.user_id)
        label = f"{user.name} <{user.email}>" if user else "user"
        return audit.Actor("user", str(actor.user_id), label, ip, agent)
    return audit.Actor("api_key", str(actor.api_key_id), f"API key ({actor.role.value})", ip, agent)


def get_envelope(session: Session, actor: Actor, envelope_id: Any) -> Envelope:
    return get_owned(session, Envelope, envelope_id, actor.org_id, "envelope")


def lock_envelope(session: Session, envelope_id: uuid.UUID) -> Envelope:
    """The envelope row, locked for this transaction (PostgreSQL); SQLite writers queue anyway."""
    statement = select(Envelope).where(Envelope.id == envelope_id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return session.scalars(statement.execution_options(populate_existing=True)).one()


def create_envelope(
    session: Session, *, actor: Actor, request: SendRequest, trail: audit.Actor
) -> tuple[Envelope, bool]:
    """Send a template to its recipients. Returns (envelope, created); a repeated
    Idempotency-Key returns the first envelope and sends nothing."""
    actor.require(Role.ADMIN, Role.AGENT, doing="send envelopes")
    if request.idempotency_key:
        existing = _by_idempotency_key(session, actor, request.idempotency_key)
        if existing is not None:
            return existing, False
    template = get_template(session, actor, request.template_id)
    if template.archived_at is not None:
        raise Problem(409, "Conflict", "This template is archived; it cannot be sent.")
    version = current_version(session, template)
    definition = TemplateDefinition.model_validate(version.definition)
    check_sender_values(definition, request.fields, actor)
    prefilled = _prefill(session, actor, definition, request.crm)
    evaluation = evaluate(definition, merge(request.fields, prefilled))
    _refuse_incomplete(evaluation)
    recipients = _check_recipients(definition, evaluation.active_roles, request.recipients)
    now = utcnow()
    envelope = Envelope(
        org_id=actor.org_id,
        template_version_id=version.id,
        team_id=template.team_id,
        sender_id=actor.user_id,
        status=EnvelopeStatus.SENT,
        subject=(request.subject or template.name)[:300],
        message=request.message,
        idempotency_key=request.idempotency_key,
        expires_at=now + timedelta(days=request.expires_in_days or DEFAULT_EXPIRY_DAYS),
        reminder_every_hours=request.reminder_every_hours or DEFAULT_REMINDER_HOURS,
        sent_at=now,
        **_crm_columns(request.crm),
    )
    envelope.next_reminder_at = now + timedelta(
        hours=envelope.reminder_every_hours or DEFAULT_REMINDER_HOURS
    )
    try:
        with session.begin_nested():
            session.add(envelope)
            session.flush()
    except IntegrityError:
        existing = _by_idempotency_key(session, actor, request.idempotency_key or "")
        if existing is None:
            raise
        return existing, False  # a double click that raced the first one
    for key, value in evaluation.json_values().items():
        field_def = definition.field(key)
        if field_def.filled_by == "sender" and value is not None:
            session.add(
                FieldValue(
                    org_id=actor.org_id,
                    envelope_id=envelope.id,
                    field_key=key,
                    value=value,
                    filled_by="sender",
                    source=prefilled[key].source if key in prefilled else None,
                )
            )
    kinds = {r.key: r.kind for r in definition.roles}
    for spec in recipients:
        session.add(
            Recipient(
                org_id=actor.org_id,
                envelope_id=envelope.id,
                role_key=spec.role,
                kind=kinds[spec.role],
                name=spec.name.strip(),
                email=spec.email.strip(),
                routing_order=spec.routing_order,
                delivery=spec.delivery,
                locale=spec.locale,
                token_nonce=new_nonce(),
            )
        )
    session.flush()
    session.refresh(envelope)
    audit.record(
        session,
        org_id=actor.org_id,
        envelope_id=envelope.id,
        action="created",
        actor=trail,
        data={
            "template_id": str(template.id),
            "version": version.version,
            "fields": sorted(evaluation.json_values()),
        },
    )
    original = render_document(session, envelope, draft=False, evaluation=evaluation)
    document = store_document(
        session,
        org_id=actor.org_id,
        kind=DocumentKind.ORIGINAL,
        filename=f"{template.name[:80]} (as sent).pdf",
        content=original.pdf,
        envelope_id=envelope.id,
    )
    audit.record(
        session,
        org_id=actor.org_id,
        envelope_id=envelope.id,
        action="sent",
        actor=trail,
        data={
            "original_sha256": document.sha256,
            "recipients": [
                {"role": r.role, "email": r.email, "order": r.routing_order} for r in recipients
            ],
        },
    )
    invite_next(session, envelope)
    queue_status(session, envelope)
    return envelope, True


def _prefill(
    session: Session, actor: Actor, definition: TemplateDefinition, crm: dict[str, str] | None
) -> dict[str, Prefilled]:
    """Values from the CRM record the envelope is for, when the org is connected to that CRM."""
    if not crm or connection_for(session, actor.org_id, crm["system"]) is None:
        return {}
    return prefill(
        session, actor.org_id, definition, CrmRecord(crm["system"], crm["object"], crm["record_id"])
    )


def _by_idempotency_key(session: Session, actor: Actor, key: str) -> Envelope | None:
    return session.scalars(
        select(Envelope).where(Envelope.org_id == actor.org_id, Envelope.idempotency_key == key)
    ).first()


def _refuse_incomplete(evaluation: Any) -> None:
    problems = [
        {"path": f"fields.{i['field']}", "message": i["message"]} for i in evaluation.invalid
    ]
    problems += [
        {"path": f"fields.{m['field']}", "message": "is required"}
        for m in evaluation.missing
        if m["filled_by"] == "sender"
    ]
    if problems:
        raise Problem(
            422,
            "Invalid values",
            f"{problems[0]['path']}: {problems[0]['message']}",
            errors=problems,
        )


def _check_recipients(
    definition: TemplateDefinition, active_roles: list[str], specs: list[RecipientSpec]
) -> list[RecipientSpec]:
    roles = {r.key: r for r in definition.roles}
    errors = []
    for i, spec in enumerate(specs):
        path = f"recipients[{i}]"
        if spec.role not in roles:
            errors.append(
                {
                    "path": f"{path}.role",
                    "message": f"unknown role {spec.role!r}; roles are {', '.join(roles)}",
                }
            )
        elif spec.role not in active_roles:
            errors.append(
                {
                    "path": f"{path}.role",
                    "message": f"role {spec.role!r} does not take part with these values",
                }
            )
        if not EMAIL.match(spec.email.strip()):
            errors.append({"path": f"{path}.email", "message": "must be an email address"})
        if not spec.name.strip():
            errors.append({"path": f"{path}.name", "message": "is required"})
    named = {s.role for s in specs}
    for key in active_roles:
        if roles[key].kind != "cc" and key not in named:
            errors.append({"path": "recipients", "message": f"role {key!r} needs a recipient"})
    if errors:
        raise Problem(
            422, "Invalid recipients", f"{errors[0]['path']}: {errors[0]['message']}", errors=errors
        )
    return specs


def _crm_columns(crm: dict[str, str] | None) -> dict[str, Any]:
    if not crm:
        return {}
    return {
        "crm_system": crm.get("system"),
        "crm_object": crm.get("object"),
        "crm_record_id": crm.get("record_id"),
    }


def recipients_of(session: Session, envelope_id: uuid.UUID) -> list[Recipient]:
    return list(
        session.scalars(
            select(Recipient)
            .where(Recipient.envelope_id == envelope_id)
            .order_by(Recipient.routing_order, Recipient.created_at)
        )
    )


def current_order(recipients: list[Recipient]) -> int | None:
    """The lowest routing order that still has a signer or approver who has not finished."""
    pending = [r.routing_order for r in recipients if r.kind != "cc" and r.status not in FINISHED]
    return min(pending) if pending else None


def invite_next(session: Session, envelope: Envelope) -> list[Recipient]:
    """Invite every recipient of the current routing order who has not been invited yet."""
    recipients = recipients_of(session, envelope.id)
    order = current_order(recipients)
    invited = []
    for recipient in recipients:
        if (
            recipient.kind == "cc"
            or recipient.routing_order != order
            or recipient.status != RecipientStatus.CREATED
        ):
            continue
        recipient.status = RecipientStatus.SENT
        recipient.sent_at = utcnow()
        if recipient.delivery == "email":
            notify.send(session, "invitation", envelope, recipient)
        audit.record(
            session,
            org_id=envelope.org_id,
            envelope_id=envelope.id,
            action="invited",
            data={
                "recipient_id": str(recipient.id),
                "role": recipient.role_key,
                "email": recipient.email,
                "delivery": recipient.delivery,
            },
        )
        invited.append(recipient)
    session.flush()
    return invited


def void_envelope(
    session: Session, *, actor: Actor, envelope_id: Any, reason: str, trail: audit.Actor
) -> Envelope:
    actor.require(Role.ADMIN, Role.AGENT, doing="void envelopes")
    envelope = lock_envelope(session, get_envelope(session, actor, envelope_id).id)
    if envelope.status != OPEN:
        raise Problem(
            409,
            "Conflict",
            f"This envelope is {envelope.status}; only a sent envelope can be voided.",
        )
    envelope.status = EnvelopeStatus.VOIDED
    envelope.voided_at = utcnow()
    envelope.void_reason = reason
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action="voided",
        actor=trail,
        data={"reason": reason},
    )
    for recipient in recipients_of(session, envelope.id):
        if recipient.sent_at and recipient.status not in FINISHED and recipient.delivery == "email":
            notify.send(session, "voided", envelope, recipient)
    queue_status(session, envelope)
    session.flush()
    return envelope


def remind(
    session: Session, envelope: Envelope, *, trail: audit.Actor = audit.SYSTEM
) -> list[Recipient]:
    """Email every invited signer who has not finished again; returns who was reminded."""
    if envelope.status != OPEN:
        raise Problem(
            409, "Conflict", f"This envelope is {envelope.status}; there is nobody to remind."
        )
    reminded = []
    for recipient in recipients_of(session, envelope.id):
        if recipient.status in FINISHED or recipient.sent_at is None or recipient.kind == "cc":
            continue
        if recipient.delivery == "email":
            notify.send(session, "reminder", envelope, recipient)
        recipient.reminders_sent += 1
        recipient.last_reminded_at = utcnow()
        reminded.append(recipient)
    audit.record(
        session,
        org_id=envelope.org_id,
        envelope_id=envelope.id,
        action="reminded",
        actor=trail,
        data={"recipients": [str(r.id) for r in reminded]},
    )
    session.flush()
    return reminded


def send_due_reminders(session: Session, *, now: datetime | None = None) -> int:
    """The periodic job: remind envelopes whose reminder time has come, up to their maximum."""
    now = now or utcnow()
    due = session.scalars(
        select(Envelope.id)
        .where(Envelope.status == OPEN, Envelope.next_reminder_at <= now)
        .limit(500)
    ).all()
    count = 0
    for envelope_id in due:
        envelope = lock_envelope(session, envelope_id)
        hours = envelope.reminder_every_hours or DEFAULT_REMINDER_HOURS
        pending = [
            r
            for r in recipients_of(session, envelope.id)
            if r.sent_at and r.status not in FINISHED and r.kind != "cc"
        ]
        if pending and max(r.reminders_sent for r in pending) < envelope.max_reminders:
            remind(session, envelope)
            count += 1
        envelope.next_reminder_at = now + timedelta(hours=hours)
    return count


def expire_due(session: Session, *, now: datetime | None = None) -> int:
    """The periodic job: envelopes past their expiry date stop accepting signatures."""
    now = now or utcnow()
    due = session.scalars(
        select(Envelope.id).where(Envelope.status == OPEN, Envelope.expires_at <= now).limit(500)
    ).all()
    for envelope_id in due:
        envelope = lock_envelope(session, envelope_id)
        envelope.status = EnvelopeStatus.EXPIRED
        audit.record(
            session,
            org_id=envelope.org_id,
            envelope_id=envelope.id,
            action="expired",
            data={"expires_at": envelope.expires_at.isoformat() if envelope.expires_at else None},
        )
        queue_status(session, envelope)
    return len(due)
