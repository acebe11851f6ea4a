"""HTTP basics: probes, problem+json errors, request ids in logs, security headers."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.app import create_app
from connector.problems import Problem


def test_healthz_says_the_process_is_up(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_checks_every_dependency(client: FlaskClient, app: Flask) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    expected = {"database", "storage"} | (
        {"redis"} if "countersign.redis" in app.extensions else set()
    )
    assert set(response.json["checks"]) == expected
    assert all(check["status"] == "ok" for check in response.json["checks"].values())


def test_readyz_is_503_when_storage_is_not_writable(
    app_config: dict[str, Any], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    broken = create_app({**app_config, "STORAGE_URL": (blocker / "storage").as_uri()})

    response = broken.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["storage"]["status"] == "error"
    assert response.json["checks"]["database"] == {"status": "ok"}


def test_unknown_api_routes_and_methods_are_problems(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    wrong_method = client.delete("/api/v1/me")

    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert missing.json["title"] == "Not Found"
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"]
    assert wrong_method.mimetype == "application/problem+json"


def test_an_unexpected_error_is_a_500_problem_without_internals(
    app_config: dict[str, Any],
) -> None:
    app = create_app(app_config)

    @app.get("/api/v1/test-crash")
    def crash() -> None:
        raise KeyError("internal detail")

    response = app.test_client().get("/api/v1/test-crash")

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "internal detail" not in response.get_data(as_text=True)
    assert response.json["request_id"] == response.headers["X-Request-Id"]


def test_problem_keeps_its_field_errors(app_config: dict[str, Any]) -> None:
    app = create_app(app_config)

    @app.get("/api/v1/test-problem")
    def problem() -> None:
        raise Problem(409, "Conflict", "already voided", errors=[{"path": "id", "message": "x"}])

    body = app.test_client().get("/api/v1/test-problem").json
    assert body["errors"] == [{"path": "id", "message": "x"}]
    assert body["detail"] == "already voided"


def test_every_log_line_of_a_request_carries_its_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz", headers={"X-Request-Id": "req-from-the-edge-1"})

    assert response.headers["X-Request-Id"] == "req-from-the-edge-1"
    access = [r for r in caplog.records if r.name == "countersign.access"]
    assert access
    assert access[-1].request_id == "req-from-the-edge-1"
    assert "GET /healthz 200" in access[-1].getMessage()


def test_an_unsafe_request_id_is_replaced(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert response.headers["X-Request-Id"] != "<script>"
    assert len(response.headers["X-Request-Id"]) == 32


def test_production_logs_are_json_lines(
    app_config: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    production = create_app(
        {
            **app_config,
            "COUNTERSIGN_ENV": "production",
            "BASE_URL": "https://sign.example.com",
            "SECRET_KEY": "s" * 40,
            "MASTER_KEY": base64.b64encode(bytes(range(32))).decode(),
        }
    )
    production.test_client().get("/healthz", headers={"X-Request-Id": "json-line-check"})

    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("logger") == "countersign.access"]
    assert access[-1]["request_id"] == "json-line-check"
    assert access[-1]["status"] == 200
    assert access[-1]["level"] == "INFO"


def test_every_page_carries_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/api/v1/me", "/healthz"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
