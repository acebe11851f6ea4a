"""An envelope's document at any moment: its definition, its values, and the PDF or HTML of them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.documents import read_document
from connector.models import Document, Envelope, FieldValue, Org, TemplateVersion
from connector.orgs import org_logo
from connector.templates.definition import TemplateDefinition
from connector.templates.document import document_items
from connector.templates.evaluate import Evaluation, evaluate
from connector.templates.pdf_forms import fill_pdf, watermark_draft
from connector.templates.render_html import render_html
from connector.templates.render_pdf import PageDecor, RenderedPdf, SignatureBox, render_pdf
from connector.templates.service import base_pdf, pdf_values


def definition_of(session: Session, envelope: Envelope) -> TemplateDefinition:
    version = session.get_one(TemplateVersion, envelope.template_version_id)
    return TemplateDefinition.model_validate(version.definition)


def values_of(session: Session, envelope_id: uuid.UUID) -> dict[str, Any]:
    rows = session.scalars(select(FieldValue).where(FieldValue.envelope_id == envelope_id))
    return {row.field_key: row.value for row in rows if row.value is not None}


def evaluation_of(
    session: Session, envelope: Envelope, extra: dict[str, Any] | None = None
) -> Evaluation:
    """The envelope's values (sender's and recipients' so far, plus ``extra``) evaluated."""
    values = values_of(session, envelope.id)
    values.update(extra or {})
    return evaluate(definition_of(session, envelope), values)


def document_title(session: Session, envelope: Envelope) -> str:
    from connector.models import Template

    definition = definition_of(session, envelope)
    version = session.get_one(TemplateVersion, envelope.template_version_id)
    return definition.title or session.get_one(Template, version.template_id).name


def document_html(
    session: Session, envelope: Envelope, evaluation: Evaluation | None = None
) -> str:
    return render_html(document_items(evaluation or evaluation_of(session, envelope)))


def render_document(
    session: Session, envelope: Envelope, *, draft: bool, evaluation: Evaluation | None = None
) -> RenderedPdf:
    """The envelope's document as PDF; for a PDF template, its form filled and flattened."""
    evaluation = evaluation or evaluation_of(session, envelope)
    version = session.get_one(TemplateVersion, envelope.template_version_id)
    form = base_pdf(session, version)
    if form is not None:
        pdf = fill_pdf(read_document(form), pdf_values(evaluation), flatten=True)
        boxes = [
            SignatureBox(
                f.filled_by,
                f.placement.page,
                f.placement.rect[0],
                f.placement.rect[1],
                f.placement.rect[2] - f.placement.rect[0],
                f.placement.rect[3] - f.placement.rect[1],
            )
            for f in evaluation.definition.fields
            if f.type == "signature" and f.placement and f.key in evaluation.active
        ]
        return RenderedPdf(pdf=watermark_draft(pdf) if draft else pdf, signature_boxes=boxes)
    org = session.get_one(Org, envelope.org_id)
    decor = PageDecor(
        org_name=org.name,
        logo=org_logo(session, org),
        title=document_title(session, envelope),
        footer=f"Envelope {envelope.id}",
        draft=draft,
    )
    return render_pdf(document_items(evaluation), decor)


def envelope_document(session: Session, envelope_id: uuid.UUID, kind: str) -> Document | None:
    return session.scalars(
        select(Document)
        .where(Document.envelope_id == envelope_id, Document.kind == kind)
        .order_by(Document.created_at.desc())
    ).first()
