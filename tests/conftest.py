"""Test wiring: PostgreSQL and Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set, else SQLite.

The schema is built by the Alembic migrations (never create_all); each test runs inside a
transaction with a savepoint per commit, rolled back at the end. With Redis, jobs go to real RQ
queues and an in-process SimpleWorker runs them (``run_jobs``); without, they run inline.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import SimpleWorker
from sqlalchemy.orm import Session, sessionmaker

from connector import migrate
from connector.app import create_app
from connector.db import CountersignSession, commit, get_db
from jobs.registry import QUEUES
from tests.databases import created_postgres_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def pytest_report_header(config: pytest.Config) -> str:
    if TEST_DATABASE_URL or TEST_REDIS_URL:
        database = "PostgreSQL" if TEST_DATABASE_URL else "SQLite"
        jobs = "RQ on Redis" if TEST_REDIS_URL else "inline jobs"
        return f"countersign: {database} and {jobs}"
    return (
        "countersign: SQLite with inline jobs "
        "(set TEST_DATABASE_URL and TEST_REDIS_URL to test on PostgreSQL and Redis)"
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this test session, its schema built by the migrations."""
    if TEST_DATABASE_URL:
        with created_postgres_database(TEST_DATABASE_URL) as url:
            migrate.upgrade(url)
            yield url
        return
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    yield url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    """A Redis database of its own per xdist worker (index 1 + worker number)."""
    if not TEST_REDIS_URL:
        return None
    index = 1 + int(WORKER.removeprefix("gw") or 0)
    return urlsplit(TEST_REDIS_URL)._replace(path=f"/{index}").geturl()


@pytest.fixture(scope="session")
def app_config(
    database_url: str, redis_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "TESTING": True,
        "CRM_SANDBOX": "off",
    }


@pytest.fixture(scope="session")
def app(app_config: dict[str, Any]) -> Flask:
    return create_app(app_config)


@pytest.fixture(autouse=True)
def _transaction_per_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Bind the app's sessions to one connection whose transaction is rolled back afterwards."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    database = get_db(app)
    original = database.sessionmaker
    connection = database.engine.connect()
    transaction = connection.begin()
    database.sessionmaker = sessionmaker(
        bind=connection,
        class_=CountersignSession,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )
    redis = app.extensions.get("countersign.redis")
    if redis is not None:
        redis.flushdb()
    try:
        yield
    finally:
        database.sessionmaker = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session for arranging and checking data, in the test's transaction."""
    with app.app_context():
        db_session = get_db(app).session()
        yield db_session
        db_session.close()


@pytest.fixture
def save(session: Session) -> Callable[..., Any]:
    """Add rows and commit them (through the one commit), returning the first."""

    def _save(*rows: Any) -> Any:
        session.add_all(rows)
        commit(session)
        return rows[0] if rows else None

    return _save


@pytest.fixture
def run_jobs(app: Flask) -> Callable[[], int]:
    """Run every queued job to completion with an in-process RQ worker; inline mode has none."""

    def _run() -> int:
        redis: Redis | None = app.extensions.get("countersign.redis")
        if redis is None:
            return 0
        worker = SimpleWorker(list(QUEUES), connection=redis)
        with app.app_context():
            worker.work(burst=True, with_scheduler=False)
        return worker.successful_job_count + worker.failed_job_count

    return _run


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
