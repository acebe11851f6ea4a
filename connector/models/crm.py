"""Connections from an org to its CRM (Zendesk, Salesforce)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, IdMixin, OrgOwned, TimestampMixin


class CrmConnection(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "crm_connections"
    __table_args__ = (UniqueConstraint("org_id", "system", "base_url"),)

    system: Mapped[str] = mapped_column(String(20))  # zendesk | salesforce | sandbox
    #: The instance: https://acme.zendesk.com or https://acme.my.salesforce.com
    base_url: Mapped[str] = mapped_column(String(300))
    #: Optional API address override (sandboxes, proxies, tests).
    api_base_url: Mapped[str | None] = mapped_column(String(300))
    #: OAuth tokens, webhook and consumer secrets; AES-256-GCM (connector.security.crypto).
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Non-secret settings: app and installation ids, CA bundle, custom status field id...
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: CRM path -> template field key.
    field_mappings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="connected")
    token_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
