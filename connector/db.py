"""The database: engine, sessions and the one place that commits.

A request or a job gets one session; operations only flush. :func:`commit` commits, then hands the
jobs requested during the transaction to the dispatcher, so no job ever sees uncommitted state and
a rollback drops them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from connector.jobs_port import COMMITTED, PENDING, Dispatcher, JobRequest

EXTENSION = "countersign.db"


class CountersignSession(Session):
    """A session that remembers the jobs requested inside its transaction."""


@event.listens_for(CountersignSession, "after_commit")
def _jobs_committed(session: Session) -> None:
    pending = session.info.pop(PENDING, [])
    session.info.setdefault(COMMITTED, []).extend(pending)


@event.listens_for(CountersignSession, "after_soft_rollback")
def _jobs_dropped(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(PENDING, None)


class Database:
    """The engine and session factory of one app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.sessionmaker = sessionmaker(
            bind=self.engine, class_=CountersignSession, expire_on_commit=False
        )
        self.dispatcher: Dispatcher = _no_dispatcher

    def session(self) -> Session:
        return self.sessionmaker()

    def ping(self) -> None:
        with self.engine.connect().execution_options(readonly=True) as connection:
            connection.execute(text("SELECT 1"))


def _no_dispatcher(requests: Any) -> None:
    raise RuntimeError("jobs were requested before a dispatcher was installed")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT, so SQLAlchemy emits BEGIN itself;
        # IMMEDIATE takes the write lock up front, so two writers queue instead of one failing.
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"connect_timeout": 5},
        )
    # A forked RQ work horse must not reuse the parent's sockets.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return engine


def _sqlite_begin(connection: Any) -> None:
    readonly = connection.get_execution_options().get("readonly", False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Database(app.extensions["countersign.settings"].database_url)
    app.after_request(_finish_request)
    app.teardown_appcontext(_close_request_session)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[EXTENSION]


def request_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    return g.db_session


def commit(session: Session) -> None:
    """Commit, then dispatch the jobs the transaction requested. The only commit in the code."""
    session.commit()
    requests: list[JobRequest] = session.info.pop(COMMITTED, [])
    if requests:
        get_db().dispatcher(requests)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session for a job or a CLI verb: committed when the block succeeds, else rolled back."""
    session = get_db().session()
    try:
        yield session
        commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _finish_request(response: Response) -> Response:
    session = g.pop("db_session", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            commit(session)
        else:
            session.rollback()
    finally:
        session.close()
    return response


def _close_request_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
