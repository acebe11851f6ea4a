"""/api/v1/templates: create (JSON, or multipart with a YAML/JSON file and a PDF), change, list,
versions, preview as PDF, and check values."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from flask import Response as FlaskResponse
from flask import current_app, request
from pydantic import BaseModel, Field
from spectree import Response
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from connector.api import bp, spec
from connector.api.auth import current_principal, require_key
from connector.api.schemas import PageQuery, ProblemOut
from connector.db import request_session
from connector.models import Template, TemplateVersion
from connector.problems import Problem
from connector.templates import service
from connector.templates.definition import DefinitionError, load_definition_text

ERRORS = {"HTTP_401": ProblemOut, "HTTP_403": ProblemOut, "HTTP_404": ProblemOut}


class TemplateCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    team_id: uuid.UUID | None = None
    definition: dict[str, Any] = Field(description="The template definition (docs/templates.md)")


class TemplatePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    team_id: uuid.UUID | None = None
    definition: dict[str, Any] | None = None
    archived: bool | None = None


class TemplateSummary(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    team_id: uuid.UUID | None
    version: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class TemplateOut(TemplateSummary):
    kind: str = Field(description="document (rendered from the body) or pdf (a PDF form)")
    definition: dict[str, Any]


class TemplateList(BaseModel):
    items: list[TemplateSummary]
    limit: int
    offset: int


class VersionOut(BaseModel):
    version: int
    created_at: datetime
    created_by_id: uuid.UUID | None
    definition: dict[str, Any]


class VersionList(BaseModel):
    items: list[VersionOut]


class RecordRefIn(BaseModel):
    system: Literal["zendesk", "salesforce"]
    object: str = Field(min_length=1, max_length=100)
    record_id: str = Field(min_length=1, max_length=100)


class ValuesIn(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict)
    crm: RecordRefIn | None = Field(
        None, description="prefill from this record (locked values win)"
    )


class MissingField(BaseModel):
    field: str
    label: str
    filled_by: str


class InvalidField(BaseModel):
    field: str
    message: str


class ValuesCheck(BaseModel):
    valid: bool = Field(
        description="true when every sender field is complete and nothing is invalid"
    )
    missing: list[MissingField]
    invalid: list[InvalidField]
    values: dict[str, Any] = Field(description="the values after defaults, conditions and formulas")
    active_fields: list[str]
    roles: list[str] = Field(description="the roles that take part with these values")


def _summary(template: Template) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "description": template.description,
        "team_id": template.team_id,
        "version": template.latest_version,
        "archived": template.archived_at is not None,
        "created_at": template.created_at,
        "updated_at": template.updated_at,
    }


def _template_out(template: Template) -> TemplateOut:
    session = request_session()
    version = service.current_version(session, template)
    kind = "pdf" if service.base_pdf(session, version) else "document"
    return TemplateOut(**_summary(template), kind=kind, definition=version.definition)


def _crm(body: ValuesIn) -> dict[str, str] | None:
    return body.crm.model_dump() if body.crm else None


def _max_upload() -> int:
    return int(current_app.config["MAX_CONTENT_LENGTH"])


def _multipart() -> tuple[dict[str, Any], service.PdfUpload | None]:
    """Read a multipart upload: form fields, a definition file (JSON or YAML) and a PDF."""
    form = request.form
    values: dict[str, Any] = {k: form[k] for k in ("name", "description", "team_id") if k in form}
    upload: FileStorage | None = request.files.get("definition")
    raw = upload.read() if upload else form.get("definition", "").encode()
    if raw:
        try:
            values["definition"] = load_definition_text(
                raw, filename=(upload.filename or "") if upload else ""
            )
        except DefinitionError as err:
            raise service.definition_problem(err) from None
    pdf_file: FileStorage | None = request.files.get("pdf")
    pdf = (
        service.PdfUpload(pdf_file.filename or "template.pdf", pdf_file.read())
        if pdf_file
        else None
    )
    if "team_id" in values:
        try:
            values["team_id"] = uuid.UUID(values["team_id"]) if values["team_id"] else None
        except ValueError:
            raise Problem(422, "Invalid input", "team_id: not a UUID") from None
    return values, pdf


@bp.post("/templates")
@require_key()
@spec.validate(
    json=TemplateCreate,
    resp=Response(HTTP_201=TemplateOut, **ERRORS),
    tags=["templates"],
    operation_id="createTemplate",
)
def create_template(json: TemplateCreate) -> tuple[TemplateOut, int]:
    """Create a template (version 1). Send JSON, or multipart/form-data with `name`, optional
    `description` and `team_id`, a `definition` file (JSON or YAML) and/or a `pdf` form."""
    if json is not None:
        values, pdf = json.model_dump(), None
    elif request.mimetype == "multipart/form-data":
        values, pdf = _multipart()
    else:
        raise Problem(
            415, "Unsupported Media Type", "Send application/json or multipart/form-data."
        )
    template = service.create_template(
        request_session(),
        actor=current_principal(),
        name=values.get("name", ""),
        description=values.get("description") or "",
        team_id=values.get("team_id"),
        definition=values.get("definition"),
        pdf=pdf,
        max_upload_bytes=_max_upload(),
    )
    return _template_out(template), 201


@bp.get("/templates")
@require_key()
@spec.validate(
    query=PageQuery,
    resp=Response(HTTP_200=TemplateList, **ERRORS),
    tags=["templates"],
    operation_id="listTemplates",
)
def list_templates(query: PageQuery) -> TemplateList:
    """The templates the caller may use: an agent sees its teams' and the org-wide ones."""
    principal = current_principal()
    session = request_session()
    statement = (
        service.visible(principal, session)
        .order_by(Template.name)
        .limit(query.limit)
        .offset(query.offset)
    )
    items = [TemplateSummary(**_summary(t)) for t in session.scalars(statement)]
    return TemplateList(items=items, limit=query.limit, offset=query.offset)


