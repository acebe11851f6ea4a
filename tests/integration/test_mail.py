"""Mail: queued in the transaction, sent by a real SMTP server, or kept as .eml by default."""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy.orm import Session

from connector.db import commit
from connector.mail import SmtpMailer, queue_mail
from connector.models import OutboxStatus
from connector.problems import Problem
from tests.factories import make_org
from tests.support import free_port


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses nobody@…"""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def smtp_app(app: Flask, smtp_server: tuple[Inbox, int]) -> Iterator[Inbox]:
    """The app with its mailer pointed at the loopback SMTP server for this test."""
    inbox, port = smtp_server
    previous = app.extensions["countersign.mailer"]
    app.extensions["countersign.mailer"] = SmtpMailer(f"smtp://127.0.0.1:{port}")
    yield inbox
    app.extensions["countersign.mailer"] = previous


def test_queued_mail_is_sent_over_smtp_after_commit(
    smtp_app: Inbox, session: Session, run_jobs: Callable[[], int]
) -> None:
    org = make_org(session)
    queue_mail(
        session,
        org_id=org.id,
        to=["Customer <customer@example.com>"],
        subject="Please sign: SaaS amendment",
        text="Open the link to review and sign.",
        html="<p>Open the link to <b>review</b> and sign.</p>",
    )
    assert smtp_app.messages == [], "nothing leaves before the commit"
    commit(session)
    run_jobs()

    [received] = smtp_app.messages
    assert received["Subject"] == "Please sign: SaaS amendment"
    assert received["To"] == "Customer <customer@example.com>"
    assert received["From"] == "Countersign <no-reply@localhost>"
    assert (
        received.get_body(("plain",)).get_content().strip() == "Open the link to review and sign."
    )
    assert "<b>review</b>" in received.get_body(("html",)).get_content()
    assert smtp_app.envelopes[0].rcpt_tos == ["customer@example.com"]


def test_a_refused_recipient_is_a_permanent_failure(
    smtp_app: Inbox, session: Session, run_jobs: Callable[[], int]
) -> None:
    org = make_org(session)
    message = queue_mail(
        session, org_id=org.id, to=["nobody@example.com"], subject="Hello", text="x"
    )
    commit(session)
    run_jobs()

    session.refresh(message)
    assert message.status == OutboxStatus.FAILED
    assert "nobody@example.com" in message.last_error
    assert smtp_app.messages == []


def test_the_embedded_default_keeps_mail_as_eml_files(
    app: Flask, session: Session, run_jobs: Callable[[], int]
) -> None:
    folder = Path(app.extensions["countersign.settings"].mail_path)
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    org = make_org(session)
    queue_mail(session, org_id=org.id, to=["a@example.com"], subject="Kept locally", text="hi")
    commit(session)
    run_jobs()

    [written] = set(folder.glob("*.eml")) - before
    kept = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    assert kept["Subject"] == "Kept locally"
    assert oct(written.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("to", "subject", "detail"),
    [
        (["not-an-address"], "Hi", "to: 'not-an-address' is not an email address"),
        (["a@example.com\r\nBcc: x@evil.test"], "Hi", "is not an email address"),
        (["a@example.com"], "Hi\r\nBcc: x@evil.test", "subject: must be one line"),
    ],
)
def test_header_injection_and_bad_addresses_are_refused(
    session: Session, to: list[str], subject: str, detail: str
) -> None:
    org = make_org(session)
    with pytest.raises(Problem) as refused:
        queue_mail(session, org_id=org.id, to=to, subject=subject, text="x")
    assert detail in refused.value.detail
