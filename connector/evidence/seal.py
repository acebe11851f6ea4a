"""The organisation's PAdES seal on finished documents (pyHanko), and offline verification of it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
    PublicKeyTypes,
)
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    validate_pdf_signature,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

T = TypeVar("T")
log = logging.getLogger(__name__)

SEAL_FIELD = "CountersignSeal"
TIMESTAMP_TIMEOUT_SECONDS = 10

NOT_A_PDF = "the file is not a readable PDF"
ENCRYPTED = "the file is encrypted and cannot be checked"
NO_SEAL = "the file carries no Countersign seal"
DAMAGED_SEAL = "the seal in the file is damaged"
ALTERED = "the signature does not match the file (it was altered)"
UNTRUSTED = "the seal certificate is not one this service issued"
EXPIRED = "the seal certificate had expired"
NOT_YET_VALID = "the seal certificate was not yet valid"
REVOKED = "the seal certificate was revoked"
WRONG_USAGE = "the seal certificate is not allowed to seal documents"
BAD_TIMESTAMP = "the timestamp on the seal does not match it"
UNTRUSTED_TIMESTAMP = "the timestamp on the seal comes from an authority that is not trusted"
APPENDED = "bytes were added after the sealed revision"
CHANGED = "the document was changed after it was sealed"
ODD_COVERAGE = "the seal does not cover the file in the standard way"

# RFC 5280 caps commonName and organizationName at 64; cryptography enforces it on UTF-8 bytes.
_NAME_LIMIT = 64

# A seal certificate from an outside CA may carry only one of these; either marks a key meant
# for signing content rather than for TLS or certificate issuing.
_SEAL_KEY_USAGE = KeyUsageConstraints(
    key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False
)

# Trailing bytes after the last %%EOF hide the real trailer from the parser; this many earlier
# end-of-file markers are tried, which bounds the work a hostile file can cause.
_EOF_RETRIES = 8

_SIGNING_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


@dataclass(frozen=True)
class SealIdentity:
    """A seal key with its certificate and the CA certificates above it, all PEM."""

    # Left out of repr so the key never lands in a log line or a traceback.
    key_pem: bytes = field(repr=False)
    cert_pem: bytes
    chain_pem: tuple[bytes, ...] = ()

    @property
    def trust_root_pem(self) -> bytes:
        """The certificate a verifier should trust: the top of the chain, or the leaf itself."""
        return self.chain_pem[-1] if self.chain_pem else self.cert_pem


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify_pdf`` found; ``reasons`` holds one short sentence per problem."""

    intact: bool
    trusted: bool
    covers_whole_file: bool
    modified: bool
    signer: str | None
    signed_at: datetime | None
    field_name: str | None
    reasons: list[str]

    @property
    def genuine(self) -> bool:
        return self.intact and self.trusted and self.covers_whole_file and not self.modified


def generate_seal_identity(org_name: str, *, valid_days: int = 3650) -> SealIdentity:
    """A fresh per-organisation CA (EC P-256) and a seal certificate issued by it."""
    org = " ".join(org_name.split())
    if not org:
        raise ValueError("The organisation name is empty.")
    if valid_days < 1:
        raise ValueError("A seal certificate must be valid for at least one day.")
    now = datetime.now(UTC)
    # Backdated a little so a verifier whose clock runs slightly behind accepts a fresh seal.
    not_before = now - timedelta(minutes=5)
    not_after = now + timedelta(days=valid_days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Countersign seal CA — ", org)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # pathlen 0: this CA issues seal certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Countersign seal — ", org))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # nonRepudiation (contentCommitment) is what pyHanko and PAdES validators look for.
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return SealIdentity(
        key_pem=_key_pem(leaf_key), cert_pem=_cert_pem(leaf_cert), chain_pem=(_cert_pem(ca_cert),)
    )


