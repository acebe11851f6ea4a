"""Documents at rest: encrypted with their own key before they reach storage.

Deleting a document's wrapped key (``shred_document``) makes its stored bytes unreadable even
where backups of the storage survive.
"""

from __future__ import annotations

import hashlib
import uuid

from flask import current_app
from sqlalchemy.orm import Session

from connector.models import Document, utcnow
from connector.security.crypto import Sealed, seal, unseal
from connector.storage import get_storage


def _master_key() -> bytes:
    key: bytes = current_app.extensions["countersign.settings"].master_key
    return key


def store_document(
    session: Session,
    *,
    org_id: uuid.UUID,
    kind: str,
    filename: str,
    content: bytes,
    content_type: str = "application/pdf",
    envelope_id: uuid.UUID | None = None,
    template_version_id: uuid.UUID | None = None,
) -> Document:
    """Encrypt and store ``content``; the row records its SHA-256 and wrapped key."""
    document_id = uuid.uuid4()
    storage_key = f"{org_id}/{document_id}"
    sealed = seal(_master_key(), content, context=storage_key)
    get_storage().put(storage_key, sealed.ciphertext)
    document = Document(
        id=document_id,
        org_id=org_id,
        kind=kind,
        filename=filename[:300],
        content_type=content_type,
        storage_key=storage_key,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        wrapped_key=sealed.wrapped_key,
        envelope_id=envelope_id,
        template_version_id=template_version_id,
    )
    session.add(document)
    session.flush()
    return document


def read_document(document: Document) -> bytes:
    if document.wrapped_key is None:
        raise FileNotFoundError(f"document {document.id} was shredded")
    ciphertext = get_storage().get(document.storage_key)
    return unseal(
        _master_key(), Sealed(document.wrapped_key, ciphertext), context=document.storage_key
    )


def shred_document(document: Document) -> None:
    """Destroy the key, then the bytes: what remains anywhere cannot be read."""
    document.wrapped_key = None
    document.shredded_at = utcnow()
    get_storage().delete(document.storage_key)
