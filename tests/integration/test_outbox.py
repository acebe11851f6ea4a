"""The outbox: side effects delivered after commit, coalesced, retried politely, never lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from connector import outbox
from connector.db import commit
from connector.models import OutboxMessage, OutboxStatus, utcnow
from jobs.runner import run_job
from tests.factories import make_org

DELIVERED: list[dict[str, Any]] = []


@pytest.fixture(autouse=True)
def _echo_handler() -> Iterator[None]:
    @outbox.register_handler("crm.echo")
    def echo(session: Session, message: OutboxMessage) -> None:
        behaviour = message.payload.get("behaviour")
        if behaviour == "retry_later":
            raise outbox.RetryLater("429 Too Many Requests", after=timedelta(seconds=90))
        if behaviour == "gone":
            raise outbox.PermanentFailure("ticket 42 was deleted")
        if behaviour == "boom":
            raise ConnectionError("connection reset")
        DELIVERED.append(message.payload)

    DELIVERED.clear()
    yield
    outbox.HANDLERS.pop("crm.echo", None)


def record(session: Session, payload: dict[str, Any], key: str | None = None) -> OutboxMessage:
    org = make_org(session)
    message = outbox.record(
        session, org_id=org.id, kind="crm.echo", payload=payload, coalesce_key=key
    )
    commit(session)
    return message


def test_a_message_is_delivered_after_commit(session: Session, run_jobs: Callable[[], int]) -> None:
    message = record(session, {"status": "sent"})
    run_jobs()

    session.refresh(message)
    assert DELIVERED == [{"status": "sent"}]
    assert message.status == OutboxStatus.DELIVERED
    assert message.attempts == 1


def test_updates_for_one_record_coalesce(session: Session, run_jobs: Callable[[], int]) -> None:
    org = make_org(session)
    first = outbox.record(
        session, org_id=org.id, kind="crm.echo", payload={"status": "sent"}, coalesce_key="t:1"
    )
    latest = outbox.record(
        session, org_id=org.id, kind="crm.echo", payload={"status": "signed"}, coalesce_key="t:1"
    )
    commit(session)
    run_jobs()

    session.refresh(first)
    session.refresh(latest)
    assert DELIVERED == [{"status": "signed"}], "only the latest state is sent"
    assert (first.status, latest.status) == (OutboxStatus.SUPERSEDED, OutboxStatus.DELIVERED)


def test_retry_after_reschedules_without_sleeping(
    session: Session, run_jobs: Callable[[], int]
) -> None:
    message = record(session, {"behaviour": "retry_later"})
    run_jobs()
    session.refresh(message)

    assert message.status == OutboxStatus.PENDING
    assert message.last_error == "429 Too Many Requests"
    wait = message.next_attempt_at - utcnow()
    assert timedelta(seconds=60) < wait <= timedelta(seconds=90)
    assert outbox.sweep(session) == 0, "not due yet"
    assert outbox.sweep(session, now=utcnow() + timedelta(seconds=91)) == 1


def test_a_permanent_error_is_recorded_and_not_retried(
    session: Session, run_jobs: Callable[[], int]
) -> None:
    message = record(session, {"behaviour": "gone"})
    run_jobs()
    session.refresh(message)

    assert message.status == OutboxStatus.FAILED
    assert message.last_error == "ticket 42 was deleted"
    assert outbox.sweep(session, now=utcnow() + timedelta(days=1)) == 0


def test_unexpected_errors_back_off_then_give_up(
    session: Session, run_jobs: Callable[[], int]
) -> None:
    message = record(session, {"behaviour": "boom"})
    run_jobs()
    session.refresh(message)
    assert message.status == OutboxStatus.PENDING
    assert message.last_error == "ConnectionError: connection reset"
    delays = [message.next_attempt_at - utcnow()]

    while message.status == OutboxStatus.PENDING:
        outbox.deliver(session, message.id, now=message.next_attempt_at)
        delays.append(message.next_attempt_at - utcnow())
    commit(session)

    assert message.attempts == outbox.MAX_ATTEMPTS
    assert message.status == OutboxStatus.FAILED
    assert message.last_error.startswith(
        f"gave up after {outbox.MAX_ATTEMPTS} attempts: ConnectionError"
    )
    assert delays[0] <= timedelta(seconds=30)
    assert delays[-2] > timedelta(hours=2), "the delay grows exponentially up to a cap"


def test_the_sweep_delivers_what_a_lost_queue_forgot(
    session: Session, run_jobs: Callable[[], int]
) -> None:
    org = make_org(session)
    # Written without requesting delivery, as if Redis lost the job after the commit.
    session.add(OutboxMessage(org_id=org.id, kind="crm.echo", payload={"status": "completed"}))
    commit(session)

    run_job("outbox.sweep")
    run_jobs()

    assert DELIVERED == [{"status": "completed"}]


def test_a_message_without_handler_fails_visibly(session: Session) -> None:
    org = make_org(session)
    message = OutboxMessage(org_id=org.id, kind="carrier.pigeon", payload={})
    session.add(message)
    commit(session)

    outbox.deliver(session, message.id)

    assert message.status == OutboxStatus.FAILED
    assert message.last_error == "no handler for messages of kind 'carrier.pigeon'"
