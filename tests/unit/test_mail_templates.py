"""Email templates: every kind in every language, one-line subjects, escaped HTML, real links."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from connector.mail_templates import KINDS, LOCALES, locale_for, render_email

SIGNING_URL = "https://sign.example.com/s/tok_3f2c?lang=en&r=1"
DOCUMENT_URL = "https://sign.example.com/d/3f2c"


def context(**overrides: Any) -> dict[str, Any]:
    return {
        "org_name": "Acme Inc.",
        "sender_name": "Sam Sender",
        "recipient_name": "Jane Customer",
        "title": "SaaS amendment",
        "message": "Hi Jane,\nthe new seat count is in section 2.",
        "signing_url": SIGNING_URL,
        "expires_at": "2026-04-01",
        "envelope_id": "3f2c9a1e",
        "decline_reason": "The price is wrong.",
        "void_reason": "Replaced by a new version.",
        "decliner_name": "Dana Decliner",
        "document_url": DOCUMENT_URL,
        **overrides,
    }


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_locale(kind: str, locale: str) -> None:
    subject, text, html = render_email(kind, locale, context())

    assert subject
    assert "\n" not in subject
    assert "\r" not in subject
    assert subject == subject.strip()
    assert "SaaS amendment" in subject
    assert "SaaS amendment" in text
    assert "Acme Inc." in text
    assert "Countersign" in text
    assert "Acme Inc." in html
    assert "Countersign" in html
    assert "3f2c9a1e" in text
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert f'lang="{locale}"' in html
    assert "<style" not in html  # inline styles only


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ["invitation", "reminder"])
def test_the_signing_link_is_in_text_and_a_button(kind: str, locale: str) -> None:
    _, text, html = render_email(kind, locale, context())

    assert SIGNING_URL in text
    assert SIGNING_URL in parse(html).hrefs
    assert "tok_3f2c?lang=en&amp;r=1" in html  # & is escaped in the attribute
    assert "2026-04-01" in text
    assert "the new seat count" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_completed_email_links_the_document_when_there_is_one(locale: str) -> None:
    _, text, html = render_email("completed", locale, context())
    assert DOCUMENT_URL in text
    assert DOCUMENT_URL in parse(html).hrefs

    _, text, html = render_email("completed", locale, context(document_url=None))
    assert DOCUMENT_URL not in text
    assert parse(html).hrefs == []


@pytest.mark.parametrize("locale", LOCALES)
def test_reasons_and_names_are_shown(locale: str) -> None:
    _, declined, _ = render_email("declined", locale, context())
    _, voided, _ = render_email("voided", locale, context())
    assert "Dana Decliner" in declined
    assert "The price is wrong." in declined
    assert "Replaced by a new version." in voided


@pytest.mark.parametrize("kind", KINDS)
def test_html_escapes_values(kind: str) -> None:
    hostile = context(
        recipient_name="<script>alert(1)</script>",
        title='Deal "<b>"',
        message="<img src=x onerror=alert(1)>",
        decline_reason="<i>no</i>",
    )
    _, text, html = render_email(kind, "en", hostile)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>" not in html
    assert "<img" not in html
    assert "<i>" not in html
    assert "<script>alert(1)</script>" in text  # the text part is not HTML
    assert "<script>alert(1)</script>" in " ".join(parse(html).text)


def test_the_subject_is_folded_to_one_line() -> None:
    subject, _, _ = render_email("invitation", "en", context(title="Line one\r\nBcc: x@evil"))
    assert "\n" not in subject
    assert "\r" not in subject
    assert "Line one Bcc: x@evil" in subject


def test_message_line_breaks_survive_in_html() -> None:
    _, _, html = render_email("invitation", "en", context(message="one\ntwo"))
    assert "one<br>\ntwo" in html


@pytest.mark.parametrize("kind", KINDS)
def test_spanish_differs_from_english(kind: str) -> None:
    english = render_email(kind, "en", context())
    spanish = render_email(kind, "es", context())
    for en, es in zip(english, spanish, strict=True):
        assert en != es


def test_spanish_wording() -> None:
    subject, text, html = render_email("invitation", "es", context())
    assert "le ha enviado un documento para firmar" in text
    assert "Revisar y firmar" in html
    assert "para firmar" in subject
    assert "copia en papel" in text


@pytest.mark.parametrize("locale", ["fr", "", "xx-YY", "EN", "en-GB"])
def test_unknown_locales_fall_back_to_english(locale: str) -> None:
    assert render_email("invitation", locale, context()) == render_email(
        "invitation", "en", context()
    )


def test_regional_spanish_is_spanish() -> None:
    assert locale_for("es-MX") == locale_for("es_ES") == "es"
    assert render_email("reminder", "es-MX", context()) == render_email("reminder", "es", context())


def test_optional_keys_may_be_left_out() -> None:
    minimal = context()
    for key in ("message", "expires_at", "document_url", "decline_reason", "void_reason"):
        del minimal[key]
    for kind in KINDS:
        render_email(kind, "en", minimal)
    _, text, _ = render_email("declined", "en", minimal)
    assert "No reason was given." in text


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="Unknown email kind"):
        render_email("welcome", "en", context())


def test_missing_required_keys_are_an_error() -> None:
    with pytest.raises(ValueError, match="signing_url"):
        render_email("invitation", "en", context(signing_url=None))
    with pytest.raises(ValueError, match="decliner_name"):
        render_email("declined", "en", {k: v for k, v in context().items() if k != "decliner_name"})


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "//evil.example/x"])
def test_links_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http or https"):
        render_email("invitation", "en", context(signing_url=url))
