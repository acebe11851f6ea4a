"""The transactional outbox: external side effects recorded with the change, delivered after.

An operation calls :func:`record` in its transaction. After commit a job delivers the message
through the handler registered for its kind (CRM write-back, mail, webhooks register theirs).
A periodic sweep re-requests anything still due, so a lost queue or a killed worker loses nothing.
Handlers must be idempotent: a message may be delivered twice, never zero times.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.jobs_port import request_job
from connector.models import OutboxMessage, OutboxStatus, utcnow

Handler = Callable[[Session, OutboxMessage], None]
HANDLERS: dict[str, Handler] = {}


@dataclass(frozen=True)
class Result:
    """What happened to one message of a batch."""

    outcome: str  # ok | retry | failed
    error: str | None = None
    retry_after: timedelta | None = None


BatchHandler = Callable[[Session, list[OutboxMessage]], dict[uuid.UUID, Result]]


@dataclass(frozen=True)
class BatchKind:
    """Messages of a kind delivered together, per group (e.g. one CRM connection): the group is
    the part of the coalesce key before ``|``."""

    handler: BatchHandler
    max_batch: int


BATCH_HANDLERS: dict[str, BatchKind] = {}
MAX_ATTEMPTS = 30  # about five days at the six-hour cap: a CRM outage loses nothing
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
SWEEP_BATCH = 500
#: Delivery runs on the queue named by the kind's first part (``crm.write_back`` → crm).
DELIVERY_QUEUES = ("crm", "mail", "webhooks")


class RetryLater(Exception):
    """The receiver asked us to wait (429 Retry-After, REQUEST_LIMIT_EXCEEDED...)."""

    def __init__(self, message: str, *, after: timedelta) -> None:
        super().__init__(message)
        self.after = after


class PermanentFailure(Exception):
    """Retrying cannot help (the record is gone, a field is missing): record it and stop."""


def register_batch_handler(kind: str, *, max_batch: int) -> Callable[[BatchHandler], BatchHandler]:
    def decorator(handler: BatchHandler) -> BatchHandler:
        BATCH_HANDLERS[kind] = BatchKind(handler, max_batch)
        return handler

    return decorator


def register_handler(kind: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return decorator


def record(
    session: Session,
    *,
    org_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    coalesce_key: str | None = None,
) -> OutboxMessage:
    """Write a message in the caller's transaction; its delivery is requested for after commit."""
    if coalesce_key is not None:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.org_id == org_id,
                OutboxMessage.kind == kind,
                OutboxMessage.coalesce_key == coalesce_key,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SUPERSEDED, updated_at=utcnow())
        )
    message = OutboxMessage(org_id=org_id, kind=kind, payload=payload, coalesce_key=coalesce_key)
    session.add(message)
    session.flush()
    _request_delivery(session, message.id, kind, coalesce_key)
    return message


def delivery_job(kind: str) -> str:
    """The job name that delivers messages of ``kind``."""
    queue = kind.split(".", 1)[0]
    return f"outbox.deliver.{queue if queue in DELIVERY_QUEUES else 'default'}"


def _request_delivery(
    session: Session, message_id: uuid.UUID, kind: str, coalesce_key: str | None
) -> None:
    if kind in BATCH_HANDLERS and coalesce_key and "|" in coalesce_key:
        # One live job per group: it delivers every due message of the group.
        job_id = f"outbox-{kind.replace('.', '_')}-{_group(coalesce_key)}"
    else:
        job_id = f"outbox-{message_id}"
    request_job(session, delivery_job(kind), str(message_id), job_id=job_id)


def _group(coalesce_key: str) -> str:
    return coalesce_key.split("|", 1)[0]


def deliver(session: Session, message_id: uuid.UUID | str, *, now: datetime | None = None) -> str:
    """Deliver one message if it is still pending and due; returns its status afterwards."""
    now = now or utcnow()
    statement = select(OutboxMessage).where(OutboxMessage.id == uuid.UUID(str(message_id)))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    message = session.scalars(statement).first()
    if message is not None and message.kind in BATCH_HANDLERS and message.coalesce_key:
        return deliver_group(session, message.kind, _group(message.coalesce_key), now=now)
    if message is None or message.status != OutboxStatus.PENDING or message.next_attempt_at > now:
        return message.status if message else "missing"
    handler = HANDLERS.get(message.kind)
    if handler is None:
        _fail(message, f"no handler for messages of kind {message.kind!r}")
        return message.status
    message.attempts += 1
    failure = _run_handler(session, lambda: handler(session, message))
    _apply(message, failure or Result("ok"), now)
    session.flush()
    return message.status


def deliver_group(session: Session, kind: str, group: str, *, now: datetime | None = None) -> str:
    """Deliver up to a batch of due messages of ``kind`` in ``group`` with one handler call;
    returns a summary such as ``"3 ok, 1 retry"``."""
    now = now or utcnow()
    spec = BATCH_HANDLERS[kind]
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == kind,
            OutboxMessage.coalesce_key.startswith(f"{group}|", autoescape=True),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.created_at)
        .limit(spec.max_batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    messages = list(session.scalars(statement))
    if not messages:
        return "0 due"
    for message in messages:
        message.attempts += 1
    results: dict[uuid.UUID, Result] = {}
    failure = _run_handler(session, lambda: results.update(spec.handler(session, messages)))
    if failure is not None:
        results = {m.id: failure for m in messages}
    counts: dict[str, int] = {}
    for message in messages:
        result = results.get(message.id, Result("retry", "no result for this message"))
        _apply(message, result, now)
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    session.flush()
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))


def _run_handler(session: Session, run: Callable[[], object]) -> Result | None:
    """Run a handler in a savepoint; None when it returned, else what its exception means."""
    try:
        with session.begin_nested():
            run()
    except RetryLater as err:
        return Result("retry", str(err), err.after)
    except PermanentFailure as err:
        return Result("failed", str(err))
    except Exception as err:  # noqa: BLE001 - any other error is retried with backoff
        return Result("retry", f"{type(err).__name__}: {err}")
    return None


def _apply(message: OutboxMessage, result: Result, now: datetime) -> None:
    if result.outcome == "ok":
        message.status = OutboxStatus.DELIVERED
        message.delivered_at = now
        message.last_error = None
    elif result.outcome == "failed":
        _fail(message, result.error or "failed")
    elif result.retry_after is not None:
        message.next_attempt_at = now + result.retry_after
        message.last_error = (result.error or "retry later")[:2000]
    else:
        _retry_with_backoff(message, now, result.error or "retry")


def sweep(session: Session, *, now: datetime | None = None) -> int:
    """Request delivery of every pending message that is due; returns how many."""
    due = session.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.coalesce_key)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= (now or utcnow()),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    for message_id, kind, coalesce_key in due:
        _request_delivery(session, message_id, kind, coalesce_key)
    return len(due)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter between half and the whole delay."""
    delay = min(BASE_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return delay * random.uniform(0.5, 1.0)


def _retry_with_backoff(message: OutboxMessage, now: datetime, error: str) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        _fail(message, f"gave up after {message.attempts} attempts: {error}")
        return
    message.next_attempt_at = now + backoff(message.attempts)
    message.last_error = error[:2000]


def _fail(message: OutboxMessage, error: str) -> None:
    message.status = OutboxStatus.FAILED
    message.last_error = error[:2000]
