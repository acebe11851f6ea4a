"""The emails an envelope sends, written to the outbox in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from connector.mail import queue_mail
from connector.models import Envelope, Org, Recipient, User
from connector.signing import tokens


def signing_link(recipient: Recipient) -> str:
    base_url = current_app.extensions["countersign.settings"].base_url
    token = tokens.issue("link", recipient_id=str(recipient.id), nonce=recipient.token_nonce)
    return f"{base_url}/s/{token}"


def _context(
    session: Session, envelope: Envelope, recipient: Recipient, **extra: Any
) -> dict[str, Any]:
    from connector.envelopes.documents import document_title

    org = session.get_one(Org, envelope.org_id)
    sender = session.get(User, envelope.sender_id) if envelope.sender_id else None
    return {
        "org_name": org.name,
        "sender_name": sender.name if sender else org.name,
        "recipient_name": recipient.name,
        "title": document_title(session, envelope),
        "message": envelope.message or "",
        "signing_url": None,
        "expires_at": envelope.expires_at.date().isoformat() if envelope.expires_at else None,
        "envelope_id": str(envelope.id),
        "decline_reason": None,
        "void_reason": envelope.void_reason,
        "decliner_name": None,
        "document_url": None,
        **extra,
    }


def send(
    session: Session,
    kind: str,
    envelope: Envelope,
    recipient: Recipient,
    *,
    attachments: list[str] | None = None,
    **extra: Any,
) -> None:
    """Queue email ``kind`` (invitation, reminder, completed, declined, voided) to ``recipient``."""
    from connector.mail_templates import render_email

    if kind in ("invitation", "reminder"):
        extra["signing_url"] = signing_link(recipient)
    subject, text, html = render_email(
        kind, recipient.locale, _context(session, envelope, recipient, **extra)
    )
    queue_mail(
        session,
        org_id=envelope.org_id,
        to=[f"{recipient.name} <{recipient.email}>"],
        subject=subject,
        text=text,
        html=html,
        attachments=attachments,
    )
