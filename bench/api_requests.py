"""Authenticated API request cost: GET /api/v1/me against the /healthz baseline, same run.

Runs the app in-process (Flask test client) on a throw-away SQLite instance and prints
requests per second and latency percentiles for both, and the cost of authentication + one
query as the ratio between them. Usage: python bench/api_requests.py [--requests N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connector import migrate
from connector.app import create_app
from connector.db import unit_of_work
from connector.models import Role
from connector.orgs import create_api_key, create_org


def measure(client, path: str, headers: dict[str, str], count: int) -> list[float]:
    for _ in range(min(50, count)):  # warm-up
        client.get(path, headers=headers)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)
    return timings


def report(name: str, timings: list[float]) -> float:
    ordered = sorted(timings)
    rate = len(timings) / sum(timings)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    print(f"{name:<16} {rate:9.0f} req/s   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        database = f"sqlite:///{instance}/bench.db"
        migrate.upgrade(database)
        app = create_app(
            {"INSTANCE_PATH": instance, "DATABASE_URL": database, "LOG_LEVEL": "WARNING"}
        )
        with app.app_context(), unit_of_work() as session:
            _, key = create_api_key(
                session, org=create_org(session, slug="bench", name="Bench"), role=Role.ADMIN
            )
        client = app.test_client()
        print(f"{args.requests} sequential requests each, in-process, SQLite")
        baseline = report("GET /healthz", measure(client, "/healthz", {}, args.requests))
        me = report(
            "GET /api/v1/me",
            measure(client, "/api/v1/me", {"Authorization": f"Bearer {key}"}, args.requests),
        )
        print(f"authenticated request costs {baseline / me:.1f}x the baseline")


if __name__ == "__main__":
    main()