def load_identity_pkcs12(data: bytes, password: bytes | None) -> SealIdentity:
    """A seal identity from a PKCS#12 (.p12/.pfx) file: its key, its certificate and its CAs."""
    try:
        key, cert, others = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(
            "The PKCS#12 file could not be opened: the password is wrong or the file is damaged."
        ) from error
    if key is None:
        raise ValueError("The PKCS#12 file holds no private key.")
    if cert is None:
        raise ValueError("The PKCS#12 file holds no certificate for its key.")
    return _identity(key, cert, others)


def load_identity_pem(key_pem: bytes, cert_pem: bytes, chain_pem: bytes = b"") -> SealIdentity:
    """A seal identity from PEM: an unencrypted key, its certificate, and any CA certificates."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError as error:
        raise ValueError("The private key is encrypted; give it unencrypted.") from error
    except (ValueError, UnsupportedAlgorithm) as error:
        raise ValueError("The private key is not a readable PEM key.") from error
    certs = _read_pem_certs(cert_pem, "The certificate is not a readable PEM certificate.")
    chain = (
        _read_pem_certs(chain_pem, "The CA certificates are not readable PEM certificates.")
        if chain_pem.strip()
        else []
    )
    # Extra certificates after the leaf in cert_pem (a "fullchain" file) count as chain too.
    return _identity(key, certs[0], certs[1:] + chain)


def _outside_event_loop(function: Callable[[], T]) -> T:
    """Run ``function`` here, or in a worker thread when this thread already runs an event loop:
    pyHanko's synchronous calls use asyncio.run, which refuses to nest."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


