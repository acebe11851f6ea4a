"""Background jobs on RQ: queues, the job decorator, dispatch after commit, the worker.

With REDIS_URL unset (the embedded default) jobs run inline in the web process after commit.
"""

from __future__ import annotations

from flask import Flask
from redis import Redis

from connector.db import get_db
from jobs import envelopes, inline_scheduler, outbox  # noqa: F401 - modules register their jobs
from jobs.runner import RqDispatcher, run_inline

EXTENSION = "countersign.redis"


def redis_connection(url: str) -> Redis:
    return Redis.from_url(
        url, socket_connect_timeout=3, socket_timeout=30, health_check_interval=30
    )


def init_app(app: Flask) -> None:
    from jobs.cli import jobs_cli

    settings = app.extensions["countersign.settings"]
    if settings.redis_url is None:
        get_db(app).dispatcher = run_inline
        inline_scheduler.init_app(app)
    else:
        connection = redis_connection(settings.redis_url)
        app.extensions[EXTENSION] = connection
        app.extensions["countersign.redis_ping"] = connection.ping
        get_db(app).dispatcher = RqDispatcher(connection)
    app.cli.add_command(jobs_cli)


def get_redis(app: Flask) -> Redis | None:
    return app.extensions.get(EXTENSION)
