"""The migrations are the schema: one head, in step with the models, reversible."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from connector import migrate
from connector.models import Base
from tests.conftest import TEST_DATABASE_URL
from tests.databases import created_postgres_database


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    if TEST_DATABASE_URL:
        with created_postgres_database(TEST_DATABASE_URL) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


def test_there_is_one_head() -> None:
    assert len(migrate.heads()) == 1


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], "run: flask --app wsgi db revision -m '…' and review the file"


def test_upgrade_downgrade_upgrade_round_trip(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")
    engine = create_engine(empty_database, poolclass=pool.NullPool)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_database)
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    engine.dispose()


def test_migrations_import_only_op_and_sa() -> None:
    for path in (Path(migrate.MIGRATIONS) / "versions").glob("*.py"):
        imports = [
            line for line in path.read_text().splitlines() if line.startswith(("import", "from"))
        ]
        assert imports == ["import sqlalchemy as sa", "from alembic import op"], path.name
