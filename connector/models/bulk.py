"""Bulk sends: one template to many recipients, one row each."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, IdMixin, OrgOwned, TimestampMixin


class BulkSend(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "bulk_sends"

    template_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("template_versions.id", ondelete="RESTRICT")
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(20), default="csv")  # csv | crm_query
    #: Shared settings for every row (message, expiry, reminders, CRM query...).
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    total_rows: Mapped[int] = mapped_column(default=0)
    sent_rows: Mapped[int] = mapped_column(default=0)
    failed_rows: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None]


class BulkRow(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "bulk_rows"
    __table_args__ = (UniqueConstraint("bulk_send_id", "row_number"),)

    bulk_send_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulk_sends.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    envelope_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("envelopes.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(String(2000))
