"""PAdES seals: identities, sealing, offline verification, tampering, the pyHanko CLI and a TSA."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen.canvas import Canvas

from connector.evidence.seal import (
    ALTERED,
    APPENDED,
    CHANGED,
    DAMAGED_SEAL,
    NO_SEAL,
    NOT_A_PDF,
    UNTRUSTED,
    UNTRUSTED_TIMESTAMP,
    SealIdentity,
    VerifyResult,
    generate_seal_identity,
    load_identity_pem,
    load_identity_pkcs12,
    seal_pdf,
    verify_pdf,
)
from tests.pdfs import form_pdf

PAGE_ONE_TEXT = b"Master services agreement, page one"
PEM = serialization.Encoding.PEM


def two_page_pdf() -> bytes:
    buffer = io.BytesIO()
    # Uncompressed page streams, so a test can find (and flip) a byte of the page text.
    canvas = Canvas(buffer, pageCompression=0)
    canvas.drawString(72, 780, PAGE_ONE_TEXT.decode())
    canvas.drawString(72, 760, "The customer pays 100 EUR a month.")
    canvas.showPage()
    canvas.drawString(72, 780, "Page two: signatures follow.")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def identity() -> SealIdentity:
    return generate_seal_identity("Acme Ltd")


@pytest.fixture(scope="module")
def original() -> bytes:
    return two_page_pdf()


@pytest.fixture(scope="module")
def sealed(original: bytes, identity: SealIdentity) -> bytes:
    return seal_pdf(original, identity, reason="Completed in Countersign", location="Berlin")


def verify(pdf: bytes, identity: SealIdentity) -> VerifyResult:
    return verify_pdf(pdf, [identity.trust_root_pem])


def signature_of(pdf: bytes) -> tuple[str, list[int], list[str]]:
    """The seal's SubFilter, ByteRange and the subjects of the certificates embedded in it."""
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[-1]
    subjects = [signature.signer_cert.subject.human_friendly] + [
        cert.subject.human_friendly for cert in signature.other_embedded_certs
    ]
    return (
        str(signature.sig_object["/SubFilter"]),
        [int(n) for n in signature.byte_range],
        subjects,
    )


Issuer = tuple[ec.EllipticCurvePrivateKey, x509.Certificate]


