"""Template use cases: create, change (a new immutable version each time), list, preview, check.

Admins edit; agents see their teams' templates (and org-wide ones) and send them; compliance
reads. An agent can never change a locked clause or a locked field.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from connector.actors import Actor
from connector.documents import read_document, store_document
from connector.models import (
    Document,
    DocumentKind,
    Org,
    Role,
    Team,
    TeamMember,
    Template,
    TemplateVersion,
    utcnow,
)
from connector.orgs import org_logo
from connector.problems import Problem
from connector.templates.definition import (
    SIGNING_TYPES,
    DefinitionError,
    TemplateDefinition,
    parse_definition,
)
from connector.templates.document import document_items
from connector.templates.evaluate import Evaluation, InvalidValue, coerce, evaluate
from connector.templates.pdf_forms import PdfInfo, PdfRejected, fill_pdf, inspect_pdf
from connector.templates.render_pdf import PageDecor, render_pdf
from connector.tenancy import get_owned, owned

PDF_FIELD_TYPES = {
    "text": "text",
    "checkbox": "checkbox",
    "select": "select",
    "signature": "signature",
}


def definition_problem(err: DefinitionError) -> Problem:
    first = err.errors[0]
    return Problem(
        422,
        "Invalid template",
        f"{first['path']}: {first['message']}",
        errors=[{"path": e["path"], "message": e["message"]} for e in err.errors],
    )


def load_definition(data: Any) -> TemplateDefinition:
    try:
        return parse_definition(data)
    except DefinitionError as err:
        raise definition_problem(err) from None


@dataclass(frozen=True)
class PdfUpload:
    filename: str
    content: bytes


def visible(actor: Actor, session: Session) -> Select[Any]:
    """The templates ``actor`` may see: all for admins and compliance, their teams' for agents."""
    statement = owned(Template, actor.org_id)
    if actor.role != Role.AGENT:
        return statement
    teams = select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id)
    return statement.where(or_(Template.team_id.is_(None), Template.team_id.in_(teams)))


def get_template(session: Session, actor: Actor, template_id: Any) -> Template:
    template = get_owned(session, Template, template_id, actor.org_id, "template")
    if (
        actor.role == Role.AGENT
        and session.scalars(visible(actor, session).where(Template.id == template.id)).first()
        is None
    ):
        raise Problem(404, "Not Found", "No template with that id in this organization.")
    return template


def current_version(session: Session, template: Template) -> TemplateVersion:
    return session.scalars(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.version == template.latest_version,
        )
    ).one()


def create_template(
    session: Session,
    *,
    actor: Actor,
    name: str,
    definition: Any,
    description: str = "",
    team_id: uuid.UUID | None = None,
    pdf: PdfUpload | None = None,
    max_upload_bytes: int,
) -> Template:
    actor.require(Role.ADMIN, doing="create templates")
    _check_name(name)
    if team_id is not None:
        get_owned(session, Team, team_id, actor.org_id, "team")
    info = _inspect(pdf, max_upload_bytes) if pdf else None
    parsed = _definition_for(definition, info)
    template = Template(
        org_id=actor.org_id, name=name.strip(), description=description, team_id=team_id
    )
    session.add(template)
    session.flush()
    _add_version(session, template, parsed, actor, pdf=pdf)
    return template


def update_template(
    session: Session,
    *,
    actor: Actor,
    template_id: Any,
    changes: Mapping[str, Any],
    pdf: PdfUpload | None = None,
    max_upload_bytes: int,
) -> Template:
    """Apply ``changes``; a changed definition or PDF becomes a new version, never an edit."""
    actor.require(Role.ADMIN, doing="change templates")
    template = get_template(session, actor, template_id)
    if "name" in changes:
        _check_name(changes["name"])
        template.name = changes["name"].strip()
    if "description" in changes:
        template.description = changes["description"] or ""
    if "team_id" in changes:
        if changes["team_id"] is not None:
            get_owned(session, Team, changes["team_id"], actor.org_id, "team")
        template.team_id = changes["team_id"]
    if "archived" in changes:
        template.archived_at = utcnow() if changes["archived"] else None
    if changes.get("definition") is not None or pdf is not None:
        previous = current_version(session, template)
        base_pdf = pdf or _base_pdf_upload(session, previous)
        info = _inspect(base_pdf, max_upload_bytes) if base_pdf else None
        parsed = _definition_for(changes.get("definition") or previous.definition, info)
        if parsed.model_dump(mode="json") != previous.definition or pdf is not None:
            _add_version(session, template, parsed, actor, pdf=base_pdf)
    template.updated_at = utcnow()
    session.flush()
    return template


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Problem(
            422,
            "Invalid input",
            "name: must be 1 to 200 characters",
            errors=[{"path": "name", "message": "must be 1 to 200 characters"}],
        )


