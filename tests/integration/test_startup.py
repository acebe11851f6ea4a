"""Start-up as an operator sees it: real processes, real exit codes, one line per problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def start(project_root: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_", "REDIS_"))
    }
    return subprocess.run(
        [*FLASK, "db", "current"],
        cwd=project_root,
        env={**clean, "INSTANCE_PATH": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_malformed_database_url_stops_with_one_line(project_root: Path, tmp_path: Path) -> None:
    result = start(project_root, tmp_path, DATABASE_URL="mysql2://root@localhost/countersign")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "DATABASE_URL: unsupported scheme 'mysql2' (use postgresql or sqlite)"
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_a_silent_redis_stops_with_one_line(project_root: Path, tmp_path: Path) -> None:
    result = start(project_root, tmp_path, REDIS_URL="redis://127.0.0.1:1/0")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("REDIS_URL: no Redis answers at redis://127.0.0.1:1/0 (")
    assert "Traceback" not in result.stderr


def test_an_unreachable_postgres_stops_with_one_line(project_root: Path, tmp_path: Path) -> None:
    result = start(
        project_root, tmp_path, DATABASE_URL="postgresql://countersign:secret@127.0.0.1:1/cs"
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("DATABASE_URL: cannot connect to ")
    assert "secret" not in lines[0], "the password is masked"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PORT", "99999", "PORT: must be between 1 and 65535, not 99999"),
        ("MASTER_KEY", "not base64!", "MASTER_KEY: is not base64"),
        ("COUNTERSIGN_ENV", "staging", "COUNTERSIGN_ENV: must be 'development' or 'production'"),
    ],
)
def test_other_bad_values_name_the_variable(
    project_root: Path, tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = start(project_root, tmp_path, **{variable: value})
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_embedded_default_starts(project_root: Path, tmp_path: Path) -> None:
    result = start(project_root, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "db upgrade" in result.stdout  # an empty database says how to create the schema
