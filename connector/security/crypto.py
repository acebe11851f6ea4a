"""AES-256-GCM envelope encryption: a fresh data key per item, wrapped by the master key.

Deleting an item's wrapped key makes its ciphertext unreadable (crypto-shredding).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """The ciphertext, its key or its associated data was altered or does not belong together."""


@dataclass(frozen=True)
class Sealed:
    wrapped_key: bytes
    ciphertext: bytes


def seal(master_key: bytes, plaintext: bytes, *, context: str) -> Sealed:
    """Encrypt ``plaintext`` under a new data key; ``context`` (e.g. a storage key) is bound in."""
    data_key = AESGCM.generate_key(bit_length=256)
    return Sealed(
        wrapped_key=_encrypt(master_key, data_key, f"key:{context}"),
        ciphertext=_encrypt(data_key, plaintext, context),
    )


def unseal(master_key: bytes, sealed: Sealed, *, context: str) -> bytes:
    data_key = _decrypt(master_key, sealed.wrapped_key, f"key:{context}")
    return _decrypt(data_key, sealed.ciphertext, context)


def encrypt_secret(master_key: bytes, value: dict[str, Any], *, context: str) -> bytes:
    """Encrypt a small JSON value (OAuth tokens, webhook secrets) into one self-contained blob."""
    sealed = seal(master_key, json.dumps(value, sort_keys=True).encode(), context=context)
    return len(sealed.wrapped_key).to_bytes(2, "big") + sealed.wrapped_key + sealed.ciphertext


def decrypt_secret(master_key: bytes, blob: bytes, *, context: str) -> dict[str, Any]:
    size = int.from_bytes(blob[:2], "big")
    sealed = Sealed(wrapped_key=blob[2 : 2 + size], ciphertext=blob[2 + size :])
    value: dict[str, Any] = json.loads(unseal(master_key, sealed, context=context))
    return value


def _encrypt(key: bytes, plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


def _decrypt(key: bytes, blob: bytes, context: str) -> bytes:
    if blob[:1] != VERSION or len(blob) < 1 + NONCE_BYTES + 16:
        raise DecryptionError("unknown ciphertext format")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, context.encode())
    except InvalidTag:
        raise DecryptionError("ciphertext does not authenticate") from None


def mask(secret: str | None) -> str:
    """Show a secret in output as its last four characters only."""
    if not secret:
        return ""
    return "****" + secret[-4:] if len(secret) > 8 else "****"