@bp.get("/templates/<template_id>")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=TemplateOut, **ERRORS), tags=["templates"], operation_id="getTemplate"
)
def get_template(template_id: str) -> TemplateOut:
    """One template with its current definition."""
    return _template_out(service.get_template(request_session(), current_principal(), template_id))


@bp.patch("/templates/<template_id>")
@require_key()
@spec.validate(
    json=TemplatePatch,
    resp=Response(HTTP_200=TemplateOut, **ERRORS),
    tags=["templates"],
    operation_id="updateTemplate",
)
def update_template(template_id: str, json: TemplatePatch) -> TemplateOut:
    """Change a template (admins). A new definition becomes a new version; envelopes already
    sent keep the version they were sent with."""
    template = service.update_template(
        request_session(),
        actor=current_principal(),
        template_id=template_id,
        changes=json.model_dump(exclude_unset=True),
        max_upload_bytes=_max_upload(),
    )
    return _template_out(template)


@bp.put("/templates/<template_id>/pdf")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=TemplateOut, **ERRORS),
    tags=["templates"],
    operation_id="replaceTemplatePdf",
)
def replace_template_pdf(template_id: str) -> TemplateOut:
    """Replace a PDF template's PDF (multipart `pdf`, optional `definition`): a new version."""
    if request.mimetype != "multipart/form-data":
        raise Problem(415, "Unsupported Media Type", "Send multipart/form-data with a pdf file.")
    values, pdf = _multipart()
    if pdf is None:
        raise Problem(422, "Invalid input", "pdf: required")
    template = service.update_template(
        request_session(),
        actor=current_principal(),
        template_id=template_id,
        changes={"definition": values.get("definition")},
        pdf=pdf,
        max_upload_bytes=_max_upload(),
    )
    return _template_out(template)


@bp.get("/templates/<template_id>/versions")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=VersionList, **ERRORS),
    tags=["templates"],
    operation_id="listTemplateVersions",
)
def list_versions(template_id: str) -> VersionList:
    """Every version of a template, oldest first. Versions never change."""
    session = request_session()
    template = service.get_template(session, current_principal(), template_id)
    versions = session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template.id)
        .order_by(TemplateVersion.version)
    )
    items = [
        VersionOut(
            version=v.version,
            created_at=v.created_at,
            created_by_id=v.created_by_id,
            definition=v.definition,
        )
        for v in versions
    ]
    return VersionList(items=items)


@bp.post("/templates/<template_id>/preview")
@require_key()
@spec.validate(
    json=ValuesIn,
    resp=Response(HTTP_200=None, HTTP_422=ProblemOut, **ERRORS),
    tags=["templates"],
    operation_id="previewTemplate",
)
def preview_template(template_id: str, json: ValuesIn) -> FlaskResponse:
    """The document with these values as application/pdf, watermarked DRAFT."""
    session = request_session()
    principal = current_principal()
    template = service.get_template(session, principal, template_id)
    pdf = service.preview(
        session, actor=principal, template=template, values=json.fields, crm=_crm(json)
    )
    response = FlaskResponse(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="preview-{template.id}.pdf"'
    return response


@bp.post("/templates/<template_id>/validate-values")
@require_key()
@spec.validate(
    json=ValuesIn,
    resp=Response(HTTP_200=ValuesCheck, HTTP_422=ProblemOut, **ERRORS),
    tags=["templates"],
    operation_id="validateTemplateValues",
)
def validate_values(template_id: str, json: ValuesIn) -> ValuesCheck:
    """What is missing or invalid in these values, after conditions and formulas."""
    session = request_session()
    principal = current_principal()
    template = service.get_template(session, principal, template_id)
    evaluation = service.check_values(
        session, actor=principal, template=template, values=json.fields, crm=_crm(json)
    )
    return ValuesCheck(
        valid=evaluation.is_complete_for("sender"),
        missing=[MissingField(**m) for m in evaluation.missing],
        invalid=[InvalidField(**i) for i in evaluation.invalid],
        values=evaluation.json_values(),
        active_fields=sorted(evaluation.active),
        roles=evaluation.active_roles,
    )


class HtmlPreviewOut(BaseModel):
    html: str


@bp.post("/templates/<template_id>/preview-html")
@require_key()
@spec.validate(
    json=ValuesIn,
    resp=Response(HTTP_200=HtmlPreviewOut, HTTP_422=ProblemOut, **ERRORS),
    tags=["templates"],
    operation_id="previewTemplateHtml",
)
def preview_template_html(template_id: str, json: ValuesIn) -> HtmlPreviewOut:
    """The document with these values as the HTML the signing page shows (a live preview)."""
    session = request_session()
    principal = current_principal()
    template = service.get_template(session, principal, template_id)
    return HtmlPreviewOut(
        html=service.preview_html(
            session, actor=principal, template=template, values=json.fields, crm=_crm(json)
        )
    )
