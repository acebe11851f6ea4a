"""The job decorator: each job declares its queue, timeout, TTL and retries where it is defined."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

QUEUES = ("default", "crm", "mail", "bulk", "webhooks")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., Any]
    queue: str
    timeout: int
    ttl: int
    retries: int
    retry_intervals: tuple[int, ...]


JOBS: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    queue: str = "default",
    timeout: int = 60,
    ttl: int = 24 * 3600,
    retries: int = 3,
    retry_intervals: tuple[int, ...] = (10, 60, 300),
) -> Callable[[F], F]:
    """Register ``func`` as job ``name``. Jobs take ids, not objects, and are idempotent."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; queues are {', '.join(QUEUES)}")

    def decorator(func: F) -> F:
        JOBS[name] = JobSpec(name, func, queue, timeout, ttl, retries, retry_intervals)
        return func

    return decorator


def get_spec(name: str) -> JobSpec:
    try:
        return JOBS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None
