"""Encryption at rest: authenticated, bound to its context, shreddable."""

from __future__ import annotations

import os

import pytest

from connector.security.crypto import (
    DecryptionError,
    Sealed,
    decrypt_secret,
    encrypt_secret,
    mask,
    seal,
    unseal,
)

MASTER = os.urandom(32)


def test_sealed_bytes_round_trip_and_hide_the_plaintext() -> None:
    sealed = seal(MASTER, b"%PDF-1.7 contract", context="documents/a.pdf")
    assert b"contract" not in sealed.ciphertext
    assert unseal(MASTER, sealed, context="documents/a.pdf") == b"%PDF-1.7 contract"


def test_a_flipped_bit_is_detected() -> None:
    sealed = seal(MASTER, b"payload", context="k")
    tampered = bytearray(sealed.ciphertext)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        unseal(MASTER, Sealed(sealed.wrapped_key, bytes(tampered)), context="k")


def test_ciphertext_moved_to_another_key_does_not_open() -> None:
    sealed = seal(MASTER, b"payload", context="documents/a.pdf")
    with pytest.raises(DecryptionError):
        unseal(MASTER, sealed, context="documents/b.pdf")


def test_another_master_key_cannot_open_it() -> None:
    sealed = seal(MASTER, b"payload", context="k")
    with pytest.raises(DecryptionError):
        unseal(os.urandom(32), sealed, context="k")


def test_secrets_round_trip_and_mask() -> None:
    blob = encrypt_secret(MASTER, {"access_token": "tok_123456789"}, context="crm:1")
    assert b"tok_" not in blob
    assert decrypt_secret(MASTER, blob, context="crm:1") == {"access_token": "tok_123456789"}
    assert mask("tok_123456789") == "****6789"
    assert mask("short") == "****"
