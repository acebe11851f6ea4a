"""The audit trail: append-only events, each hashed together with the hash of the one before.

Each envelope has its own chain (``envelope:<id>``); org-level events chain per org. Editing,
removing or reordering any event breaks the chain at that event, and :func:`verify_chain` says
which one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.models import AuditEvent, utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did it, as the trail records it."""

    kind: str  # user | api_key | recipient | system
    id: str | None = None
    label: str = ""
    ip_address: str | None = None
    user_agent: str | None = None


SYSTEM = Actor(kind="system", label="Countersign")


def chain_for(envelope_id: uuid.UUID | None, org_id: uuid.UUID) -> str:
    return f"envelope:{envelope_id}" if envelope_id else f"org:{org_id}"


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON."""
    body = {
        "chain": event.chain,
        "seq": event.seq,
        "org_id": str(event.org_id),
        "envelope_id": str(event.envelope_id) if event.envelope_id else None,
        "action": event.action,
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "data": event.data,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def record(
    session: Session,
    *,
    org_id: uuid.UUID,
    action: str,
    actor: Actor = SYSTEM,
    envelope_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append an event to its chain. Callers hold the envelope's lock, so the chain cannot fork;
    the unique (chain, seq) constraint refuses a fork that slips through."""
    chain = chain_for(envelope_id, org_id)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    event = AuditEvent(
        org_id=org_id,
        chain=chain,
        seq=seq,
        envelope_id=envelope_id,
        action=action,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:400],
        ip_address=actor.ip_address,
        user_agent=(actor.user_agent or None) and actor.user_agent[:500],
        data=data or {},
        occurred_at=at or utcnow(),
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = event_hash(prev_hash, event)
    session.add(event)
    session.flush()
    return event


@dataclass
class ChainReport:
    chain: str
    valid: bool = True
    head: str = GENESIS
    count: int = 0
    problems: list[str] = field(default_factory=list)


def verify_chain(session: Session, chain: str) -> ChainReport:
    """Recompute the chain; every edited, removed or reordered event is named."""
    report = ChainReport(chain=chain)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.id)
    ).all()
    prev_hash, expected_seq = GENESIS, 1
    for event in events:
        name = f"event {event.id} (#{event.seq} {event.action})"
        if event.seq != expected_seq:
            report.problems.append(
                f"{name}: expected #{expected_seq} here — an event was removed or reordered"
            )
        if event.prev_hash != prev_hash:
            report.problems.append(f"{name}: does not follow the event before it")
        if event_hash(event.prev_hash, event) != event.hash:
            report.problems.append(f"{name}: its content was changed after it was written")
        prev_hash, expected_seq = event.hash, event.seq + 1
    report.count = len(events)
    report.head = prev_hash
    report.valid = not report.problems
    return report


def chains(session: Session, *, envelope_id: uuid.UUID | None = None) -> list[str]:
    if envelope_id is not None:
        return [chain_for(envelope_id, uuid.UUID(int=0))]
    return list(
        session.scalars(
            select(AuditEvent.chain).group_by(AuditEvent.chain).order_by(func.min(AuditEvent.id))
        )
    )


def events_of(session: Session, envelope_id: uuid.UUID) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain == chain_for(envelope_id, uuid.UUID(int=0)))
            .order_by(AuditEvent.seq)
        )
    )
