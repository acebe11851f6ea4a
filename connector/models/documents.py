"""Stored files: base PDFs, drafts, sealed final documents and certificates."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, IdMixin, OrgOwned, utcnow


class DocumentKind(StrEnum):
    BASE_PDF = "base_pdf"
    ORIGINAL = "original"
    FINAL = "final"
    CERTIFICATE = "certificate"
    ATTACHMENT = "attachment"


class Document(IdMixin, OrgOwned, Base):
    __tablename__ = "documents"

    envelope_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("envelopes.id", ondelete="CASCADE"), index=True
    )
    #: Set on a PDF-based template version's base document.
    template_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("template_versions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    size: Mapped[int]
    #: SHA-256 of the plaintext bytes, hex.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: The document's own AES-256 key, wrapped by the master key. Deleting it shreds the file.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shredded_at: Mapped[datetime | None]
