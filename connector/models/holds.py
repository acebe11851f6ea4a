"""Legal holds: while one is active, the envelopes it covers are never shredded."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, IdMixin, OrgOwned, TimestampMixin


class LegalHold(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "legal_holds"

    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(2000), default="")
    #: One envelope, or (when empty) every envelope of the CRM record below, or the whole org.
    envelope_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("envelopes.id", ondelete="CASCADE"), index=True
    )
    crm_record_id: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    released_at: Mapped[datetime | None]
