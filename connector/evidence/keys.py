"""The seal identity of an org: configured for the deployment, or generated on first use.

Production may set SEAL_PKCS12 (+ SEAL_PKCS12_PASSWORD) or SEAL_KEY_PEM + SEAL_CERT_PEM (paths);
that identity seals for every org. Otherwise each org gets its own CA and seal certificate the
first time it seals, kept encrypted in its row. TIMESTAMP_URL adds an RFC 3161 timestamp.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from connector.evidence.seal import (
    SealIdentity,
    generate_seal_identity,
    load_identity_pem,
    load_identity_pkcs12,
)
from connector.models import Org
from connector.security.crypto import decrypt_secret, encrypt_secret


def _settings() -> Any:
    return current_app.extensions["countersign.settings"]


def deployment_identity() -> SealIdentity | None:
    """The identity named by SEAL_PKCS12 or SEAL_KEY_PEM/SEAL_CERT_PEM, if set."""
    settings = _settings()
    if settings.seal_pkcs12:
        password = settings.seal_pkcs12_password
        return load_identity_pkcs12(
            Path(settings.seal_pkcs12).read_bytes(), password.encode() if password else None
        )
    if settings.seal_key_pem and settings.seal_cert_pem:
        return load_identity_pem(
            Path(settings.seal_key_pem).read_bytes(), Path(settings.seal_cert_pem).read_bytes()
        )
    return None


def timestamp_url() -> str | None:
    url: str | None = _settings().timestamp_url
    return url


def seal_identity(session: Session, org: Org) -> SealIdentity:
    """The identity that seals ``org``'s documents; made and stored on first use."""
    configured = deployment_identity()
    if configured is not None:
        return configured
    master_key = current_app.extensions["countersign.settings"].master_key
    context = f"seal:{org.id}"
    if org.seal_identity:
        stored = decrypt_secret(master_key, org.seal_identity, context=context)
        return SealIdentity(
            key_pem=stored["key"].encode(),
            cert_pem=stored["cert"].encode(),
            chain_pem=tuple(c.encode() for c in stored["chain"]),
        )
    identity = generate_seal_identity(org.name)
    org.seal_identity = encrypt_secret(
        master_key,
        {
            "key": identity.key_pem.decode(),
            "cert": identity.cert_pem.decode(),
            "chain": [c.decode() for c in identity.chain_pem],
        },
        context=context,
    )
    session.flush()
    return identity


def trust_roots(session: Session, org: Org) -> list[bytes]:
    return [seal_identity(session, org).trust_root_pem]
