"""Rendering: PDF and HTML say the same thing, values print literally, pages are numbered."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from connector.templates.definition import TemplateDefinition, parse_definition
from connector.templates.demo import demo_definition
from connector.templates.document import ClauseItem, document_items
from connector.templates.evaluate import evaluate
from connector.templates.render_html import render_html
from connector.templates.render_pdf import PageDecor, render_pdf

DECOR = PageDecor(org_name="Acme Inc.", title="Amendment", footer="Envelope 3f2c-demo")
VALUES = {
    "plan": "enterprise",
    "seats": 12,
    "customer_company": "Initech",
    "effective_date": "2026-12-01",
}


@pytest.fixture(scope="module")
def saas() -> TemplateDefinition:
    return parse_definition(demo_definition("saas_amendment.yaml"))


def pdf_text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return words(" ".join(parser.parts))


def test_the_sla_clause_follows_the_plan(saas: TemplateDefinition) -> None:
    enterprise = pdf_text(render_pdf(document_items(evaluate(saas, VALUES)), DECOR).pdf)
    pro = pdf_text(render_pdf(document_items(evaluate(saas, {**VALUES, "plan": "pro"})), DECOR).pdf)

    assert "2. Service level" in enterprise
    assert "guarantees 99.9% monthly uptime" in words(enterprise)
    assert "Service level" not in pro
    assert "monthly total of $588.00" in words(enterprise)  # 12 seats at $49.00


def test_values_print_literally(saas: TemplateDefinition) -> None:
    evaluation = evaluate(saas, {**VALUES, "customer_company": "<b>x</b> & <font size=40>y"})
    items = document_items(evaluation)

    assert "<b>x</b> & <font size=40>y" in pdf_text(render_pdf(items, DECOR).pdf)
    html = render_html(items)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;font size=40&gt;y" in html
    assert "<b>x</b>" not in html


def test_header_footer_and_page_numbers(saas: TemplateDefinition) -> None:
    long = {**VALUES, "customer_company": "Initech " * 600}
    rendered = render_pdf(document_items(evaluate(saas, long)), DECOR)
    pages = PdfReader(io.BytesIO(rendered.pdf)).pages

    assert rendered.page_count == len(pages) > 1
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {len(pages)}" in text
        assert "Acme Inc." in text
        assert "Envelope 3f2c-demo" in text


def test_signature_boxes_are_recorded_for_stamping(saas: TemplateDefinition) -> None:
    rendered = render_pdf(document_items(evaluate(saas, VALUES)), DECOR)
    assert [box.role for box in rendered.signature_boxes] == ["customer", "provider"]
    width, height = 595.27, 841.89
    for box in rendered.signature_boxes:
        assert 1 <= box.page <= rendered.page_count
        assert 0 < box.x < box.x + box.width < width
        assert 0 < box.y < box.y + box.height < height


def test_html_and_pdf_carry_the_same_clauses(saas: TemplateDefinition) -> None:
    items = document_items(evaluate(saas, VALUES))
    pdf = words(pdf_text(render_pdf(items, DECOR).pdf))
    html = html_text(render_html(items))
    clauses = [p for item in items if isinstance(item, ClauseItem) for p in item.paragraphs]

    assert len(clauses) == 4  # parties, plan, SLA (enterprise), everything else
    for paragraph in clauses:
        assert words(paragraph) in html
        assert words(paragraph) in pdf


def test_the_draft_mark(saas: TemplateDefinition) -> None:
    draft = PageDecor(org_name="Acme", title="T", footer="f", draft=True)
    assert "DRAFT" in pdf_text(render_pdf(document_items(evaluate(saas, VALUES)), draft).pdf)
    assert "DRAFT" not in pdf_text(render_pdf(document_items(evaluate(saas, VALUES)), DECOR).pdf)
