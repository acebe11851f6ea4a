"""Throw-away databases for tests that need one of their own."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")


class created_postgres_database:  # noqa: N801 - used like a function
    """Create a uniquely named database on the server of ``server_url``; drop it on exit."""

    def __init__(self, server_url: str) -> None:
        base = make_url(server_url).set(drivername="postgresql+psycopg")
        self.name = f"countersign_test_{WORKER}_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(
            base.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
        )
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
