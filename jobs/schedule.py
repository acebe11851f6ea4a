"""Periodic jobs, declared as data and run by RQ's own scheduler.

Each periodic job is enqueued for the next slot of its interval under a deterministic id
(``periodic-<name>-<slot>``), so any number of workers starting at once schedule it once; when it
runs it schedules its next slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue
from rq.job import Job

from jobs.registry import get_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    job: str
    every: timedelta


#: Every periodic job of the product. Add a line here to add one.
PERIODIC: tuple[Periodic, ...] = (
    Periodic("outbox.sweep", every=timedelta(minutes=1)),
    Periodic("envelopes.remind", every=timedelta(minutes=15)),
    Periodic("envelopes.expire", every=timedelta(minutes=15)),
)


def next_slot(every: timedelta, now: datetime) -> datetime:
    seconds = int(every.total_seconds())
    return datetime.fromtimestamp((int(now.timestamp()) // seconds + 1) * seconds, UTC)


def slot_job_id(periodic: Periodic, at: datetime) -> str:
    return f"periodic-{periodic.job.replace('.', '_')}-{int(at.timestamp())}"


def ensure_scheduled(connection: Redis, *, now: datetime | None = None) -> list[str]:
    """Schedule the next run of every periodic job that has none; returns the ids scheduled."""
    scheduled = []
    for periodic in PERIODIC:
        job_id = schedule_next(connection, periodic, now=now)
        if job_id:
            scheduled.append(job_id)
    return scheduled


def schedule_next(
    connection: Redis, periodic: Periodic, *, now: datetime | None = None
) -> str | None:
    at = next_slot(periodic.every, now or datetime.now(UTC))
    job_id = slot_job_id(periodic, at)
    if Job.exists(job_id, connection=connection):
        return None
    spec = get_spec(periodic.job)
    Queue(spec.queue, connection=connection).enqueue_at(
        at,
        run_periodic,
        periodic.job,
        job_id=job_id,
        job_timeout=spec.timeout,
        result_ttl=600,
        failure_ttl=24 * 3600,
        description=f"periodic {periodic.job}",
    )
    return job_id


def run_periodic(name: str) -> None:
    """RQ entry point for periodic jobs: schedule the next slot first, then run this one."""
    from rq import get_current_job

    from jobs.runner import run_job

    job = get_current_job()
    periodic = next(p for p in PERIODIC if p.job == name)
    if job is not None:
        schedule_next(job.connection, periodic)
    run_job(name)
