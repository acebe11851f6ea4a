"""Periodic jobs on the embedded default: a daemon thread in the web process runs them when due.

Only used when REDIS_URL is unset; with Redis, RQ's scheduler inside the workers does this.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from flask import Flask

from jobs.runner import run_job
from jobs.schedule import PERIODIC, Periodic, next_slot

log = logging.getLogger(__name__)
EXTENSION = "countersign.inline_scheduler"
TICK_SECONDS = 5.0


class InlineScheduler:
    def __init__(self, app: Flask, periodic: tuple[Periodic, ...] = PERIODIC) -> None:
        self.app = app
        self.periodic = periodic
        now = datetime.now(UTC)
        self.due = {p.job: next_slot(p.every, now) for p in periodic}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def tick(self, now: datetime) -> list[str]:
        """Run every periodic job whose slot has come; returns the names run."""
        ran = []
        for periodic in self.periodic:
            if now < self.due[periodic.job]:
                continue
            self.due[periodic.job] = next_slot(periodic.every, now)
            try:
                with self.app.app_context():
                    run_job(periodic.job)
                ran.append(periodic.job)
            except Exception:
                log.exception("periodic job %s failed", periodic.job)
        return ran

    def start(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._loop, name="countersign-scheduler", daemon=True
                )
                self.thread.start()

    def _loop(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            self.tick(datetime.now(UTC))


def init_app(app: Flask) -> None:
    """Start the thread with the first request, in the process that serves (after any fork)."""
    scheduler = InlineScheduler(app)
    app.extensions[EXTENSION] = scheduler
    if not app.config["TESTING"]:
        app.before_request(scheduler.start)
