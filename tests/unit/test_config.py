"""Configuration: the embedded default, and one clear line per problem."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from connector.config import ConfigError, load_settings, mask_url


def problems_of(env: dict[str, str], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings({"INSTANCE_PATH": str(tmp_path), **env})
    return caught.value.problems


def test_no_variables_gives_the_embedded_default(tmp_path: Path) -> None:
    settings = load_settings({"INSTANCE_PATH": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path / 'countersign.db'}"
    assert settings.jobs_inline
    assert settings.storage_path == tmp_path / "storage"
    assert settings.smtp_url is None
    assert settings.base_url == "http://127.0.0.1:5000"
    assert settings.log_format == "text"
    assert len(settings.master_key) == 32


def test_generated_secrets_are_private_and_stable(tmp_path: Path) -> None:
    first = load_settings({"INSTANCE_PATH": str(tmp_path)})
    second = load_settings({"INSTANCE_PATH": str(tmp_path)})

    assert (first.secret_key, first.master_key) == (second.secret_key, second.master_key)
    for name in ("secret_key", "master_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_unsupported_database_scheme_is_named(tmp_path: Path) -> None:
    assert problems_of({"DATABASE_URL": "mysql2://u@h/db"}, tmp_path) == [
        "DATABASE_URL: unsupported scheme 'mysql2' (use postgresql or sqlite)"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = problems_of(
        {
            "DATABASE_URL": "not a url",
            "PORT": "eighty",
            "MASTER_KEY": base64.b64encode(b"short").decode(),
            "REDIS_URL": "http://localhost",
            "STORAGE_URL": "ftp://bucket",
        },
        tmp_path,
    )
    assert [p.split(":")[0] for p in problems] == [
        "PORT",
        "DATABASE_URL",
        "REDIS_URL",
        "STORAGE_URL",
        "MASTER_KEY",
    ]
    assert "PORT: must be a whole number, not 'eighty'" in problems
    assert "MASTER_KEY: must decode to 32 bytes, not 5" in problems


def test_production_requires_its_secrets_and_address(tmp_path: Path) -> None:
    problems = problems_of({"COUNTERSIGN_ENV": "production"}, tmp_path)
    assert {p.split(":")[0] for p in problems} == {"BASE_URL", "SECRET_KEY", "MASTER_KEY"}
    assert not (tmp_path / "secret_key").exists(), "production never generates secrets"


def test_production_logs_json_and_postgres_url_is_normalised(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "INSTANCE_PATH": str(tmp_path),
            "COUNTERSIGN_ENV": "production",
            "BASE_URL": "https://sign.example.com/",
            "SECRET_KEY": "x" * 40,
            "MASTER_KEY": base64.b64encode(bytes(32)).decode(),
            "DATABASE_URL": "postgres://app:pw@db:5432/countersign",
        }
    )
    assert settings.log_format == "json"
    assert settings.base_url == "https://sign.example.com"
    assert settings.database_url == "postgresql+psycopg://app:pw@db:5432/countersign"
    assert settings.describe()["database"] == "postgresql+psycopg://app:***@db:5432/countersign"


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("redis://:hunter22@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
