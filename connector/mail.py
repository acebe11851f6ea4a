"""Outgoing mail: queued through the outbox, sent by SMTP, or kept as .eml files by default.

With SMTP_URL unset (the embedded default) every message is written to instance/mail/ so a
newcomer can open what would have been sent.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app
from sqlalchemy.orm import Session

from connector import outbox
from connector.models import OutboxMessage
from connector.problems import Problem

EXTENSION = "countersign.mailer"
MAIL_KIND = "mail.send"


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """SMTP with TLS: ``smtps://`` (implicit TLS) or ``smtp://`` (STARTTLS when offered)."""

    def __init__(self, url: str, *, timeout: float = 30) -> None:
        parts = urlsplit(url)
        self.implicit_tls = parts.scheme == "smtps"
        self.require_tls = parts.scheme == "smtp+starttls"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if not self.implicit_tls and (self.require_tls or client.has_extn("starttls")):
                client.starttls(context=context)
                client.ehlo()
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)


class LocalMailer:
    """Keeps each message as an .eml file (mode 0600) in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.folder / f"{uuid.uuid4().hex}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))


def build_message(
    payload: dict[str, Any],
    *,
    sender: str,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(payload["to"])
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].partition("@")[2] or None)
    if payload.get("reply_to"):
        message["Reply-To"] = payload["reply_to"]
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    for filename, content_type, content in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def queue_mail(
    session: Session,
    *,
    org_id: uuid.UUID,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    attachments: list[str] | None = None,
) -> OutboxMessage:
    """Record a message in the caller's transaction; it is sent after commit."""
    for address in to:
        if "@" not in parseaddr(address)[1] or any(c in address for c in "\r\n"):
            raise Problem(422, "Invalid input", f"to: {address!r} is not an email address")
    if any(c in subject for c in "\r\n"):
        raise Problem(422, "Invalid input", "subject: must be one line")
    payload = {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "reply_to": reply_to,
        "attachments": attachments or [],  # document ids, read and attached when sending
    }
    return outbox.record(session, org_id=org_id, kind=MAIL_KIND, payload=payload)


@outbox.register_handler(MAIL_KIND)
def deliver_mail(session: Session, message: OutboxMessage) -> None:
    settings = current_app.extensions["countersign.settings"]
    try:
        attached = _attachments(session, message)
        get_mailer().send(
            build_message(message.payload, sender=settings.mail_from, attachments=attached)
        )
    except smtplib.SMTPRecipientsRefused as err:
        raise outbox.PermanentFailure(f"recipients refused: {sorted(err.recipients)}") from err
    except smtplib.SMTPResponseException as err:
        if 500 <= err.smtp_code < 600:
            raise outbox.PermanentFailure(f"SMTP {err.smtp_code}: {err.smtp_error!r}") from err
        raise outbox.RetryLater(
            f"SMTP {err.smtp_code}: {err.smtp_error!r}", after=timedelta(minutes=5)
        ) from err


def _attachments(session: Session, message: OutboxMessage) -> list[tuple[str, str, bytes]]:
    from connector.documents import read_document
    from connector.models import Document

    attached = []
    for document_id in message.payload.get("attachments", []):
        document = session.get(Document, uuid.UUID(document_id))
        if document is None or document.org_id != message.org_id:
            raise outbox.PermanentFailure(f"attachment {document_id} no longer exists")
        attached.append((document.filename, document.content_type, read_document(document)))
    return attached


def get_mailer() -> Mailer:
    mailer: Mailer = current_app.extensions[EXTENSION]
    return mailer


def init_app(app: Flask) -> None:
    settings = app.extensions["countersign.settings"]
    app.extensions[EXTENSION] = (
        SmtpMailer(settings.smtp_url) if settings.smtp_url else LocalMailer(settings.mail_path)
    )
