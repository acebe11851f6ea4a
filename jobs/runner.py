"""Running jobs: the RQ entry point, inline execution, and dispatch after commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from connector.jobs_port import JobRequest
from jobs.registry import get_spec

log = logging.getLogger(__name__)
_worker_app: Flask | None = None
LIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def run_job(name: str, *args: Any) -> Any:
    """What RQ calls: find the job by name and run it inside an application context."""
    if has_app_context():
        return get_spec(name).func(*args)
    with _app_for_worker().app_context():
        return get_spec(name).func(*args)


def _app_for_worker() -> Flask:
    global _worker_app
    if _worker_app is None:
        from connector.app import create_app

        _worker_app = create_app()
    return _worker_app


def run_inline(requests: Sequence[JobRequest]) -> None:
    """The embedded default: run each job now, after the commit, in this process."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for req in requests:
        try:
            with app.app_context():
                get_spec(req.name).func(*req.args)
        except Exception:
            # The outbox sweep retries whatever this left undelivered.
            log.exception("inline job %s%r failed", req.name, req.args)


def enqueue(connection: Redis, req: JobRequest) -> Job | None:
    """Put one job on its RQ queue; a live job with the same id is not enqueued twice."""
    spec = get_spec(req.name)
    job_id = req.job_id
    if job_id is not None:
        try:
            existing = Job.fetch(job_id, connection=connection)
            if existing.get_status(refresh=False) in LIVE:
                return None
        except NoSuchJobError:
            pass
    queue = Queue(spec.queue, connection=connection)
    return queue.enqueue(
        run_job,
        spec.name,
        *req.args,
        job_id=job_id,
        job_timeout=spec.timeout,
        ttl=spec.ttl,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        retry=Retry(max=spec.retries, interval=list(spec.retry_intervals))
        if spec.retries
        else None,
        description=f"{spec.name}{req.args!r}",
    )


class RqDispatcher:
    """Dispatcher for production: enqueue on RQ after commit."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def __call__(self, requests: Sequence[JobRequest]) -> None:
        for req in requests:
            enqueue(self.connection, req)
