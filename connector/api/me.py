"""GET /api/v1/me: who the API key acts as."""

from __future__ import annotations

import uuid

from flask import request
from pydantic import BaseModel, Field
from spectree import Response

from connector.api import bp, spec
from connector.api.auth import current_principal, require_key
from connector.api.schemas import ProblemOut
from connector.db import request_session
from connector.embedding import issue_panel_token
from connector.models import Org, Role
from connector.orgs import set_org_logo, update_org
from connector.problems import Problem


class OrgOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str


class MeOut(BaseModel):
    org: OrgOut
    role: str
    api_key_id: uuid.UUID | None


@bp.get("/me")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=MeOut, HTTP_401=ProblemOut), tags=["account"], operation_id="getMe"
)
def get_me() -> MeOut:
    """The organization and role of the calling API key."""
    principal = current_principal()
    org = request_session().get_one(Org, principal.org_id)
    return MeOut(
        org=OrgOut(id=org.id, slug=org.slug, name=org.name),
        role=principal.role.value,
        api_key_id=principal.api_key_id,
    )


@bp.put("/org/logo")
@require_key(Role.ADMIN)
@spec.validate(
    resp=Response(HTTP_200=OrgOut, HTTP_401=ProblemOut, HTTP_403=ProblemOut, HTTP_422=ProblemOut),
    tags=["account"],
    operation_id="setOrgLogo",
)
def put_org_logo() -> OrgOut:
    """Set the logo printed in document headers (multipart `logo`: PNG or JPEG, ≤ 512 KB)."""
    upload = request.files.get("logo")
    if upload is None:
        raise Problem(422, "Invalid input", "logo: required (multipart/form-data file)")
    session = request_session()
    org = set_org_logo(
        session, org=session.get_one(Org, current_principal().org_id), content=upload.read()
    )
    return OrgOut(id=org.id, slug=org.slug, name=org.name)


class OrgSettingsIn(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    embed_origins: list[str] | None = Field(
        None, max_length=50, description="origins allowed to frame the signer panel"
    )


class OrgSettingsOut(OrgOut):
    embed_origins: list[str]


@bp.patch("/org")
@require_key(Role.ADMIN)
@spec.validate(
    json=OrgSettingsIn,
    resp=Response(
        HTTP_200=OrgSettingsOut, HTTP_401=ProblemOut, HTTP_403=ProblemOut, HTTP_422=ProblemOut
    ),
    tags=["account"],
    operation_id="updateOrg",
)
def patch_org(json: OrgSettingsIn) -> OrgSettingsOut:
    """Change the org's name or the origins allowed to embed the signer panel."""
    session = request_session()
    org = update_org(
        session,
        org=session.get_one(Org, current_principal().org_id),
        changes=json.model_dump(exclude_unset=True),
    )
    return OrgSettingsOut(
        id=org.id, slug=org.slug, name=org.name, embed_origins=org.settings.get("embed_origins", [])
    )


class PanelTokenOut(BaseModel):
    token: str
    expires_at: str


@bp.post("/panel/refresh")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=PanelTokenOut, HTTP_401=ProblemOut),
    tags=["account"],
    operation_id="refreshPanelToken",
)
def refresh_panel_token() -> PanelTokenOut:
    """A fresh panel token for the embedded agent panel (call it with the current one)."""
    principal = current_principal()
    if principal.user_id is None:
        raise Problem(403, "Forbidden", "Only a panel session (a CRM user) can be refreshed.")
    token, expires_at = issue_panel_token(
        org_id=principal.org_id, user_id=principal.user_id, role=principal.role.value
    )
    return PanelTokenOut(token=token, expires_at=expires_at)
