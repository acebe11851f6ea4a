"""Signing tokens: itsdangerous-signed, purpose-salted, expiring, bound to one recipient and to
its server-side nonce (rotating the nonce kills every token issued before)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSES = ("link", "url", "session")
LIFETIMES = {
    "link": timedelta(days=120),  # also bounded by the envelope's expiry, checked by the caller
    "url": timedelta(minutes=5),
    "session": timedelta(minutes=60),
}


class TokenError(Exception):
    """Unknown, tampered, expired or dead token."""


@dataclass(frozen=True)
class TokenClaims:
    purpose: str
    recipient_id: str
    nonce: str
    jti: str | None = None


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"countersign.signing.{purpose}"
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def issue(purpose: str, *, recipient_id: str, nonce: str, jti: str | None = None) -> str:
    payload = {"r": recipient_id, "n": nonce}
    if jti:
        payload["j"] = jti
    # A purpose letter up front lets one route accept several kinds without trying each key.
    return f"{purpose[0]}.{_serializer(purpose).dumps(payload)}"


def read(token: str, *, accept: tuple[str, ...]) -> TokenClaims:
    """The claims of ``token`` if it is one of the ``accept`` purposes, signed and not expired."""
    prefix, _, body = token.partition(".")
    purpose = next((p for p in PURPOSES if p[0] == prefix), None)
    if purpose is None or purpose not in accept or not body or len(token) > 1000:
        raise TokenError("unknown token")
    try:
        payload = _serializer(purpose).loads(body, max_age=int(LIFETIMES[purpose].total_seconds()))
    except SignatureExpired:
        raise TokenError("expired") from None
    except BadSignature:
        raise TokenError("unknown token") from None
    if not isinstance(payload, dict) or not {"r", "n"} <= payload.keys():
        raise TokenError("unknown token")
    return TokenClaims(purpose, str(payload["r"]), str(payload["n"]), payload.get("j"))