def _add_version(
    session: Session,
    template: Template,
    definition: TemplateDefinition,
    actor: Actor,
    *,
    pdf: PdfUpload | None,
) -> TemplateVersion:
    template.latest_version += 1
    version = TemplateVersion(
        org_id=template.org_id,
        template_id=template.id,
        version=template.latest_version,
        definition=definition.model_dump(mode="json"),
        created_by_id=actor.user_id,
    )
    session.add(version)
    session.flush()
    if pdf is not None:
        store_document(
            session,
            org_id=template.org_id,
            kind=DocumentKind.BASE_PDF,
            filename=pdf.filename,
            content=pdf.content,
            template_version_id=version.id,
        )
    return version


def base_pdf(session: Session, version: TemplateVersion) -> Document | None:
    return session.scalars(
        select(Document).where(
            Document.template_version_id == version.id, Document.kind == DocumentKind.BASE_PDF
        )
    ).first()


def _base_pdf_upload(session: Session, version: TemplateVersion) -> PdfUpload | None:
    document = base_pdf(session, version)
    return PdfUpload(document.filename, read_document(document)) if document else None


def _inspect(pdf: PdfUpload, max_upload_bytes: int) -> PdfInfo:
    try:
        return inspect_pdf(pdf.content, max_bytes=max_upload_bytes)
    except PdfRejected as err:
        raise Problem(
            422, "Unacceptable PDF", f"pdf: {err}", errors=[{"path": "pdf", "message": str(err)}]
        ) from None


def _definition_for(data: Any, info: PdfInfo | None) -> TemplateDefinition:
    """Check a definition; for a PDF template without one, derive it from the form's fields."""
    if data is None and info is not None:
        data = definition_from_pdf(info)
    if data is None:
        raise Problem(
            422,
            "Invalid template",
            "definition: required (or upload a PDF with form fields)",
            errors=[{"path": "definition", "message": "required"}],
        )
    definition = load_definition(data)
    if info is not None:
        _check_against_pdf(definition, info)
    elif not definition.body:
        raise Problem(
            422,
            "Invalid template",
            "body: a template without a PDF needs a body",
            errors=[{"path": "body", "message": "a template without a PDF needs a body"}],
        )
    return definition


def definition_from_pdf(info: PdfInfo) -> dict[str, Any]:
    """A starting definition for a PDF: one field per form field, one signer role."""
    fields: list[dict[str, Any]] = []
    used: set[str] = set()
    for form_field in info.fields:
        key = _key_for(form_field.name, used)
        entry: dict[str, Any] = {
            "key": key,
            "label": form_field.name[:300],
            "type": PDF_FIELD_TYPES[form_field.type],
            "required": form_field.required,
            "pdf_field": form_field.name,
        }
        if form_field.type == "select":
            entry["options"] = list(form_field.options) or ["(none)"]
        if form_field.type == "signature":
            entry |= {
                "filled_by": "signer",
                "placement": {"page": form_field.page, "rect": list(form_field.rect)},
            }
        fields.append(entry)
    return {
        "roles": [{"key": "signer", "kind": "signer", "label": "Signer"}],
        "fields": fields,
        "body": [],
    }


def _key_for(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:50] or "field"
    if not base[0].isalpha():
        base = f"f_{base}"
    key, n = base, 2
    while key in used:
        key, n = f"{base}_{n}", n + 1
    used.add(key)
    return key


def _check_against_pdf(definition: TemplateDefinition, info: PdfInfo) -> None:
    names = {f.name for f in info.fields}
    errors = []
    for i, field in enumerate(definition.fields):
        if field.pdf_field and field.pdf_field not in names:
            errors.append(
                {
                    "path": f"fields[{i}].pdf_field",
                    "message": f"the PDF has no field {field.pdf_field!r}",
                }
            )
        if field.type in SIGNING_TYPES and field.placement is None:
            errors.append(
                {
                    "path": f"fields[{i}].placement",
                    "message": "a signing field on a PDF needs a page and rectangle",
                }
            )
        if field.placement and field.placement.page > info.page_count:
            errors.append(
                {
                    "path": f"fields[{i}].placement.page",
                    "message": f"the PDF has {info.page_count} pages",
                }
            )
    if errors:
        raise definition_problem(DefinitionError(errors))


