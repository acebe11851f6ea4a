"""Jobs that deliver the outbox and sweep up whatever is still due."""

from __future__ import annotations

from connector import outbox
from connector.db import unit_of_work
from jobs.registry import job


def deliver_outbox_message(message_id: str) -> str:
    with unit_of_work() as session:
        return outbox.deliver(session, message_id)


# One delivery job per queue, so a slow CRM never holds up mail. No RQ retries: the message row
# carries its own backoff and the sweep requests it again when it is due.
for _queue in (*outbox.DELIVERY_QUEUES, "default"):
    job(f"outbox.deliver.{_queue}", queue=_queue, timeout=120, retries=0)(deliver_outbox_message)


@job("outbox.sweep", queue="default", timeout=120, retries=0)
def sweep_outbox() -> int:
    with unit_of_work() as session:
        return outbox.sweep(session)
