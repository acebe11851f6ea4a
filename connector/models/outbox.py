"""Every external side effect, written in the same transaction as the change that causes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, IdMixin, OrgOwned, TimestampMixin, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    SUPERSEDED = "superseded"
    FAILED = "failed"  # permanent error: recorded and shown, never retried forever


class OutboxMessage(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        Index("ix_outbox_messages_coalesce", "kind", "coalesce_key", "status"),
    )

    #: What to do: ``crm.write_back``, ``mail.send``, ``webhook.deliver``...
    kind: Mapped[str] = mapped_column(String(60))
    #: Messages of one kind with the same key coalesce: only the newest pending one is delivered.
    coalesce_key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    delivered_at: Mapped[datetime | None]
