"""The port through which core operations ask for background work without importing `jobs`.

Operations call :func:`request_job` while they work; the request is held on the session and
handed to the dispatcher (RQ, or inline execution) only after the transaction commits. A rollback
drops it. The `jobs` package installs the dispatcher at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

PENDING = "countersign.jobs.pending"
COMMITTED = "countersign.jobs.committed"


@dataclass(frozen=True)
class JobRequest:
    name: str
    args: tuple[Any, ...] = ()
    job_id: str | None = None


Dispatcher = Callable[[Sequence[JobRequest]], None]


def request_job(session: Session, name: str, *args: Any, job_id: str | None = None) -> None:
    """Ask for job ``name`` to run with ``args`` once this session's transaction commits."""
    if not session.in_transaction():
        session.begin()  # so that a rollback, even with no SQL yet, drops the request
    session.info.setdefault(PENDING, []).append(JobRequest(name, tuple(args), job_id))
