"""The public signing API (no API key; the signing token is the credential) and /verify."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Response as FlaskResponse
from flask import request
from pydantic import BaseModel, Field
from spectree import Response

from connector.api import bp, spec
from connector.api.schemas import ProblemOut
from connector.db import request_session
from connector.envelopes.completion import verify_upload
from connector.problems import Problem
from connector.signing import service

PUBLIC: dict[str, list[str]] = {}
ERRORS = {"HTTP_401": ProblemOut, "HTTP_409": ProblemOut, "HTTP_422": ProblemOut}


class SignatureIn(BaseModel):
    kind: Literal["drawn", "typed"]
    value: str = Field(max_length=500_000)


class CompleteIn(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict)
    signature: SignatureIn | None = None
    document_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class DeclineIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class CompleteOut(BaseModel):
    status: str
    envelope_status: str
    return_url: str | None


class VerifyOut(BaseModel):
    genuine: bool
    envelope_id: str | None
    sealed_at: datetime | None
    reasons: list[str]


def _caller() -> service.Caller:
    return service.Caller(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))


@bp.get("/signing/<token>")
@spec.validate(
    resp=Response(HTTP_200=None, **ERRORS),
    tags=["signing"],
    security=PUBLIC,
    operation_id="openSigning",
)
def open_signing(token: str) -> dict[str, Any]:
    """What the recipient sees, and a session token for the other calls (docs/signing.md)."""
    return service.open_signing(request_session(), token, _caller())


@bp.post("/signing/<token>/consent")
@spec.validate(
    resp=Response(HTTP_200=None, **ERRORS),
    tags=["signing"],
    security=PUBLIC,
    operation_id="giveConsent",
)
def give_consent(token: str) -> dict[str, Any]:
    """Record consent to electronic records and signatures (ESIGN/UETA)."""
    return service.consent(request_session(), token, _caller())


@bp.post("/signing/<token>/withdraw-consent")
@spec.validate(
    resp=Response(HTTP_200=None, **ERRORS),
    tags=["signing"],
    security=PUBLIC,
    operation_id="withdrawConsent",
)
def withdraw_consent(token: str) -> dict[str, Any]:
    """Withdraw consent: the recipient can no longer sign electronically."""
    return service.withdraw_consent(request_session(), token, _caller())


@bp.post("/signing/<token>/complete")
@spec.validate(
    json=CompleteIn,
    resp=Response(HTTP_200=CompleteOut, **ERRORS),
    tags=["signing"],
    security=PUBLIC,
    operation_id="completeSigning",
)
def complete_signing(token: str, json: CompleteIn) -> CompleteOut:
    """Fill this recipient's fields and sign (or approve)."""
    result = service.complete(
        request_session(),
        token,
        _caller(),
        fields=json.fields,
        signature=json.signature.model_dump() if json.signature else None,
        document_sha256=json.document_sha256,
    )
    return CompleteOut(**result)


@bp.post("/signing/<token>/decline")
@spec.validate(
    json=DeclineIn,
    resp=Response(HTTP_200=None, **ERRORS),
    tags=["signing"],
    security=PUBLIC,
    operation_id="declineSigning",
)
def decline_signing(token: str, json: DeclineIn) -> dict[str, Any]:
    """Decline to sign, with a reason; the envelope stops and everyone is told."""
    return service.decline(request_session(), token, _caller(), reason=json.reason)


@bp.get("/signing/<token>/document.pdf")
@spec.validate(
    resp=Response(HTTP_200=None, HTTP_401=ProblemOut, HTTP_409=ProblemOut),
    tags=["signing"],
    security=PUBLIC,
    operation_id="signingDocument",
)
def signing_document(token: str) -> FlaskResponse:
    """The document as it stands (DRAFT), or the sealed final once completed."""
    content, filename = service.document_pdf(request_session(), token)
    response = FlaskResponse(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/verify")
@spec.validate(
    resp=Response(HTTP_200=VerifyOut, HTTP_422=ProblemOut),
    tags=["verify"],
    security=PUBLIC,
    operation_id="verifyPdf",
)
def verify() -> VerifyOut:
    """Is this PDF a document sealed here, unchanged? Multipart field `file` (or `pdf`)."""
    upload = request.files.get("file") or request.files.get("pdf")
    if upload is None:
        raise Problem(
            422, "Invalid input", "file: send the PDF as multipart/form-data field 'file'"
        )
    result = verify_upload(request_session(), upload.read())
    return VerifyOut(
        genuine=result.genuine,
        envelope_id=result.envelope_id,
        sealed_at=result.sealed_at,
        reasons=result.reasons,
    )
