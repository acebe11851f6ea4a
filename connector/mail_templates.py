"""Email bodies: subject, plain text and HTML for each kind of message, in English and Spanish.

The templates live in ``connector/mail_templates/`` as ``{kind}.{locale}.subject.txt``,
``{kind}.{locale}.txt`` and ``{kind}.{locale}.html`` (the HTML ones extend ``_layout.html``, a
table layout with inline styles because mail clients ignore style sheets). HTML is autoescaped;
the subject and the text part are not (they are not HTML), and the subject is folded to one line.

Context keys:

``org_name``
    The sending organization, shown in the header and in the footer line.
``sender_name``
    The person who sent the envelope.
``recipient_name``
    Whom the email greets.
``title``
    The document title.
``envelope_id``
    Printed in the footer as a reference.
``message``
    The sender's note to the recipients; optional, may be empty (invitation and reminder).
``signing_url``
    The recipient's personal signing link; required for invitation and reminder (http or https).
``expires_at``
    When the signing link expires, as a date string already formatted; optional, may be None.
``document_url``
    Where to download the signed document; completed only, optional, may be None.
``decliner_name``
    Who declined; required for declined.
``decline_reason``
    Why they declined; declined only, optional, may be empty.
``void_reason``
    Why the sender cancelled; voided only, optional, may be empty.

Optional keys default to empty/None; a missing required key raises ValueError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

KINDS = ("invitation", "reminder", "completed", "declined", "voided")
LOCALES = ("en", "es")
DEFAULT_LOCALE = "en"
TEMPLATES = Path(__file__).resolve().parent / "mail_templates"

COMMON = ("org_name", "sender_name", "recipient_name", "title", "envelope_id")
REQUIRED = {
    "invitation": (*COMMON, "signing_url"),
    "reminder": (*COMMON, "signing_url"),
    "completed": COMMON,
    "declined": (*COMMON, "decliner_name"),
    "voided": COMMON,
}
OPTIONAL: dict[str, Any] = {
    "message": "",
    "expires_at": None,
    "document_url": None,
    "decline_reason": "",
    "void_reason": "",
}
URL_KEYS = ("signing_url", "document_url")


def _nl2br(value: object) -> Markup:
    """Escaped text with its line breaks kept as ``<br>``."""
    return Markup("<br>\n").join(escape(line) for line in str(value).splitlines())


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(
        enabled_extensions=("html",), default_for_string=False, default=False
    ),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_environment.filters["nl2br"] = _nl2br


def locale_for(locale: str | None) -> str:
    """A supported locale: ``es``, ``es-MX`` and ``es_ES`` give ``es``; anything unknown ``en``."""
    language = (locale or "").strip().replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def render_email(kind: str, locale: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) for ``kind`` in ``locale`` (unknown locales fall back to English)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown email kind {kind!r}; expected one of {', '.join(KINDS)}.")
    missing = [key for key in REQUIRED[kind] if context.get(key) in (None, "")]
    if missing:
        raise ValueError(f"The {kind} email needs {', '.join(missing)}.")
    values = {**OPTIONAL, **context}
    for key in URL_KEYS:
        url = values.get(key)
        if url and urlsplit(str(url)).scheme not in ("http", "https"):
            raise ValueError(f"{key} must be an http or https URL.")
    language = locale_for(locale)
    subject = _environment.get_template(f"{kind}.{language}.subject.txt").render(values)
    text = _environment.get_template(f"{kind}.{language}.txt").render(values)
    html = _environment.get_template(f"{kind}.{language}.html").render(values)
    return " ".join(subject.split()), text.strip() + "\n", html.strip() + "\n"