# Values an agent or admin sends: the checks shared by preview, validate-values and sending.


def check_sender_values(
    definition: TemplateDefinition,
    values: Mapping[str, Any],
    actor: Actor,
    crm_values: Mapping[str, Any] | None = None,
) -> None:
    """403 for a locked field changed by an agent; 422 for keys the sender may not fill."""
    if not isinstance(values, Mapping):
        raise Problem(422, "Invalid input", "fields: must be an object")
    specs = {f.key: f for f in definition.fields}
    errors = []
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            errors.append({"path": f"fields.{key}", "message": "unknown field"})
        elif spec.formula:
            errors.append({"path": f"fields.{key}", "message": "is calculated and cannot be set"})
        elif spec.filled_by != "sender":
            errors.append(
                {
                    "path": f"fields.{key}",
                    "message": f"is filled by the {spec.filled_by} when signing",
                }
            )
        elif (
            spec.locked
            and actor.role != Role.ADMIN
            and not _same_value(spec, value, (crm_values or {}).get(key, spec.default))
        ):
            raise Problem(
                403,
                "Forbidden",
                f"fields.{key}: is locked; agents cannot change it",
                errors=[{"path": f"fields.{key}", "message": "is locked"}],
            )
    if errors:
        raise Problem(
            422, "Invalid input", f"{errors[0]['path']}: {errors[0]['message']}", errors=errors
        )


def _same_value(spec: Any, value: Any, default: Any) -> bool:
    try:
        return bool(coerce(spec, value) == coerce(spec, default))
    except InvalidValue:
        return False


def check_values(
    session: Session,
    *,
    actor: Actor,
    template: Template,
    values: Mapping[str, Any],
    crm: Mapping[str, str] | None = None,
) -> Evaluation:
    """Check and evaluate sender values; with a CRM record, its values fill in (locked ones win)."""
    from connector.crm.prefill import CrmRecord, merge, prefill

    definition = TemplateDefinition.model_validate(current_version(session, template).definition)
    prefilled = {}
    if crm:
        record = CrmRecord(crm["system"], crm["object"], crm["record_id"])
        prefilled = prefill(session, actor.org_id, definition, record)
    crm_values = {key: p.value for key, p in prefilled.items()}
    check_sender_values(definition, values, actor, crm_values)
    return evaluate(definition, merge(dict(values), prefilled))


def preview(
    session: Session,
    *,
    actor: Actor,
    template: Template,
    values: Mapping[str, Any],
    crm: Mapping[str, str] | None = None,
) -> bytes:
    """The document as it would be sent, marked DRAFT; invalid values are a 422."""
    version = current_version(session, template)
    evaluation = check_values(session, actor=actor, template=template, values=values, crm=crm)
    if evaluation.invalid:
        first = evaluation.invalid[0]
        raise Problem(
            422,
            "Invalid values",
            f"fields.{first['field']}: {first['message']}",
            errors=[
                {"path": f"fields.{i['field']}", "message": i["message"]}
                for i in evaluation.invalid
            ],
        )
    document = base_pdf(session, version)
    if document is not None:
        return fill_pdf(read_document(document), pdf_values(evaluation), draft=True)
    org = session.get_one(Org, template.org_id)
    decor = PageDecor(
        org_name=org.name,
        logo=org_logo(session, org),
        title=evaluation.definition.title or template.name,
        footer=f"Preview of {template.name} v{version.version} — not sent",
        draft=True,
    )
    return render_pdf(document_items(evaluation), decor).pdf


def preview_html(
    session: Session,
    *,
    actor: Actor,
    template: Template,
    values: Mapping[str, Any],
    crm: Mapping[str, str] | None = None,
) -> str:
    """The HTML rendering of the document with these values (invalid values print as blanks)."""
    from connector.templates.render_html import render_html

    evaluation = check_values(session, actor=actor, template=template, values=values, crm=crm)
    return render_html(document_items(evaluation))


def pdf_values(evaluation: Evaluation) -> dict[str, str | bool]:
    values: dict[str, str | bool] = {}
    for spec in evaluation.definition.fields:
        if spec.pdf_field and spec.type not in SIGNING_TYPES and spec.key in evaluation.active:
            value = evaluation.values.get(spec.key)
            if value is not None:
                values[spec.pdf_field] = (
                    value if isinstance(value, bool) else evaluation.display(spec.key)
                )
    return values
