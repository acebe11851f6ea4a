"""/api/v1/crm-connections (admins) and CRM prefill for templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from spectree import Response

from connector.api import bp, spec
from connector.api.auth import current_principal, require_key
from connector.api.schemas import ProblemOut
from connector.crm import connections, oauth
from connector.crm.prefill import CrmRecord, prefill
from connector.db import request_session
from connector.models import CrmConnection, Org, Role, TemplateVersion
from connector.templates.definition import TemplateDefinition
from connector.templates.service import current_version, get_template
from connector.tenancy import owned

ERRORS = {
    "HTTP_401": ProblemOut,
    "HTTP_403": ProblemOut,
    "HTTP_404": ProblemOut,
    "HTTP_422": ProblemOut,
}


class ConnectionIn(BaseModel):
    system: Literal["zendesk", "salesforce"]
    subdomain: str | None = Field(
        None, max_length=63, description="Zendesk: acme for acme.zendesk.com"
    )
    base_url: str | None = Field(
        None, max_length=300, description="Salesforce instance URL, or Zendesk URL"
    )
    api_base_url: str | None = Field(None, max_length=300, description="API address override")
    access_token: str = Field(min_length=1, max_length=4000)
    refresh_token: str | None = Field(None, max_length=4000)
    webhook_secret: str | None = Field(None, max_length=500)
    consumer_secret: str | None = Field(None, max_length=500, description="Salesforce canvas app")
    ca_bundle: str | None = Field(
        None, max_length=100_000, description="PEM CA certificates to trust"
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    field_mappings: dict[str, str] = Field(
        default_factory=dict, description="CRM path → template field"
    )


class ConnectionPatch(BaseModel):
    api_base_url: str | None = Field(None, max_length=300)
    access_token: str | None = Field(None, max_length=4000)
    refresh_token: str | None = Field(None, max_length=4000)
    webhook_secret: str | None = Field(None, max_length=500)
    consumer_secret: str | None = Field(None, max_length=500)
    settings: dict[str, Any] | None = None
    field_mappings: dict[str, str] | None = None


class ConnectionOut(BaseModel):
    id: uuid.UUID
    system: str
    base_url: str
    api_base_url: str | None
    status: str
    last_error: str | None
    settings: dict[str, Any]
    field_mappings: dict[str, str]
    credentials: dict[str, str] = Field(description="secrets, masked")
    created_at: datetime


class ConnectionList(BaseModel):
    items: list[ConnectionOut]


class OAuthStartIn(BaseModel):
    subdomain: str | None = Field(None, max_length=63)
    base_url: str | None = Field(None, max_length=300)
    api_base_url: str | None = Field(None, max_length=300)
    ca_bundle: str | None = Field(None, max_length=100_000)


class OAuthStartOut(BaseModel):
    authorize_url: str


class CrmRef(BaseModel):
    system: Literal["zendesk", "salesforce"]
    object: str = Field(min_length=1, max_length=100)
    record_id: str = Field(min_length=1, max_length=100)


class PrefillIn(BaseModel):
    crm: CrmRef


class PrefilledOut(BaseModel):
    value: Any
    source: str
    locked: bool


class PrefillOut(BaseModel):
    fields: dict[str, PrefilledOut]


@bp.post("/crm-connections")
@require_key(Role.ADMIN)
@spec.validate(
    json=ConnectionIn,
    resp=Response(HTTP_201=ConnectionOut, **ERRORS),
    tags=["crm"],
    operation_id="createCrmConnection",
)
def create_connection(json: ConnectionIn) -> tuple[ConnectionOut, int]:
    """Connect the org to a CRM with a token (or use the OAuth flow below)."""
    session = request_session()
    org = session.get_one(Org, current_principal().org_id)
    base_url = connections.normalise_base_url(
        json.system, base_url=json.base_url, subdomain=json.subdomain
    )
    settings = {**json.settings, **({"ca_bundle": json.ca_bundle} if json.ca_bundle else {})}
    connection = connections.connect(
        session,
        org=org,
        system=json.system,
        base_url=base_url,
        api_base_url=json.api_base_url,
        credentials={
            k: getattr(json, k) for k in connections.SECRET_KEYS if getattr(json, k, None)
        },
        settings=settings,
        field_mappings=json.field_mappings,
    )
    return ConnectionOut(**connections.describe(connection)), 201


@bp.get("/crm-connections")
@require_key(Role.ADMIN)
@spec.validate(
    resp=Response(HTTP_200=ConnectionList, **ERRORS),
    tags=["crm"],
    operation_id="listCrmConnections",
)
def list_connections() -> ConnectionList:
    """The org's CRM connections, secrets masked; `last_error` shows a failing write-back."""
    rows = request_session().scalars(
        owned(CrmConnection, current_principal().org_id).order_by(CrmConnection.created_at)
    )
    return ConnectionList(items=[ConnectionOut(**connections.describe(c)) for c in rows])


