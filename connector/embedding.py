"""Embedded entry points: proving a request really comes from the org's Zendesk or Salesforce,
and the short-lived panel token that replaces cookies inside the CRM's iframe.

Zendesk signed URLs: an RS256 JWT signed by the app's key (public key fetched from the account
and cached), ``aud`` = the app installation, ``exp`` checked. Salesforce canvas: a
``signed_request`` whose HMAC-SHA256 uses the connection's consumer secret, compared in constant
time, with a fresh ``issuedAt``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.crm.connections import credentials_of
from connector.models import CrmConnection, Org, Role, User, utcnow
from crm_adapters.base import tls_verify

PANEL_TOKEN_LIFETIME = 3600
CANVAS_MAX_AGE = 15 * 60
KEY_CACHE_SECONDS = 3600
INSTALLATION = re.compile(r"/api/v2/apps/installations/(\d+)\.json$")
USER_URL = re.compile(r"/api/v2/users/(\d+)\.json$")


class NotFromTheCrm(Exception):
    """The request is not a genuine, fresh request of one of our orgs' CRMs; the reason says why."""


@dataclass(frozen=True)
class EmbedContext:
    org_id: uuid.UUID
    connection: CrmConnection
    system: str
    object: str
    record_id: str
    user_email: str
    user_name: str
    crm_role: str
    locale: str


# Panel tokens.


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="countersign.panel")


def issue_panel_token(*, org_id: uuid.UUID, user_id: uuid.UUID, role: str) -> tuple[str, str]:
    """A token that acts as ``user_id`` for an hour; returns (token, expires_at ISO)."""
    token = "p." + _serializer().dumps({"o": str(org_id), "u": str(user_id), "r": role})
    expires_at = utcnow().timestamp() + PANEL_TOKEN_LIFETIME
    return token, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires_at))


def read_panel_token(session: Session, token: str) -> User | None:
    """The active user a panel token acts as, or None when it is forged, expired or revoked."""
    try:
        claims = _serializer().loads(token[2:], max_age=PANEL_TOKEN_LIFETIME)
        user = session.get(User, uuid.UUID(claims["u"]))
    except (BadSignature, SignatureExpired, KeyError, ValueError):
        return None
    if user is None or not user.active or str(user.org_id) != claims["o"]:
        return None
    return user


def panel_user(session: Session, org_id: uuid.UUID, *, email: str, name: str) -> User:
    """The org's user with this email; a CRM user we have not met becomes an agent of no team."""
    email = email.strip().lower()
    user = session.scalars(select(User).where(User.org_id == org_id, User.email == email)).first()
    if user is None:
        user = User(org_id=org_id, email=email, name=name or email, role=Role.AGENT.value)
        session.add(user)
        session.flush()
    return user


def frame_origins(session: Session, org_id: uuid.UUID) -> list[str]:
    from connector.signing.service import allowed_origins

    origins = allowed_origins(session, org_id)
    if current_app.extensions["countersign.settings"].crm_sandbox:
        origins.append("'self'")  # the /demo pages frame the panel from this origin
    return origins


# Zendesk signed URLs.

_key_cache: dict[tuple[str, int], tuple[float, bytes]] = {}
_key_lock = threading.Lock()


def verify_zendesk(session: Session, token: str, *, ticket_id: str | None) -> EmbedContext:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    try:
        unverified = json.loads(_b64(token.split(".")[1]))
    except (IndexError, ValueError):
        raise NotFromTheCrm("the token is not a JWT") from None
    match = INSTALLATION.search(str(unverified.get("aud", "")))
    if not match:
        raise NotFromTheCrm("the token names no app installation")
    connection = _zendesk_connection(session, int(match.group(1)), str(unverified.get("iss", "")))
    public_key = _app_public_key(connection)
    try:
        decoded = jwt.decode(token, RSAKey.import_key(public_key), algorithms=["RS256"])
        expected_aud = f"{connection.base_url}/api/v2/apps/installations/{match.group(1)}.json"
        jwt.JWTClaimsRegistry(
            exp={"essential": True}, aud={"essential": True, "value": expected_aud}
        ).validate(decoded.claims)
    except JoseError as err:
        raise NotFromTheCrm(f"the token does not verify ({err.error})") from None
    except ValueError as err:
        raise NotFromTheCrm(f"the token does not verify ({err})") from None
    if ticket_id and not ticket_id.isdigit():
        raise NotFromTheCrm("the ticket id is not a number")
    user = _zendesk_user(connection, str(decoded.claims.get("sub", "")))
    return EmbedContext(
        org_id=connection.org_id,
        connection=connection,
        system="zendesk",
        object="ticket",
        record_id=ticket_id or "",
        user_email=user.get("email") or "",
        user_name=user.get("name") or "",
        crm_role=user.get("role") or "agent",
        locale=(user.get("locale") or "en")[:2],
    )