def seal_pdf(
    pdf: bytes,
    identity: SealIdentity,
    *,
    reason: str,
    location: str | None = None,
    timestamp_url: str | None = None,
    field_name: str = SEAL_FIELD,
) -> bytes:
    """Append a PAdES seal (B-B, or B-T with ``timestamp_url``) covering the whole file.

    Raises ValueError for a file that cannot be read or is encrypted, pyHanko's SigningError for
    one it cannot seal (``field_name`` already signed), and TimestampRequestError when the TSA
    cannot be reached.
    """
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(
            _read_pem_certs(identity.cert_pem, "The seal certificate is not readable PEM.")[0]
        ),
        signing_key=load_private_key_from_pemder_data(identity.key_pem, passphrase=None),
        # Everything registered here is embedded in the CMS, so a verifier holding only the
        # root can build the path.
        cert_registry=SimpleCertificateStore.from_certs(
            [
                _asn1_cert(cert)
                for pem in identity.chain_pem
                for cert in _read_pem_certs(pem, "A seal CA certificate is not readable PEM.")
            ]
        ),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    timestamper = (
        HTTPTimeStamper(timestamp_url, timeout=TIMESTAMP_TIMEOUT_SECONDS) if timestamp_url else None
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    except PdfError as error:
        raise ValueError("The file is not a readable PDF.") from error
    if writer.prev.encrypted:
        raise ValueError("The file is encrypted; seal the decrypted document.")
    output = io.BytesIO()
    _outside_event_loop(
        lambda: signers.PdfSigner(metadata, signer, timestamper=timestamper).sign_pdf(
            writer, output=output
        )
    )
    return output.getvalue()


def verify_pdf(
    pdf: bytes, trust_roots_pem: list[bytes], *, tsa_roots_pem: list[bytes] | None = None
) -> VerifyResult:
    """Check the Countersign seal in ``pdf`` offline against ``trust_roots_pem``.

    Timestamp tokens are checked against ``tsa_roots_pem`` (default: the same roots). Keep a
    public TSA's root out of ``trust_roots_pem``: any certificate under it would then pass as a
    seal. Never raises because of the file's content.
    """
    signer_context = _validation_context(trust_roots_pem)
    tsa_context = _validation_context(trust_roots_pem if tsa_roots_pem is None else tsa_roots_pem)
    opened = _open_pdf(pdf)
    if isinstance(opened, str):
        return _failure(opened)
    reader, readable_length = opened
    try:
        sealed = _pick_seal(reader)
    # Hostile files can break pyHanko's parser in many ways; each must read as a damaged seal.
    except Exception:
        log.info("could not read the signatures of a PDF", exc_info=True)
        return _failure(DAMAGED_SEAL)
    if sealed is None:
        # Data past the last readable revision means the file was cut or damaged (say, in the
        # middle of its seal), which is not the same as a file that was never sealed.
        damaged = readable_length < len(pdf) or _data_after_last_eof(pdf)
        return _failure(NOT_A_PDF if damaged else NO_SEAL)
    try:
        signer = sealed.signer_cert.subject.native.get("common_name")
        status = _outside_event_loop(
            lambda: validate_pdf_signature(
                sealed,
                signer_validation_context=signer_context,
                ts_validation_context=tsa_context,
                key_usage_settings=_SEAL_KEY_USAGE,
            )
        )
    except Exception:
        log.info("could not validate the seal of a PDF", exc_info=True)
        return _failure(DAMAGED_SEAL, field_name=sealed.field_name)
    return _judge(status, sealed, signer, appended=readable_length < len(pdf))


def _judge(
    status: PdfSignatureStatus, sealed: EmbeddedPdfSignature, signer: str | None, *, appended: bool
) -> VerifyResult:
    reasons: list[str] = []
    intact = status.intact and status.valid
    if not intact:
        reasons.append(ALTERED)

    # pyHanko only builds a path when the signature value verifies, so with a broken signature
    # there is no trust verdict to report beyond "altered".
    trusted = status.valid and status.trust_problem_indic is None
    trusted = trusted and status.validation_path is not None
    if status.valid and not trusted:
        reasons.append(_trust_reason(status.trust_problem_indic))

    signed_at = status.signer_reported_dt
    token = status.timestamp_validity
    if token is not None:
        if not (token.intact and token.valid):
            intact = False
            reasons.append(BAD_TIMESTAMP)
        else:
            # A sound token's time beats the signer's own claim, even before trust is settled.
            signed_at = token.timestamp
            if not token.trusted:
                trusted = False
                reasons.append(UNTRUSTED_TIMESTAMP)

    coverage = status.coverage
    covers_whole_file = coverage == SignatureCoverageLevel.ENTIRE_FILE and not appended
    modified = False
    if coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        reasons.append(APPENDED)
        # Later revisions that only add signatures, fill fields or add validation data are
        # allowed by an approval signature; anything else (new page content) is not.
        modified = status.modification_level not in (
            ModificationLevel.NONE,
            ModificationLevel.LTA_UPDATES,
            ModificationLevel.FORM_FILLING,
        )
    elif coverage == SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START or (
        coverage == SignatureCoverageLevel.ENTIRE_FILE and appended
    ):
        reasons.append(APPENDED)
    elif coverage != SignatureCoverageLevel.ENTIRE_FILE:
        reasons.append(ODD_COVERAGE)
    if modified:
        reasons.append(CHANGED)

    return VerifyResult(
        intact=intact,
        trusted=trusted,
        covers_whole_file=covers_whole_file,
        modified=modified,
        signer=signer,
        signed_at=signed_at.astimezone(UTC) if signed_at is not None else None,
        field_name=sealed.field_name,
        reasons=reasons,
    )


def _trust_reason(indication: AdESSubIndic | None) -> str:
    if indication in (
        AdESIndeterminate.EXPIRED,
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
    ):
        return EXPIRED
    if indication in (AdESIndeterminate.NOT_YET_VALID, AdESFailure.NOT_YET_VALID):
        return NOT_YET_VALID
    if indication in (
        AdESFailure.REVOKED,
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
    ):
        return REVOKED
    if indication == AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE:
        return WRONG_USAGE
    return UNTRUSTED


def _open_pdf(pdf: bytes) -> tuple[PdfFileReader, int] | str:
    """A reader over ``pdf`` (or its longest readable prefix) and that prefix's length."""
    end = len(pdf)
    length = len(pdf)
    for _ in range(_EOF_RETRIES):
        try:
            reader = PdfFileReader(io.BytesIO(pdf[:length]))
        # Hostile input can break the parser in many ways; all of them mean "not readable".
        except Exception:
            log.debug("a PDF prefix of %d bytes is not readable", length, exc_info=True)
        else:
            if reader.encrypted:
                return ENCRYPTED
            return reader, length
        # Junk after the end of file hides the trailer; retry at the previous %%EOF marker, with
        # its end-of-line, which is where a sealed revision ends.
        marker = pdf.rfind(b"%%EOF", 0, end)
        if marker < 0:
            break
        end = marker
        length = marker + 5
        if pdf[length : length + 2] == b"\r\n":
            length += 2
        elif pdf[length : length + 1] in (b"\n", b"\r"):
            length += 1
    return NOT_A_PDF


def _data_after_last_eof(pdf: bytes) -> bool:
    marker = pdf.rfind(b"%%EOF")
    return marker < 0 or bool(pdf[marker + 5 :].strip())


def _pick_seal(reader: PdfFileReader) -> EmbeddedPdfSignature | None:
    signatures: list[EmbeddedPdfSignature] = reader.embedded_regular_signatures
    named = [sig for sig in signatures if sig.field_name == SEAL_FIELD]
    if named:
        return named[-1]
    return signatures[-1] if signatures else None


def _failure(reason: str, *, field_name: str | None = None) -> VerifyResult:
    return VerifyResult(
        intact=False,
        trusted=False,
        covers_whole_file=False,
        modified=False,
        signer=None,
        signed_at=None,
        field_name=field_name,
        reasons=[reason],
    )


def _validation_context(roots_pem: list[bytes]) -> ValidationContext:
    roots = [
        _asn1_cert(cert)
        for pem in roots_pem
        for cert in _read_pem_certs(pem, "A trust root is not a readable PEM certificate.")
    ]
    # Offline on purpose: no OCSP, CRL or AIA fetching, and missing revocation data is no
    # failure (our seal CAs publish none). An explicit (even empty) root list also keeps
    # pyHanko from falling back to the operating system's trust store.
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")


def _identity(
    key: PrivateKeyTypes, cert: x509.Certificate, others: list[x509.Certificate]
) -> SealIdentity:
    if not isinstance(key, _SIGNING_KEY_TYPES):
        raise ValueError("The private key is of a kind that cannot seal documents.")
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise ValueError("The private key does not belong to the certificate.")
    return SealIdentity(
        key_pem=_key_pem(key),
        cert_pem=_cert_pem(cert),
        chain_pem=tuple(_cert_pem(ca) for ca in _issuers(cert, others)),
    )


def _issuers(cert: x509.Certificate, others: list[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates above ``cert``, its issuer first.

    Certificates that are not on the path (bundles often carry extra ones) are dropped, so that
    the last one is the root a verifier should trust.
    """
    remaining = [other for other in others if other != cert]
    path: list[x509.Certificate] = []
    current = cert
    while current.issuer != current.subject:
        issuer = next((other for other in remaining if other.subject == current.issuer), None)
        if issuer is None:
            break
        path.append(issuer)
        remaining.remove(issuer)
        current = issuer
    return path


def _read_pem_certs(pem: bytes, problem: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        raise ValueError(problem) from error


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _spki(public_key: PublicKeyTypes | CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(prefix: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, _fit(prefix + org)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(org)),
        ]
    )


def _fit(text: str) -> str:
    """``text``, cut with an ellipsis to the name limit in UTF-8 bytes (cryptography's count)."""
    if len(text.encode()) <= _NAME_LIMIT:
        return text
    while len((text + "…").encode()) > _NAME_LIMIT:
        text = text[:-1]
    return text.rstrip() + "…"


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )
