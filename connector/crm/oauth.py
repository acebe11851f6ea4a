"""OAuth 2 authorization-code flows (authlib) that connect an org to Zendesk or Salesforce.

The admin's browser goes to the CRM's authorize URL; the CRM sends it back to
``/crm/oauth/callback`` with a code and our signed ``state``; the code becomes tokens, stored
encrypted on a new connection.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from connector.actors import Actor
from connector.crm import connections
from connector.models import CrmConnection, Org, Role
from connector.problems import Problem
from crm_adapters.base import tls_verify

STATE_MAX_AGE = 600
SCOPES = {"zendesk": "read write", "salesforce": "api refresh_token"}
#: The embedded sandbox's OAuth client, used only against the sandbox itself.
SANDBOX_CLIENT = ("countersign-sandbox", "sandbox-secret")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="countersign.crm-oauth")


def _settings() -> Any:
    return current_app.extensions["countersign.settings"]


def redirect_uri() -> str:
    return f"{_settings().base_url}/crm/oauth/callback"


def _client(system: str, target: str) -> tuple[str, str]:
    configured = _settings().oauth_clients.get(system)
    if configured:
        return configured
    if _settings().crm_sandbox and target.startswith(sandbox_url()):
        return SANDBOX_CLIENT
    upper = system.upper()
    raise Problem(
        409,
        "Conflict",
        f"Set {upper}_CLIENT_ID and {upper}_CLIENT_SECRET to connect {system} with OAuth.",
    )


def sandbox_url() -> str:
    return str(current_app.extensions.get("countersign.sandbox_url", "sandbox-not-running"))


def _endpoints(system: str, base_url: str, api_base_url: str | None) -> tuple[str, str]:
    if system == "zendesk":
        root = (api_base_url or base_url).rstrip("/")
        return f"{root}/oauth/authorizations/new", f"{root}/oauth/tokens"
    root = (api_base_url or _settings().salesforce_login_url).rstrip("/")
    return f"{root}/services/oauth2/authorize", f"{root}/services/oauth2/token"


def authorize_url(
    *,
    actor: Actor,
    session: Session,
    system: str,
    base_url: str | None,
    subdomain: str | None,
    api_base_url: str | None,
    ca_bundle: str | None = None,
) -> str:
    actor.require(Role.ADMIN, doing="connect CRMs")
    target = connections.normalise_base_url(system, base_url=base_url, subdomain=subdomain)
    client_id, client_secret = _client(system, api_base_url or target)
    authorize, _ = _endpoints(system, target, api_base_url)
    nonce = secrets.token_urlsafe(16)
    org = session.get_one(Org, actor.org_id)
    pending = dict(org.settings.get("pending_oauth", {}))
    pending[nonce] = {
        "system": system,
        "base_url": target,
        "api_base_url": api_base_url,
        "ca_bundle": ca_bundle,
    }
    org.settings = {**org.settings, "pending_oauth": dict(list(pending.items())[-5:])}
    state = _serializer().dumps({"org": str(actor.org_id), "nonce": nonce})
    oauth = OAuth2Session(
        client_id, client_secret, redirect_uri=redirect_uri(), scope=SCOPES[system]
    )
    url, _ = oauth.create_authorization_url(authorize, state=state)
    return str(url)


def complete(session: Session, *, code: str, state: str) -> CrmConnection:
    """Exchange the code for tokens and store the connection; refuses a forged or stale state."""
    try:
        claims = _serializer().loads(state, max_age=STATE_MAX_AGE)
    except BadSignature:
        raise Problem(
            400, "Bad Request", "This authorization link is invalid or expired; start again."
        ) from None
    org = session.get(Org, uuid.UUID(claims["org"]))
    pending = dict(org.settings.get("pending_oauth", {})) if org else {}
    flow = pending.pop(claims["nonce"], None)
    if org is None or flow is None:
        raise Problem(400, "Bad Request", "This authorization was already used; start again.")
    org.settings = {**org.settings, "pending_oauth": pending}
    system, target, api_base_url = flow["system"], flow["base_url"], flow.get("api_base_url")
    client_id, client_secret = _client(system, api_base_url or target)
    _, token_endpoint = _endpoints(system, target, api_base_url)
    oauth = OAuth2Session(
        client_id, client_secret, redirect_uri=redirect_uri(), scope=SCOPES[system]
    )
    try:
        token = oauth.fetch_token(
            token_endpoint,
            code=code,
            grant_type="authorization_code",
            verify=tls_verify(flow.get("ca_bundle")),
            timeout=20,
        )
    except Exception as err:  # noqa: BLE001 - any failure of the CRM's token endpoint is one message
        raise Problem(502, "Bad Gateway", f"{system} did not exchange the code: {err}") from None
    if system == "salesforce" and token.get("instance_url"):
        target = connections.normalise_base_url(system, base_url=token["instance_url"])
    credentials = {
        "access_token": token.get("access_token"),
        "refresh_token": token.get("refresh_token"),
        "client_id": client_id,
        "client_secret": client_secret,
        "token_url": token_endpoint,
    }
    settings = {"ca_bundle": flow["ca_bundle"]} if flow.get("ca_bundle") else {}
    return connections.connect(
        session,
        org=org,
        system=system,
        base_url=target,
        api_base_url=api_base_url,
        credentials=credentials,
        settings=settings,
    )
