"""Jobs: requested inside a transaction, run only after it commits, dropped on rollback."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import migrate
from connector.db import commit, unit_of_work
from connector.jobs_port import JobRequest, request_job
from connector.models import Team
from jobs.registry import JOBS, job
from jobs.runner import enqueue
from jobs.schedule import PERIODIC, ensure_scheduled
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_org

needs_redis = pytest.mark.skipif(not TEST_REDIS_URL, reason="needs TEST_REDIS_URL (RQ)")
ATTEMPTS: list[str] = []


@pytest.fixture(autouse=True)
def _test_jobs() -> Iterator[None]:
    @job("test.add_team", queue="bulk", timeout=30, ttl=600, retries=2, retry_intervals=(0, 0))
    def add_team(org_id: str, name: str) -> None:
        with unit_of_work() as session:
            session.add(Team(org_id=uuid.UUID(org_id), name=name))

    @job("test.flaky", queue="default", retries=1, retry_intervals=(0,))
    def flaky(marker: str) -> str:
        ATTEMPTS.append(marker)
        if len(ATTEMPTS) == 1:
            raise RuntimeError("first attempt fails")
        return "ok"

    ATTEMPTS.clear()
    yield
    for name in ("test.add_team", "test.flaky"):
        JOBS.pop(name, None)


def team_names(session: Session) -> list[str]:
    return list(session.scalars(select(Team.name).order_by(Team.name)))


def test_a_job_runs_after_the_commit(
    app: Flask, session: Session, run_jobs: Callable[[], int]
) -> None:
    org = make_org(session)
    request_job(session, "test.add_team", str(org.id), "Night shift")
    assert team_names(session) == [], "nothing runs before the commit"

    commit(session)
    if TEST_REDIS_URL:  # on RQ the job waits in its queue for a worker
        assert team_names(session) == []
        assert Queue("bulk", connection=app.extensions["countersign.redis"]).count == 1
    run_jobs()

    assert team_names(session) == ["Night shift"]


def test_a_rolled_back_transaction_sends_no_job(
    app: Flask, session: Session, run_jobs: Callable[[], int]
) -> None:
    org = make_org(session)
    request_job(session, "test.add_team", str(org.id), "Never")
    session.rollback()
    commit(session)

    assert run_jobs() == 0
    assert team_names(session) == []


@needs_redis
def test_the_decorator_sets_queue_timeout_ttl_and_retries(app: Flask) -> None:
    redis: Redis = app.extensions["countersign.redis"]
    queued = enqueue(redis, JobRequest("test.add_team", ("x", "y"), job_id="team-x"))

    assert queued is not None
    assert (queued.origin, queued.timeout, queued.ttl, queued.retries_left) == ("bulk", 30, 600, 2)
    assert enqueue(redis, JobRequest("test.add_team", ("x", "y"), job_id="team-x")) is None, (
        "a live job with the same id is not enqueued twice"
    )


@needs_redis
def test_a_failing_job_is_retried_by_rq(app: Flask, run_jobs: Callable[[], int]) -> None:
    redis: Redis = app.extensions["countersign.redis"]
    queued = enqueue(redis, JobRequest("test.flaky", ("m",), job_id="flaky-1"))
    assert queued is not None

    run_jobs()

    assert ATTEMPTS == ["m", "m"]
    assert queued.get_status(refresh=True) == "finished"


@needs_redis
def test_periodic_jobs_are_scheduled_once(app: Flask) -> None:
    redis: Redis = app.extensions["countersign.redis"]
    now = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)

    first = ensure_scheduled(redis, now=now)
    second = ensure_scheduled(redis, now=now)

    assert len(first) == len(PERIODIC)
    assert second == [], "several workers starting at once schedule each slot once"
    scheduled = ScheduledJobRegistry("default", connection=redis).get_job_ids()
    assert "periodic-outbox_sweep-1796040060" in scheduled  # 12:01:00 UTC, the next minute


@needs_redis
def test_the_worker_command_runs_queued_jobs(project_root: Path, tmp_path: Path) -> None:
    """A real `flask jobs worker --burst` process against its own database and Redis."""
    database = f"sqlite:///{tmp_path / 'worker.db'}"
    migrate.upgrade(database)
    redis_url = TEST_REDIS_URL.rsplit("/", 1)[0] + "/9"
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    enqueue(redis, JobRequest("outbox.sweep", (), job_id="sweep-now"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEST_")},
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(tmp_path),
    }

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--burst"],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "sweep-now" in FinishedJobRegistry("default", connection=redis).get_job_ids()
    assert any(
        j.startswith("periodic-outbox_sweep-")
        for j in ScheduledJobRegistry("default", connection=redis).get_job_ids()
    )
    redis.flushdb()


def test_the_worker_command_needs_redis(project_root: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--burst"],
        cwd=project_root,
        env={**env, "INSTANCE_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: REDIS_URL is not set: jobs run inline in the web process; set it to run workers"
    )


def test_the_embedded_default_runs_periodic_jobs_in_process(app: Flask) -> None:
    """Without Redis, a thread in the web process runs the schedule; here its ticks by hand."""
    from jobs.inline_scheduler import InlineScheduler
    from jobs.schedule import Periodic

    job("test.tick")(lambda: ATTEMPTS.append("tick"))
    scheduler = InlineScheduler(app, (Periodic("test.tick", every=timedelta(minutes=1)),))
    start = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
    scheduler.due = {"test.tick": datetime(2026, 11, 30, 12, 1, tzinfo=UTC)}

    assert scheduler.tick(start) == []
    assert scheduler.tick(start + timedelta(seconds=31)) == ["test.tick"]
    assert scheduler.tick(start + timedelta(seconds=40)) == [], "once per slot"
    assert scheduler.tick(start + timedelta(seconds=91)) == ["test.tick"]
    assert ATTEMPTS == ["tick", "tick"]
    JOBS.pop("test.tick")