def ca_cert(name: str, issuer: Issuer | None = None) -> Issuer:
    """A CA certificate, self-signed unless an issuer is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _certificate(name, key, issuer, ca=True)


def seal_cert(name: str, issuer: Issuer) -> Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _certificate(name, key, issuer, ca=False)


def _certificate(
    name: str, key: ec.EllipticCurvePrivateKey, issuer: Issuer | None, *, ca: bool
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_key, issuer_name = (key, subject) if issuer is None else (issuer[0], issuer[1].subject)
    now = datetime.now(UTC)
    usage = dict.fromkeys(
        [
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ],
        False,
    )
    usage.update(
        {"key_cert_sign": True, "crl_sign": True}
        if ca
        else {"digital_signature": True, "content_commitment": True}
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
        .sign(issuer_key, hashes.SHA256())
    )


# --- identities -------------------------------------------------------------------------------


def test_generated_identity_is_a_ca_and_a_seal_certificate(identity: SealIdentity) -> None:
    leaf = x509.load_pem_x509_certificate(identity.cert_pem)
    (ca_pem,) = identity.chain_pem
    ca = x509.load_pem_x509_certificate(ca_pem)
    assert identity.trust_root_pem == ca_pem

    assert leaf.subject.rfc4514_string() == "O=Acme Ltd,CN=Countersign seal — Acme Ltd"
    assert ca.subject.rfc4514_string() == "O=Acme Ltd,CN=Countersign seal CA — Acme Ltd"
    leaf.verify_directly_issued_by(ca)
    ca.verify_directly_issued_by(ca)
    for cert in (leaf, ca):
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert key.curve.name == "secp256r1"

    ca_constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca_constraints.critical
    assert (ca_constraints.value.ca, ca_constraints.value.path_length) == (True, 0)
    ca_usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ca_usage.key_cert_sign
    assert ca_usage.crl_sign
    assert not ca_usage.digital_signature

    leaf_constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert leaf_constraints.critical
    assert not leaf_constraints.value.ca
    leaf_usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert leaf_usage.critical
    assert leaf_usage.value.digital_signature
    assert leaf_usage.value.content_commitment
    assert not leaf_usage.value.key_cert_sign

    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    leaf_aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert leaf_aki.key_identifier == ca_ski.digest
    assert leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)

    private_key = serialization.load_pem_private_key(identity.key_pem, password=None)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    assert b"PRIVATE KEY" not in repr(identity).encode()


def test_long_organisation_names_fit_the_certificate_name_limits() -> None:
    identity = generate_seal_identity("A very long organisation name " * 5)
    subject = x509.load_pem_x509_certificate(identity.cert_pem).subject
    common_name = str(subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    organisation = str(subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value)
    # 64 is the X.509 bound; cryptography counts it in UTF-8 bytes, and "—" and "…" take three.
    assert len(common_name.encode()) <= 64
    assert len(organisation.encode()) <= 64
    assert common_name.startswith("Countersign seal — A very long organisation")
    assert common_name.endswith("…")
    with pytest.raises(ValueError, match="empty"):
        generate_seal_identity("   ")


def test_pkcs12_round_trip(identity: SealIdentity, original: bytes) -> None:
    key = serialization.load_pem_private_key(identity.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    stray = ca_cert("Someone else's CA")[1]
    data = pkcs12.serialize_key_and_certificates(
        b"seal",
        key,
        x509.load_pem_x509_certificate(identity.cert_pem),
        # A stray certificate that is not on the seal's path must not end up in the chain.
        [x509.load_pem_x509_certificate(identity.chain_pem[0]), stray],
        serialization.BestAvailableEncryption(b"correct horse"),
    )

    loaded = load_identity_pkcs12(data, b"correct horse")

    assert loaded.cert_pem == identity.cert_pem
    assert loaded.chain_pem == identity.chain_pem
    assert loaded.trust_root_pem == identity.trust_root_pem
    assert verify(seal_pdf(original, loaded, reason="p12"), identity).genuine


@pytest.mark.parametrize("password", [b"wrong", None])
def test_pkcs12_with_the_wrong_password_is_refused(
    identity: SealIdentity, password: bytes | None
) -> None:
    key = serialization.load_pem_private_key(identity.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    data = pkcs12.serialize_key_and_certificates(
        b"seal",
        key,
        x509.load_pem_x509_certificate(identity.cert_pem),
        None,
        serialization.BestAvailableEncryption(b"correct horse"),
    )
    with pytest.raises(ValueError, match="password is wrong"):
        load_identity_pkcs12(data, password)
    with pytest.raises(ValueError, match="could not be opened"):
        load_identity_pkcs12(b"not a pkcs12 file", b"correct horse")


def test_pem_round_trip(identity: SealIdentity) -> None:
    loaded = load_identity_pem(identity.key_pem, identity.cert_pem, identity.chain_pem[0])
    assert loaded == identity


def test_pem_chain_with_several_certificates_is_put_in_order(original: bytes) -> None:
    root_key, root = ca_cert("Root CA")
    issuing_key, issuing = ca_cert("Issuing CA", issuer=(root_key, root))
    leaf_key, leaf = seal_cert("Seal", issuer=(issuing_key, issuing))
    key_pem = leaf_key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    # Given root first, as bundles often are; the identity keeps the leaf's issuer first.
    chain_pem = root.public_bytes(PEM) + issuing.public_bytes(PEM)
    loaded = load_identity_pem(key_pem, leaf.public_bytes(PEM), chain_pem)

    assert loaded.chain_pem == (issuing.public_bytes(PEM), root.public_bytes(PEM))
    assert loaded.trust_root_pem == root.public_bytes(PEM)
    sealed = seal_pdf(original, loaded, reason="three levels")
    # The verifier holds only the root: the issuing CA must travel inside the signature.
    assert verify_pdf(sealed, [root.public_bytes(PEM)]).genuine
    assert "Common Name: Issuing CA" in signature_of(sealed)[2]


def test_pem_key_that_does_not_match_the_certificate_is_refused(identity: SealIdentity) -> None:
    other = generate_seal_identity("Other Org")
    with pytest.raises(ValueError, match="does not belong to the certificate"):
        load_identity_pem(other.key_pem, identity.cert_pem, identity.chain_pem[0])
    key = serialization.load_pem_private_key(identity.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    encrypted = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    with pytest.raises(ValueError, match="encrypted"):
        load_identity_pem(encrypted, identity.cert_pem)
    with pytest.raises(ValueError, match="not a readable PEM certificate"):
        load_identity_pem(identity.key_pem, b"nonsense")


# --- sealing and verifying --------------------------------------------------------------------


def test_sealed_pdf_is_genuine(original: bytes, sealed: bytes, identity: SealIdentity) -> None:
    result = verify(sealed, identity)

    assert result.genuine
    assert result.reasons == []
    assert (result.intact, result.trusted, result.covers_whole_file, result.modified) == (
        True,
        True,
        True,
        False,
    )
    assert result.signer == "Countersign seal — Acme Ltd"
    assert result.field_name == "CountersignSeal"
    assert result.signed_at is not None
    assert result.signed_at.tzinfo == UTC
    assert abs(datetime.now(UTC) - result.signed_at) < timedelta(minutes=5)

    # An incremental update: the original bytes are untouched, the seal is a PAdES baseline
    # signature, and the CMS carries the CA so the root alone is enough to verify.
    assert sealed.startswith(original)
    subfilter, _, subjects = signature_of(sealed)
    assert subfilter == "/ETSI.CAdES.detached"
    assert subjects == [
        "Organization: Acme Ltd, Common Name: Countersign seal — Acme Ltd",
        "Organization: Acme Ltd, Common Name: Countersign seal CA — Acme Ltd",
    ]


def test_pdfs_with_form_fields_and_pypdf_output_can_be_sealed(identity: SealIdentity) -> None:
    with_fields = form_pdf(pages=2)
    writer = PdfWriter(clone_from=io.BytesIO(with_fields))
    writer.update_page_form_field_values(writer.pages[0], {"company": "ACME"})
    rewritten = io.BytesIO()
    writer.write(rewritten)

    for pdf in (with_fields, rewritten.getvalue()):
        result = verify(seal_pdf(pdf, identity, reason="Completed"), identity)
        assert result.genuine, result.reasons


def test_unreadable_input_is_refused_for_sealing(identity: SealIdentity) -> None:
    with pytest.raises(ValueError, match="not a readable PDF"):
        seal_pdf(b"not a pdf", identity, reason="Completed")


def test_another_services_root_does_not_trust_the_seal(sealed: bytes) -> None:
    result = verify(sealed, generate_seal_identity("Acme Ltd"))

    assert not result.genuine
    assert not result.trusted
    assert result.intact
    assert result.reasons == [UNTRUSTED]
    assert verify_pdf(sealed, []).reasons == [UNTRUSTED]


def test_flipping_a_byte_inside_the_signed_range_breaks_the_seal(
    sealed: bytes, identity: SealIdentity
) -> None:
    _, byte_range, _ = signature_of(sealed)
    offset = sealed.index(PAGE_ONE_TEXT)
    assert offset < byte_range[1]  # inside the first signed stretch
    tampered = bytearray(sealed)
    tampered[offset] ^= 0x01

    result = verify(bytes(tampered), identity)

    assert not result.genuine
    assert not result.intact
    assert result.reasons == [ALTERED]


def test_an_incremental_update_that_changes_page_one_is_caught(
    sealed: bytes, identity: SealIdentity
) -> None:
    overlay = io.BytesIO()
    canvas = Canvas(overlay)
    canvas.drawString(72, 740, "The customer pays 1 EUR a year.")
    canvas.save()
    writer = PdfWriter(io.BytesIO(sealed), incremental=True)
    writer.pages[0].merge_page(PdfReader(io.BytesIO(overlay.getvalue())).pages[0])
    output = io.BytesIO()
    writer.write(output)
    changed = output.getvalue()
    assert changed.startswith(sealed)

    result = verify(changed, identity)

    # The sealed revision is still intact and trusted; what follows it is not allowed.
    assert result.intact
    assert result.trusted
    assert not result.genuine
    assert result.modified
    assert not result.covers_whole_file
    assert result.reasons == [APPENDED, CHANGED]


def test_a_pyhanko_incremental_update_is_caught(sealed: bytes, identity: SealIdentity) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    page = writer.root["/Pages"]["/Kids"][0]
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    output = io.BytesIO()
    writer.write(output)

    result = verify(output.getvalue(), identity)

    assert not result.genuine
    assert result.modified
    assert CHANGED in result.reasons


def test_junk_appended_after_the_end_is_caught(sealed: bytes, identity: SealIdentity) -> None:
    result = verify(sealed + b"\n%%EOF junk\n", identity)

    # The signature over the sealed bytes still checks out (pyHanko alone calls it intact);
    # only the coverage check notices the bytes outside it.
    assert result.intact
    assert result.trusted
    assert not result.covers_whole_file
    assert not result.genuine
    assert result.reasons == [APPENDED]


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"garbage",
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog",
        bytes(range(256)) * 40,
        b"%PDF-1.7\n%%EOF\n%%EOF\n%%EOF\n",
    ],
)
def test_garbage_is_not_genuine_and_does_not_raise(garbage: bytes, identity: SealIdentity) -> None:
    result = verify(garbage, identity)
    assert not result.genuine
    assert result.reasons == [NOT_A_PDF]


def test_cut_and_damaged_seals_are_reported(
    original: bytes, sealed: bytes, identity: SealIdentity
) -> None:
    assert verify(original, identity).reasons == [NO_SEAL]
    # Cut in the middle of the seal: only the unsealed revision before it is readable.
    assert verify(sealed[: len(original) + 200], identity).reasons == [NOT_A_PDF]

    # Zero the CMS blob (it sits outside the signed range, so the PDF itself stays readable).
    start = sealed.index(b"/Contents <") + len(b"/Contents <")
    end = sealed.index(b">", start)
    zeroed = sealed[:start] + b"0" * (end - start) + sealed[end:]
    result = verify(zeroed, identity)
    assert not result.genuine
    assert result.reasons == [DAMAGED_SEAL]


def test_the_pyhanko_cli_accepts_the_seal(
    sealed: bytes, identity: SealIdentity, tmp_path: Path
) -> None:
    cli = Path(sys.executable).parent / "pyhanko"
    if not cli.exists():
        pytest.skip("the pyhanko CLI (package pyhanko-cli) is not installed")
    pdf_path = tmp_path / "sealed.pdf"
    pdf_path.write_bytes(sealed)
    ca_path = tmp_path / "ca.pem"
    ca_path.write_bytes(identity.trust_root_pem)

    completed = subprocess.run(
        [
            str(cli),
            "sign",
            "validate",
            "--pretty-print",
            "--trust",
            str(ca_path),
            "--trust-replace",
            "--no-revocation-check",
            str(pdf_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "The signer's certificate is trusted." in completed.stdout
    assert "The signature is cryptographically sound." in completed.stdout
    assert "The signature covers the entire file." in completed.stdout
    assert "The signature is judged VALID." in completed.stdout


# --- timestamps (PAdES B-T) against a local RFC 3161 TSA --------------------------------------


@dataclass
class LocalTsa:
    url: str
    cert_pem: bytes
    token_time: datetime
    requests: list[str]


@pytest.fixture(scope="module")
def tsa() -> Iterator[LocalTsa]:
    """pyHanko's DummyTimeStamper answering RFC 3161 requests over HTTP on 127.0.0.1."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the dummy is RSA-only
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Countersign test TSA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    # A fixed time a little before the seal (inside the seal certificate's validity), so the
    # test can tell the token's time from the signer's own claim.
    token_time = (now - timedelta(minutes=2)).replace(microsecond=0)
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        fixed_dt=token_time,
    )
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            requests.append(self.headers.get("Content-Type", ""))
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTsa(
            url=f"http://127.0.0.1:{server.server_address[1]}/",
            cert_pem=cert.public_bytes(PEM),
            token_time=token_time,
            requests=requests,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_timestamped_seal_takes_its_time_from_the_token(
    original: bytes, identity: SealIdentity, tsa: LocalTsa
) -> None:
    sealed = seal_pdf(original, identity, reason="Completed", timestamp_url=tsa.url)
    assert "application/timestamp-query" in tsa.requests

    result = verify_pdf(sealed, [identity.trust_root_pem], tsa_roots_pem=[tsa.cert_pem])
    assert result.genuine, result.reasons
    assert result.signed_at == tsa.token_time
    # The signer's own claim (/M) is the later sealing time, so the match above is the token's.
    claimed = PdfFileReader(io.BytesIO(sealed)).embedded_regular_signatures[-1]
    assert claimed.self_reported_timestamp is not None
    assert claimed.self_reported_timestamp - tsa.token_time >= timedelta(minutes=1)

    # The TSA root may also simply be listed among the trust roots.
    assert verify_pdf(sealed, [identity.trust_root_pem, tsa.cert_pem]).genuine

    untrusted_tsa = verify(sealed, identity)
    assert not untrusted_tsa.genuine
    assert untrusted_tsa.intact
    assert untrusted_tsa.reasons == [UNTRUSTED_TIMESTAMP]
