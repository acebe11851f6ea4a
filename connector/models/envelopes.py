"""Envelopes, their recipients and the values of their fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.models.base import Base, IdMixin, OrgOwned, TimestampMixin


class EnvelopeStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    COMPLETED = "completed"
    DECLINED = "declined"
    VOIDED = "voided"
    EXPIRED = "expired"


class RecipientStatus(StrEnum):
    CREATED = "created"
    SENT = "sent"
    DELIVERED = "delivered"
    VIEWED = "viewed"
    SIGNED = "signed"
    DECLINED = "declined"


class Envelope(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "envelopes"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        Index("ix_envelopes_org_status", "org_id", "status"),
        Index("ix_envelopes_org_crm_record", "org_id", "crm_record_id"),
    )

    template_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("template_versions.id", ondelete="RESTRICT"), index=True
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    sender_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    bulk_send_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bulk_sends.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=EnvelopeStatus.DRAFT)
    subject: Mapped[str] = mapped_column(String(300), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    crm_connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_connections.id", ondelete="SET NULL")
    )
    crm_system: Mapped[str | None] = mapped_column(String(20))
    crm_object: Mapped[str | None] = mapped_column(String(100))
    crm_record_id: Mapped[str | None] = mapped_column(String(100))
    #: The last write-back error, shown to admins until a later delivery succeeds.
    crm_error: Mapped[str | None] = mapped_column(String(2000))
    expires_at: Mapped[datetime | None]
    reminder_every_hours: Mapped[int | None]
    max_reminders: Mapped[int] = mapped_column(default=5, server_default="5")
    next_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(1000))
    #: Documents are shredded after this date unless a legal hold covers the envelope.
    retain_until: Mapped[datetime | None] = mapped_column(index=True)

    recipients: Mapped[list[Recipient]] = relationship(
        back_populates="envelope", order_by="Recipient.routing_order"
    )
    field_values: Mapped[list[FieldValue]] = relationship(back_populates="envelope")


class Recipient(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "recipients"

    envelope_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("envelopes.id", ondelete="CASCADE"), index=True
    )
    role_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="signer")  # signer | approver | cc
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    routing_order: Mapped[int] = mapped_column(default=1)
    delivery: Mapped[str] = mapped_column(String(20), default="email")  # email | embedded
    auth_method: Mapped[str] = mapped_column(String(40), default="email_link")
    status: Mapped[str] = mapped_column(String(20), default=RecipientStatus.CREATED)
    #: Server-side nonce bound into signing tokens; replacing it kills every issued link.
    token_nonce: Mapped[str] = mapped_column(String(64))
    #: The id of the one signing URL that may still be exchanged (single use).
    signing_url_jti: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    reminders_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    consent_withdrawn_at: Mapped[datetime | None]
    disclosure_version: Mapped[str | None] = mapped_column(String(20))
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    viewed_at: Mapped[datetime | None]
    consented_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    last_reminded_at: Mapped[datetime | None]
    #: Where to send the signer when done (embedded signing).
    return_url: Mapped[str | None] = mapped_column(String(2000))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    #: The adopted signature: {"kind": "drawn"|"typed", "value": ...}.
    signature: Mapped[dict[str, Any] | None]

    envelope: Mapped[Envelope] = relationship(back_populates="recipients")


class FieldValue(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "field_values"
    __table_args__ = (UniqueConstraint("envelope_id", "field_key"),)

    envelope_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelopes.id", ondelete="CASCADE"))
    field_key: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any | None] = mapped_column(JSON)
    #: ``sender`` or the role key of the recipient who filled it.
    filled_by: Mapped[str] = mapped_column(String(100), default="sender")
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="SET NULL")
    )
    #: Where a prefilled value came from, e.g. ``zendesk:ticket.requester.name``.
    source: Mapped[str | None] = mapped_column(String(200))

    envelope: Mapped[Envelope] = relationship(back_populates="field_values")
