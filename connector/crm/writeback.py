"""Status write-back: each envelope change on a CRM record becomes an outbox message; a batch
handler delivers up to a batch per connection in one adapter call, coalescing per envelope."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from connector import outbox
from connector.crm.connections import connection_for, connection_info, store_credentials
from connector.documents import read_document
from connector.models import CrmConnection, DocumentKind, Envelope, OutboxMessage
from crm_adapters.base import (
    Attachment,
    CrmError,
    RateLimited,
    RecordRef,
    StatusUpdate,
    UpdateResult,
    adapter_for,
)

KIND = "crm.write_back"
SUMMARIES = {
    "sent": "Sent for signature.",
    "completed": "Signed by everyone; the sealed PDF is attached.",
    "declined": "Declined by a recipient.",
    "voided": "Voided by the sender.",
    "expired": "Expired before everyone signed.",
}


def queue_status(session: Session, envelope: Envelope) -> OutboxMessage | None:
    """Record the envelope's current status for its CRM record (if it has one and the org is
    connected). Only the newest pending status per envelope is ever delivered."""
    if not (envelope.crm_system and envelope.crm_record_id):
        return None
    connection = connection_for(session, envelope.org_id, envelope.crm_system)
    if connection is None:
        return None
    envelope.crm_connection_id = connection.id
    return outbox.record(
        session,
        org_id=envelope.org_id,
        kind=KIND,
        payload={"envelope_id": str(envelope.id), "status": envelope.status},
        coalesce_key=f"{connection.id}|{envelope.id}",
    )


@outbox.register_batch_handler(KIND, max_batch=200)
def deliver_status_batch(
    session: Session, messages: list[OutboxMessage]
) -> dict[uuid.UUID, outbox.Result]:
    """Deliver one connection's due status changes through its adapter, in batches it accepts."""
    connection_id = uuid.UUID(messages[0].coalesce_key.split("|")[0])  # type: ignore[union-attr]
    # One delivery per connection at a time: a rotating refresh token is used once, and the
    # CRM's rate limit is per account.
    locking = session.get_bind().dialect.name == "postgresql"
    connection = session.get(CrmConnection, connection_id, with_for_update=locking or None)
    if connection is None or connection.status != "connected":
        return {m.id: outbox.Result("failed", "the CRM connection was removed") for m in messages}
    refreshed: dict[str, Any] = {}
    adapter = adapter_for(connection_info(session, connection, refreshed))
    updates = {m.id: _update(session, m) for m in messages}
    results: dict[uuid.UUID, outbox.Result] = {}
    try:
        for start in range(0, len(messages), adapter.max_batch):
            chunk = [updates[m.id] for m in messages[start : start + adapter.max_batch]]
            for result in adapter.write_back(chunk):
                results[uuid.UUID(result.key)] = _result(result)
                _remember_resume(messages, result)
    except RateLimited as err:
        pending = {
            m.id: outbox.Result("retry", str(err), timedelta(seconds=err.retry_after))
            for m in messages
        }
        results = {**pending, **results}
    except CrmError as err:
        connection.last_error = str(err)[:2000]
        results = {**{m.id: outbox.Result("retry", str(err)) for m in messages}, **results}
    finally:
        if refreshed:
            store_credentials(connection, refreshed)
    for message in messages:
        _record_on_envelope(session, message, results.get(message.id))
    return results


def _update(session: Session, message: OutboxMessage) -> StatusUpdate:
    envelope = session.get_one(Envelope, uuid.UUID(message.payload["envelope_id"]))
    from connector.envelopes.documents import document_title, envelope_document

    status = message.payload["status"]
    attachment = None
    if status == "completed":
        final = envelope_document(session, envelope.id, DocumentKind.FINAL)
        if final is not None:
            attachment = Attachment(final.filename, final.content_type, read_document(final))
    base_url = current_app.extensions["countersign.settings"].base_url
    return StatusUpdate(
        key=str(message.id),
        envelope_id=str(envelope.id),
        record=RecordRef(
            envelope.crm_system or "", envelope.crm_object or "", envelope.crm_record_id or ""
        ),
        status=status,
        title=document_title(session, envelope),
        summary=SUMMARIES.get(status, status),
        envelope_url=f"{base_url}/api/v1/envelopes/{envelope.id}",
        sent_at=envelope.sent_at,
        completed_at=envelope.completed_at,
        attachment=attachment,
        attempt=message.attempts,
        resume=message.payload.get("resume"),
    )


def _remember_resume(messages: list[OutboxMessage], result: UpdateResult) -> None:
    """Keep what the next attempt needs to find out whether this one was applied."""
    message = next(m for m in messages if str(m.id) == result.key)
    resume = result.resume
    if resume is None and result.outcome == "retry":
        # Still unsure whether an earlier attempt landed: keep checking until one is known.
        resume = message.payload.get("resume")
    if message.payload.get("resume") != resume:
        message.payload = {**message.payload, "resume": resume}


def _result(result: UpdateResult) -> outbox.Result:
    after = timedelta(seconds=result.retry_after) if result.retry_after is not None else None
    return outbox.Result(result.outcome, result.error, after)


def _record_on_envelope(
    session: Session, message: OutboxMessage, result: outbox.Result | None
) -> None:
    """A permanent error stays visible on the envelope until a later delivery succeeds."""
    if result is None or result.outcome == "retry":
        return
    envelope = session.get(Envelope, uuid.UUID(message.payload["envelope_id"]))
    if envelope is not None:
        envelope.crm_error = None if result.outcome == "ok" else (result.error or "failed")[:2000]
