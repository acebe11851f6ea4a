"""The application factory: a short list of init_app calls.

This is the composition root, so it alone wires the outer packages (jobs, embed_ui) to the core.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from connector import api, cli, db, health, logs, mail, problems, storage
from connector.config import ConfigError, Settings, load_settings, mask_url
from connector.security import headers


def create_app(config_override: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment (and ``config_override``, for tests and tools).

    A configuration problem stops start-up: one line per problem on stderr, exit code 2.
    """
    try:
        settings = load_settings(override=config_override)
        check_services(settings)
    except ConfigError as err:
        for line in err.problems:
            print(line, file=sys.stderr)
        raise SystemExit(2) from None

    import embed_ui
    import jobs
    from crm_adapters.sandbox import embedded as crm_sandbox

    app = Flask("connector", instance_path=str(settings.instance_path), static_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        TESTING=settings.testing,
    )
    app.extensions["countersign.settings"] = settings
    if settings.production:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    from manifests.cli import manifests_cli

    app.cli.add_command(manifests_cli)
    modules = (
        logs,
        headers,
        problems,
        db,
        storage,
        mail,
        jobs,
        health,
        api,
        embed_ui,
        cli,
        crm_sandbox,
    )
    for module in modules:
        module.init_app(app)
    return app


def check_services(settings: Settings) -> None:
    """Fail fast when the database or Redis named in the settings does not answer."""
    problems: list[str] = []
    if settings.database_url.startswith("postgresql"):
        problem = _check_postgres(settings.database_url)
        if problem:
            problems.append(f"DATABASE_URL: {problem}")
    else:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    if settings.redis_url:
        problem = _check_redis(settings.redis_url)
        if problem:
            problems.append(f"REDIS_URL: {problem}")
    if problems:
        raise ConfigError(problems)


def _check_postgres(url: str) -> str | None:
    from sqlalchemy import create_engine, pool
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url, poolclass=pool.NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except DBAPIError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        return f"cannot connect to {mask_url(url)} ({reason})"
    finally:
        engine.dispose()


def _check_redis(url: str) -> str | None:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (RedisError, OSError, ValueError) as err:
        return f"no Redis answers at {mask_url(url)} ({err})"
    return None
