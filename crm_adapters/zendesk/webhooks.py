"""Zendesk webhook signatures: base64(HMAC-SHA256(secret, timestamp + raw body)), sent in
X-Zendesk-Webhook-Signature with the timestamp in X-Zendesk-Webhook-Signature-Timestamp."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
#: A webhook signed further than this from now (either way) is refused as a replay.
MAX_SKEW = timedelta(minutes=5)


def sign(body: bytes, secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _parse_timestamp(value: str) -> datetime | None:
    """Zendesk sends ISO 8601 (``2026-11-30T10:00:00Z``); epoch seconds are accepted too."""
    try:
        if value.strip().isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def verify_signature(
    headers: Mapping[str, str], body: bytes, secret: str, *, now: datetime | None = None
) -> bool:
    """True when the body was signed with ``secret`` within ``MAX_SKEW`` of ``now``."""
    signature, timestamp = _header(headers, SIGNATURE_HEADER), _header(headers, TIMESTAMP_HEADER)
    if not secret or not signature or not timestamp:
        return False
    when = _parse_timestamp(timestamp)
    if when is None or abs((now or datetime.now(UTC)) - when) > MAX_SKEW:
        return False
    return hmac.compare_digest(sign(body, secret, timestamp).encode(), signature.strip().encode())
