"""Tenants and the people and keys that act inside them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.models.base import Base, IdMixin, OrgOwned, TimestampMixin


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    COMPLIANCE = "compliance"


class Org(IdMixin, TimestampMixin, Base):
    __tablename__ = "orgs"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    logo_key: Mapped[str | None] = mapped_column(String(300))
    #: Days a completed envelope's documents are kept before they are shredded (None = forever).
    retention_days: Mapped[int | None]
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The org's seal key and certificates (PEM), AES-256-GCM encrypted; made on first use.
    seal_identity: Mapped[bytes | None] = mapped_column(LargeBinary)


class User(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "email"),)

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.AGENT)
    active: Mapped[bool] = mapped_column(default=True)
    #: The user's identity in a CRM (Zendesk user id, Salesforce user id), for embedded sign-in.
    crm_identity: Mapped[dict[str, Any]] = mapped_column(default=dict)

    teams: Mapped[list[Team]] = relationship(secondary="team_members", back_populates="members")


class Team(IdMixin, TimestampMixin, OrgOwned, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))

    members: Mapped[list[User]] = relationship(secondary="team_members", back_populates="teams")


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiKey(IdMixin, TimestampMixin, OrgOwned, Base):
    """A bearer key. Only its SHA-256 is kept; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    #: The public part of the key (``cs_<prefix>_…``), used to find the row.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
