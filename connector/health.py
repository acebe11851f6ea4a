"""Liveness and readiness probes for load balancers and for `make run`."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from connector.db import get_db
from connector.storage import get_storage

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    checks: dict[str, Callable[[], None]] = {
        "database": lambda: get_db().ping(),
        "storage": lambda: get_storage().check_writable(),
    }
    redis_check = current_app.extensions.get("countersign.redis_ping")
    if redis_check is not None:
        checks["redis"] = redis_check
    results = {name: _run(check) for name, check in checks.items()}
    ready = all(result["status"] == "ok" for result in results.values())
    body = {"status": "ok" if ready else "unavailable", "checks": results}
    return jsonify(body), 200 if ready else 503


def _run(check: Callable[[], None]) -> dict[str, str]:
    try:
        check()
    except Exception as err:  # noqa: BLE001 - a failing dependency is a result, not a crash
        current_app.logger.warning("readiness check failed: %s", err)
        return {
            "status": "error",
            "error": str(err).splitlines()[0][:300] if str(err) else type(err).__name__,
        }
    return {"status": "ok"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
