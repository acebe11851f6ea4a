"""`flask jobs …`: run a worker, list the schedule, run one job now."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from rq import Worker

from jobs.registry import JOBS, QUEUES
from jobs.runner import run_job
from jobs.schedule import PERIODIC, ensure_scheduled

jobs_cli = AppGroup("jobs", help="Background jobs (RQ workers, periodic jobs).")


@jobs_cli.command("worker")
@click.option(
    "--queue",
    "-q",
    "queues",
    multiple=True,
    type=click.Choice(QUEUES),
    help="Queue to serve (repeatable); all queues by default.",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker with the scheduler (periodic and delayed jobs)."""
    from jobs import get_redis

    connection = get_redis(current_app)
    if connection is None:
        raise click.ClickException(
            "REDIS_URL is not set: jobs run inline in the web process; set it to run workers"
        )
    ensure_scheduled(connection)
    Worker(list(queues or QUEUES), connection=connection).work(with_scheduler=True, burst=burst)


@jobs_cli.command("schedule")
def schedule() -> None:
    """List the periodic jobs."""
    for periodic in PERIODIC:
        click.echo(f"{periodic.job}\tevery {int(periodic.every.total_seconds())}s")


@jobs_cli.command("run")
@click.argument("name")
def run(name: str) -> None:
    """Run job NAME now, in this process (jobs that take no arguments)."""
    if name not in JOBS:
        raise click.ClickException(f"no job named {name!r}; jobs: {', '.join(sorted(JOBS))}")
    click.echo(f"{name}: {run_job(name)}")
