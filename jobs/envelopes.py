"""Envelope jobs: seal a completed envelope; send due reminders; expire overdue envelopes."""

from __future__ import annotations

import uuid

from connector.db import unit_of_work
from connector.envelopes import completion
from connector.envelopes import service as envelopes
from jobs.registry import job


@job("envelopes.seal", queue="default", timeout=300, retries=3, retry_intervals=(10, 60, 300))
def seal_envelope(envelope_id: str) -> str | None:
    with unit_of_work() as session:
        document = completion.seal_envelope(session, uuid.UUID(envelope_id))
        return document.sha256 if document else None


@job("envelopes.remind", queue="mail", timeout=300, retries=0)
def send_reminders() -> int:
    with unit_of_work() as session:
        return envelopes.send_due_reminders(session)


@job("envelopes.expire", queue="default", timeout=300, retries=0)
def expire_envelopes() -> int:
    with unit_of_work() as session:
        return envelopes.expire_due(session)
