"""CRM connections: create, read (secrets masked), change, disconnect; tokens encrypted at rest."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.actors import Actor
from connector.models import CrmConnection, Org, Role
from connector.problems import Problem
from connector.security.crypto import decrypt_secret, encrypt_secret, mask
from connector.tenancy import get_owned, owned
from crm_adapters.base import ConnectionInfo, default_field_mappings

SYSTEMS = ("zendesk", "salesforce")
SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "webhook_secret",
    "consumer_secret",
    "client_secret",
)
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def invalid(path: str, message: str) -> Problem:
    return Problem(
        422, "Invalid input", f"{path}: {message}", errors=[{"path": path, "message": message}]
    )


def _master_key() -> bytes:
    key: bytes = current_app.extensions["countersign.settings"].master_key
    return key


def _context(connection: CrmConnection) -> str:
    return f"crm:{connection.id}"


def credentials_of(connection: CrmConnection) -> dict[str, Any]:
    if not connection.credentials:
        return {}
    return decrypt_secret(_master_key(), connection.credentials, context=_context(connection))


def store_credentials(connection: CrmConnection, credentials: dict[str, Any]) -> None:
    connection.credentials = encrypt_secret(
        _master_key(), credentials, context=_context(connection)
    )


def normalise_base_url(
    system: str, *, base_url: str | None = None, subdomain: str | None = None
) -> str:
    if system not in SYSTEMS:
        raise invalid("system", f"must be one of {', '.join(SYSTEMS)}")
    if system == "zendesk" and subdomain:
        if not SUBDOMAIN.match(subdomain):
            raise invalid("subdomain", "letters, digits and hyphens only")
        return f"https://{subdomain}.zendesk.com"
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise invalid("base_url", "must be an https URL such as https://acme.my.salesforce.com")
    return f"{parts.scheme}://{parts.netloc}"


def connect(
    session: Session,
    *,
    org: Org,
    system: str,
    base_url: str,
    credentials: dict[str, Any],
    api_base_url: str | None = None,
    settings: dict[str, Any] | None = None,
    field_mappings: dict[str, str] | None = None,
) -> CrmConnection:
    """Create or replace the org's connection to ``base_url``."""
    if not credentials.get("access_token"):
        raise invalid("access_token", "is required")
    if api_base_url:
        parts = urlsplit(api_base_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise invalid("api_base_url", "must be an http(s) URL")
    if settings and settings.get("ca_bundle") and "BEGIN CERTIFICATE" not in settings["ca_bundle"]:
        raise invalid("ca_bundle", "must be PEM certificates")
    connection = session.scalars(
        select(CrmConnection).where(
            CrmConnection.org_id == org.id,
            CrmConnection.system == system,
            CrmConnection.base_url == base_url,
        )
    ).first()
    if connection is None:
        connection = CrmConnection(org_id=org.id, system=system, base_url=base_url)
        session.add(connection)
        session.flush()
    connection.api_base_url = api_base_url
    connection.settings = {**(settings or {})}
    connection.field_mappings = field_mappings or {}
    connection.status = "connected"
    connection.last_error = None
    store_credentials(connection, {k: v for k, v in credentials.items() if v})
    session.flush()
    return connection


def connection_for(session: Session, org_id: uuid.UUID, system: str) -> CrmConnection | None:
    return session.scalars(
        owned(CrmConnection, org_id)
        .where(CrmConnection.system == system, CrmConnection.status == "connected")
        .order_by(CrmConnection.created_at)
    ).first()


def get_connection(session: Session, actor: Actor, connection_id: Any) -> CrmConnection:
    return get_owned(session, CrmConnection, connection_id, actor.org_id, "CRM connection")


def update_connection(
    session: Session, *, actor: Actor, connection_id: Any, changes: dict[str, Any]
) -> CrmConnection:
    actor.require(Role.ADMIN, doing="change CRM connections")
    connection = get_connection(session, actor, connection_id)
    if "field_mappings" in changes and changes["field_mappings"] is not None:
        connection.field_mappings = changes["field_mappings"]
    if "settings" in changes and changes["settings"] is not None:
        connection.settings = {**connection.settings, **changes["settings"]}
    if "api_base_url" in changes:
        connection.api_base_url = changes["api_base_url"]
    secrets = {k: changes[k] for k in SECRET_KEYS if changes.get(k)}
    if secrets:
        store_credentials(connection, {**credentials_of(connection), **secrets})
        connection.status, connection.last_error = "connected", None
    session.flush()
    return connection


def disconnect(session: Session, *, actor: Actor, connection_id: Any) -> CrmConnection:
    actor.require(Role.ADMIN, doing="disconnect CRMs")
    connection = get_connection(session, actor, connection_id)
    connection.credentials = None
    connection.status = "disconnected"
    session.flush()
    return connection


def describe(connection: CrmConnection) -> dict[str, Any]:
    """The connection as the API shows it: every secret masked."""
    credentials = credentials_of(connection)
    return {
        "id": connection.id,
        "system": connection.system,
        "base_url": connection.base_url,
        "api_base_url": connection.api_base_url,
        "status": connection.status,
        "last_error": connection.last_error,
        "settings": {
            k: ("(set)" if k == "ca_bundle" else v) for k, v in connection.settings.items()
        },
        "field_mappings": mappings_of(connection),
        "credentials": {k: mask(str(v)) for k, v in credentials.items() if k in SECRET_KEYS},
        "created_at": connection.created_at,
    }


def mappings_of(connection: CrmConnection) -> dict[str, str]:
    """CRM path → template field: the system's defaults, overridden by the connection's own."""
    return {**default_field_mappings(connection.system), **connection.field_mappings}


def connection_info(
    session: Session, connection: CrmConnection, refreshed: dict[str, Any] | None = None
) -> ConnectionInfo:
    """What an adapter needs. New credentials after a refresh land in ``refreshed`` for the
    caller to store once its transaction is safe (a rolled-back savepoint must not lose a
    rotated token)."""

    def keep(credentials: dict[str, Any]) -> None:
        if refreshed is not None:
            refreshed.update(credentials)
        else:
            store_credentials(connection, credentials)
            session.flush()

    return ConnectionInfo(
        system=connection.system,
        base_url=connection.base_url,
        api_base_url=connection.api_base_url,
        credentials=credentials_of(connection),
        settings=dict(connection.settings),
        on_credentials=keep,
    )
