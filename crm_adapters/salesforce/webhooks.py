"""Inbound webhooks from an Apex callout (a trigger or a Flow calling Countersign).

The callout signs ``timestamp + "." + raw_body`` with HMAC-SHA256 and the shared secret and
sends ``X-Countersign-Signature: base64(digest)`` and ``X-Countersign-Timestamp: <unix
seconds>``. In Apex::

    String ts = String.valueOf(Datetime.now().getTime() / 1000);
    Blob mac = Crypto.generateMac('hmacSHA256', Blob.valueOf(ts + '.' + body),
                                  Blob.valueOf(secret));
    req.setHeader('X-Countersign-Timestamp', ts);
    req.setHeader('X-Countersign-Signature', EncodingUtil.base64Encode(mac));

A webhook is accepted when the signature matches (compared in constant time) and the timestamp
is within five minutes of now, either way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

SIGNATURE_HEADER = "X-Countersign-Signature"
TIMESTAMP_HEADER = "X-Countersign-Timestamp"
TOLERANCE = timedelta(minutes=5)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) else None


def sign(body: bytes, secret: str, timestamp: int | str) -> str:
    """The signature header value for a body sent at ``timestamp`` (unix seconds)."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(body: bytes, secret: str, *, now: datetime | None = None) -> dict[str, str]:
    """Headers as the Apex callout sends them (for tests and tools)."""
    timestamp = int((now or datetime.now(UTC)).timestamp())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(body, secret, timestamp)}


def verify(
    headers: Mapping[str, str], body: bytes, secret: str, *, now: datetime | None = None
) -> bool:
    """True when ``body`` was signed with ``secret`` less than five minutes from ``now``."""
    signature, timestamp = _header(headers, SIGNATURE_HEADER), _header(headers, TIMESTAMP_HEADER)
    if not secret or not signature or not timestamp or not timestamp.isascii():
        return False
    if not timestamp.isdigit() or len(timestamp) > 12:
        return False
    sent = datetime.fromtimestamp(int(timestamp), UTC)
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    if abs(current - sent) > TOLERANCE:
        return False
    expected = sign(body, secret, timestamp)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))