def _zendesk_connection(session: Session, installation_id: int, issuer: str) -> CrmConnection:
    connections = session.scalars(
        select(CrmConnection).where(
            CrmConnection.system == "zendesk", CrmConnection.status == "connected"
        )
    )
    for connection in connections:
        if str(connection.settings.get("installation_id")) == str(installation_id) and (
            not issuer or issuer.rstrip("/") == connection.base_url
        ):
            return connection
    raise NotFromTheCrm("no organization has this Zendesk app installation")


def _app_public_key(connection: CrmConnection) -> bytes:
    app_id = connection.settings.get("app_id")
    if not app_id:
        raise NotFromTheCrm("the Zendesk connection has no app id")
    cache_key = (str(connection.id), int(app_id))
    with _key_lock:
        cached = _key_cache.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    response = _zendesk_get(connection, f"/api/v2/apps/{app_id}/public_key.pem")
    with _key_lock:
        _key_cache[cache_key] = (time.monotonic() + KEY_CACHE_SECONDS, response.content)
    return response.content


def _zendesk_user(connection: CrmConnection, subject: str) -> dict[str, Any]:
    match = USER_URL.search(subject)
    if not match:
        raise NotFromTheCrm("the token names no user")
    user: dict[str, Any] = _zendesk_get(connection, f"/api/v2/users/{match.group(1)}.json").json()[
        "user"
    ]
    return user


def _zendesk_get(connection: CrmConnection, path: str) -> requests.Response:
    token = credentials_of(connection).get("access_token", "")
    url = (connection.api_base_url or connection.base_url).rstrip("/") + path
    try:
        response = requests.get(
            url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=(5, 15),
            verify=tls_verify(connection.settings.get("ca_bundle")),
        )
    except requests.RequestException as err:
        raise NotFromTheCrm(f"Zendesk did not answer ({type(err).__name__})") from None
    if response.status_code != 200:
        raise NotFromTheCrm(f"Zendesk answered {response.status_code} for {path}")
    return response


# Salesforce canvas.


def verify_canvas(
    session: Session, signed_request: str, *, now: float | None = None
) -> EmbedContext:
    signature_b64, _, envelope_b64 = signed_request.partition(".")
    if not signature_b64 or not envelope_b64:
        raise NotFromTheCrm("the signed request is malformed")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        envelope = json.loads(base64.b64decode(envelope_b64))
    except ValueError:
        raise NotFromTheCrm("the signed request is malformed") from None
    connection = _canvas_connection(session, signature, envelope_b64.encode())
    issued_at = envelope.get("issuedAt")
    current = now or time.time()
    if not isinstance(issued_at, int | float) or abs(current - issued_at) > CANVAS_MAX_AGE:
        raise NotFromTheCrm("the signed request is stale")
    context = envelope.get("context") or {}
    environment = context.get("environment") or {}
    record = environment.get("record") or {}
    parameters = environment.get("parameters") or {}
    record_id = str(record.get("Id") or parameters.get("recordId") or "")
    object_name = str(
        (record.get("attributes") or {}).get("type") or parameters.get("objectType") or ""
    )
    if not record_id or not object_name:
        raise NotFromTheCrm("the signed request names no record")
    user = context.get("user") or {}
    return EmbedContext(
        org_id=connection.org_id,
        connection=connection,
        system="salesforce",
        object=object_name,
        record_id=record_id,
        user_email=str(user.get("email") or ""),
        user_name=str(user.get("fullName") or ""),
        crm_role="agent",
        locale=str(user.get("language") or "en")[:2],
    )


def _canvas_connection(
    session: Session, signature: bytes, encoded_envelope: bytes
) -> CrmConnection:
    connections = session.scalars(
        select(CrmConnection).where(
            CrmConnection.system == "salesforce", CrmConnection.status == "connected"
        )
    )
    for connection in connections:
        secret = credentials_of(connection).get("consumer_secret")
        if secret:
            expected = hmac.new(secret.encode(), encoded_envelope, hashlib.sha256).digest()
            if hmac.compare_digest(expected, signature):
                return connection
    raise NotFromTheCrm("the signed request does not verify")


def sign_canvas_request(secret: str, envelope: dict[str, Any]) -> str:
    """Build a signed_request as Salesforce does (the demo page and tests use it)."""
    encoded = base64.b64encode(json.dumps(envelope).encode()).decode()
    signature = base64.b64encode(
        hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    ).decode()
    return f"{signature}.{encoded}"


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def org_name(session: Session, org_id: uuid.UUID) -> str:
    return session.get_one(Org, org_id).name
