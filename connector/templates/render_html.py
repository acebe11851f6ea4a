"""Draw a document to HTML for the signing page: the same items as the PDF, autoescaped."""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

from connector.templates.document import Item

_ENVIRONMENT = Environment(
    autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
)
_DOCUMENT = _ENVIRONMENT.from_string(
    """<article class="cs-document">
{% for item in items %}
{% set kind = item.__class__.__name__ %}
{% if kind == "HeadingItem" %}
<h{{ item.level + 1 }} class="cs-heading">{{ item.text }}</h{{ item.level + 1 }}>
{% elif kind == "ClauseItem" %}
<section class="cs-clause"{% if item.key %} data-clause="{{ item.key }}"{% endif %}>
{% if item.title %}<h4 class="cs-clause-title">{{ item.title }}</h4>{% endif %}
{% for paragraph in item.paragraphs %}<p>{{ paragraph }}</p>{% endfor %}
</section>
{% elif kind == "TableItem" %}
<figure class="cs-table">
{% if item.title %}<figcaption>{{ item.title }}</figcaption>{% endif %}
<table>
<thead><tr>
{% for column in item.columns %}<th scope="col">{{ column }}</th>{% endfor %}
</tr></thead>
<tbody>
{% for row in item.rows %}
<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
</figure>
{% elif kind == "PageBreakItem" %}
<hr class="cs-page-break">
{% elif kind == "SignatureItem" %}
<section class="cs-signature" data-role="{{ item.role }}">
<h4 class="cs-signature-label">{{ item.label }}</h4>
<div class="cs-signature-box" aria-label="Signature of {{ item.role }}"></div>
</section>
{% endif %}
{% endfor %}
</article>"""
)


def render_html(items: list[Item]) -> str:
    """An HTML fragment (no scripts, no inline styles) of ``items``; every value is escaped."""
    return _DOCUMENT.render(items=items)