@bp.patch("/crm-connections/<connection_id>")
@require_key(Role.ADMIN)
@spec.validate(
    json=ConnectionPatch,
    resp=Response(HTTP_200=ConnectionOut, **ERRORS),
    tags=["crm"],
    operation_id="updateCrmConnection",
)
def update_connection(connection_id: str, json: ConnectionPatch) -> ConnectionOut:
    """Change field mappings, settings, the API address or tokens."""
    connection = connections.update_connection(
        request_session(),
        actor=current_principal(),
        connection_id=connection_id,
        changes=json.model_dump(exclude_unset=True),
    )
    return ConnectionOut(**connections.describe(connection))


@bp.delete("/crm-connections/<connection_id>")
@require_key(Role.ADMIN)
@spec.validate(
    resp=Response(HTTP_200=ConnectionOut, **ERRORS), tags=["crm"], operation_id="disconnectCrm"
)
def disconnect(connection_id: str) -> ConnectionOut:
    """Disconnect: the tokens are deleted; write-backs stop."""
    connection = connections.disconnect(
        request_session(), actor=current_principal(), connection_id=connection_id
    )
    return ConnectionOut(**connections.describe(connection))


@bp.post("/crm-connections/oauth/<system>")
@require_key(Role.ADMIN)
@spec.validate(
    json=OAuthStartIn,
    resp=Response(HTTP_200=OAuthStartOut, HTTP_409=ProblemOut, **ERRORS),
    tags=["crm"],
    operation_id="startCrmOAuth",
)
def start_oauth(system: str, json: OAuthStartIn) -> OAuthStartOut:
    """Start the OAuth authorization-code flow: send the admin's browser to `authorize_url`;
    the CRM returns it to /crm/oauth/callback, which stores the connection."""
    if system not in connections.SYSTEMS:
        raise connections.invalid("system", f"must be one of {', '.join(connections.SYSTEMS)}")
    url = oauth.authorize_url(
        actor=current_principal(),
        session=request_session(),
        system=system,
        base_url=json.base_url,
        subdomain=json.subdomain,
        api_base_url=json.api_base_url,
        ca_bundle=json.ca_bundle,
    )
    return OAuthStartOut(authorize_url=url)


@bp.post("/templates/<template_id>/prefill")
@require_key()
@spec.validate(
    json=PrefillIn,
    resp=Response(HTTP_200=PrefillOut, HTTP_409=ProblemOut, **ERRORS),
    tags=["templates"],
    operation_id="prefillTemplate",
)
def prefill_template(template_id: str, json: PrefillIn) -> PrefillOut:
    """The template's sender fields filled from a CRM record, each with its source."""
    session = request_session()
    principal = current_principal()
    template = get_template(session, principal, template_id)
    version: TemplateVersion = current_version(session, template)
    definition = TemplateDefinition.model_validate(version.definition)
    values = prefill(
        session,
        principal.org_id,
        definition,
        CrmRecord(json.crm.system, json.crm.object, json.crm.record_id),
    )
    return PrefillOut(
        fields={
            k: PrefilledOut(value=v.value, source=v.source, locked=v.locked)
            for k, v in values.items()
        }
    )
