"""The signer panel in Chromium: framed by an allowed host on another origin, drawn on with touch.

The real app is served by werkzeug on http://localhost:<port>; the host pages are tiny
http.server sites on http://127.0.0.1:<other port> (a different origin, as a helpdesk would be).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Route
from werkzeug.serving import make_server

from connector import migrate
from connector.app import create_app
from tests.support import BackgroundServer, free_port, serve_html

pytestmark = pytest.mark.e2e

TEMPLATE_NAME = "SaaS subscription upgrade amendment"
SCREENSHOT = Path("/tmp/signer-panel.png")
EXPIRED = re.compile(r"expired or was already used", re.IGNORECASE)
WAIT_MS = 20_000  # the bound of each wait, not a timing assertion

# Turn every CSP violation in any frame into a console error that names the policy.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("Content Security Policy violation: " + e.violatedDirective + " " + e.blockedURI);
});
"""

HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Helpdesk</title>
  <script src="{app}/embed.js"></script>
</head>
<body>
  <h1>Ticket #4711</h1>
  <p>The customer asked for the upgrade amendment.</p>
  <script>
    window.cs_events = [];
    window.cs_closed = [];
    window.openPanel = function (url) {{
      Countersign.open(url, {{
        onEvent: function (e) {{ window.cs_events.push(e); }},
        onClose: function (reason) {{ window.cs_closed.push(reason); }},
      }});
    }};
  </script>
</body>
</html>
"""


@dataclass
class Live:
    app: Flask
    base: str
    key: str
    template_id: str

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.base}{path}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
            **kwargs,
        )


@dataclass
class Envelope:
    id: str
    customer_id: str
    signing_url: str


def host_site(app_base: str) -> tuple[str, BackgroundServer]:
    """A host page on http://127.0.0.1:<port> that loads the embed script from the app."""
    return serve_html(HOST_PAGE.format(app=app_base).encode())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("signing-panel")
    database_url = f"sqlite:///{folder / 'countersign.db'}"
    migrate.upgrade(database_url)
    port = free_port()
    base = f"http://localhost:{port}"
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(folder / "instance"),
            "REDIS_URL": None,
            "TESTING": True,
            "BASE_URL": base,
            "PORT": port,
        }
    )
    seeded = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    key = re.search(r"admin: .*API key: (\S+)", seeded.output)
    assert key, seeded.output

    server = BackgroundServer(make_server("localhost", port, app, threaded=True))
    try:
        live = Live(app=app, base=base, key=key.group(1), template_id="")
        templates = live.api("GET", "/api/v1/templates", params={"limit": 100})
        assert templates.status_code == 200, templates.text
        live.template_id = next(
            t["id"] for t in templates.json()["items"] if t["name"] == TEMPLATE_NAME
        )
        yield live
    finally:
        server.stop()


@pytest.fixture(scope="module")
def allowed_host(live: Live) -> Iterator[str]:
    """The host page on the origin the org lets frame the panel."""
    origin, server = host_site(live.base)
    response = live.api("PATCH", "/api/v1/org", json={"embed_origins": [origin]})
    assert response.status_code == 200, response.text
    yield origin
    server.stop()


@pytest.fixture(scope="module")
def other_host(live: Live, allowed_host: str) -> Iterator[str]:
    """A host page on an origin the org did not allow."""
    origin, server = host_site(live.base)
    assert origin != allowed_host
    yield origin
    server.stop()


@pytest.fixture
def new_envelope(live: Live) -> Callable[[], Envelope]:
    def create() -> Envelope:
        response = live.api(
            "POST",
            "/api/v1/envelopes",
            json={
                "template_id": live.template_id,
                "fields": {
                    "plan": "enterprise",
                    "seats": 12,
                    "customer_company": "Initech",
                    "customer_name": "Peter Gibbons",
                    "customer_email": "peter@initech.test",
                    "effective_date": "2026-12-01",
                },
                "recipients": [
                    {
                        "name": "Peter Gibbons",
                        "email": "peter@initech.test",
                        "role": "customer",
                        "routing_order": 1,
                        "delivery": "embedded",
                    },
                    {
                        "name": "Ada Admin",
                        "email": "admin@demo.countersign.test",
                        "role": "provider",
                        "routing_order": 2,
                        "delivery": "embedded",
                    },
                ],
            },
        )
        assert response.status_code == 201, response.text
        envelope = response.json()
        customer = next(r for r in envelope["recipients"] if r["role"] == "customer")
        link = live.api(
            "POST",
            f"/api/v1/envelopes/{envelope['id']}/recipients/{customer['id']}/signing-url",
            json={},
        )
        assert link.status_code in (200, 201), link.text
        url = link.json().get("url") or link.json()["signing_url"]
        assert url.startswith(f"{live.base}/s/"), url
        return Envelope(id=envelope["id"], customer_id=customer["id"], signing_url=url)

    return create


def phone_context(browser: Browser, locale: str = "en-US") -> BrowserContext:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
        locale=locale,
    )
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    return context


def console_errors(page: Page, errors: list[str] | None = None) -> list[str]:
    errors = [] if errors is None else errors
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


def draw_with_touch(page: Page, box: dict[str, float]) -> None:
    """One stroke of touch input through CDP at page coordinates: a looping, cursive-like line.

    Input.dispatchTouchEvent goes through the browser's input routing, so the touches reach the
    panel's cross-origin frame as real touch (and so pointer) events at those page coordinates.
    """
    cdp = page.context.new_cdp_session(page)
    steps = 60
    points = []
    for i in range(steps + 1):
        t = i / steps
        x = 0.12 + 0.72 * t + 0.05 * math.cos(10 * math.pi * t + math.pi)
        y = 0.45 - 0.2 * math.sin(5 * math.pi * t) * (1 - 0.5 * t)
        points.append({"x": box["x"] + box["width"] * x, "y": box["y"] + box["height"] * y})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
    for point in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def event_types(page: Page) -> list[str]:
    return page.evaluate("() => window.cs_events.map((e) => e.type)")


def test_a_customer_signs_in_the_embedded_panel_with_touch(
    live: Live, allowed_host: str, new_envelope: Callable[[], Envelope], browser: Browser
) -> None:
    envelope = new_envelope()
    context = phone_context(browser)
    page = context.new_page()
    errors = console_errors(page)
    try:
        page.goto(allowed_host)
        page.evaluate("(url) => window.openPanel(url)", envelope.signing_url)
        panel = page.frame_locator("iframe.countersign-frame")

        # 1. the disclosure, then consent
        panel.get_by_role("heading", name="Consent to electronic records and signatures").wait_for(
            timeout=WAIT_MS
        )
        assert panel.get_by_text("Demo Company").first.is_visible()
        panel.get_by_role("button", name="Continue").click()
        assert panel.get_by_text("Tick the box to agree").is_visible()  # refused unticked
        panel.get_by_role("checkbox", name=re.compile("I have read this disclosure")).check()
        panel.get_by_role("button", name="Continue").click()

        # 2. the document, the customer's own field, a drawn signature
        panel.get_by_role("heading", name="Review the document").wait_for(timeout=WAIT_MS)
        assert panel.locator(".cs-document .cs-clause").count() >= 3
        assert panel.get_by_role("link", name=re.compile("Download PDF")).is_visible()
        panel.get_by_label("Purchase order number").fill("PO-4711")
        panel.get_by_role("tab", name="Draw").click()
        # the signature section at the top of the frame: pad, intent and Sign button in view
        panel.locator(".signer-signature").evaluate("(el) => el.scrollIntoView({block: 'start'})")
        pad = panel.locator("canvas.signature-pad")
        box = pad.bounding_box()
        assert box, "the signature pad is not on screen"
        assert box["width"] >= 300, box  # a usable pad on a 390 px phone
        assert box["y"] + box["height"] <= 844, box
        draw_with_touch(page, box)
        panel.locator("main.pad-has-ink").wait_for(timeout=WAIT_MS)  # the touch stroke inked
        page.screenshot(path=str(SCREENSHOT))

        panel.get_by_role("button", name="Sign", exact=True).click()

        # 3. the host page hears loaded and signed, and the modal closes
        page.wait_for_function(
            "() => window.cs_events.some((e) => e.type === 'countersign:signed')", timeout=WAIT_MS
        )
        page.wait_for_function("() => window.cs_closed.length === 1", timeout=WAIT_MS)
        types = event_types(page)
        assert types[0] == "countersign:loaded"
        assert "countersign:signed" in types
        assert "countersign:error" not in types
        signed = page.evaluate(
            "() => window.cs_events.find((e) => e.type === 'countersign:signed')"
        )
        assert signed["envelope_id"] == envelope.id
        assert signed["recipient_id"] == envelope.customer_id
        assert page.locator(".countersign-overlay").count() == 0
    finally:
        context.close()

    detail = live.api("GET", f"/api/v1/envelopes/{envelope.id}")
    assert detail.status_code == 200, detail.text
    statuses = {r["id"]: r["status"] for r in detail.json()["recipients"]}
    assert statuses[envelope.customer_id] == "signed"
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_host_on_an_origin_not_allowed_gets_no_panel_and_no_events(
    live: Live, other_host: str, new_envelope: Callable[[], Envelope], browser: Browser
) -> None:
    context = phone_context(browser)
    page = context.new_page()
    console_errors(page)
    try:
        # frame-ancestors names only the allowed host: the frame never shows the panel.
        page.goto(other_host)
        page.evaluate("(url) => window.openPanel(url)", new_envelope().signing_url)
        page.wait_for_selector("iframe.countersign-frame")
        page.wait_for_timeout(3000)
        assert event_types(page) == []
        framed = [f for f in page.frames if f.url.startswith(live.base)]
        for frame in framed:
            assert frame.locator("#signer-header:not([hidden])").count() == 0

        # Even with the header stripped (a proxy, an old browser), the panel posts nothing to
        # an origin outside allowed_origins.
        def without_csp(route: Route) -> None:
            response = route.fetch()
            headers = {
                k: v
                for k, v in response.headers.items()
                if k.lower() not in ("content-security-policy", "x-frame-options")
            }
            route.fulfill(response=response, headers=headers)

        context.route(re.compile(r".*/s/[^/]+$"), without_csp)
        page.reload()
        page.evaluate("(url) => window.openPanel(url)", new_envelope().signing_url)
        panel = page.frame_locator("iframe.countersign-frame")
        panel.get_by_role("heading", name="Consent to electronic records and signatures").wait_for(
            timeout=WAIT_MS
        )
        page.wait_for_timeout(1000)
        assert event_types(page) == []
    finally:
        context.close()


def test_a_signing_url_works_once_then_says_it_expired(
    live: Live, new_envelope: Callable[[], Envelope], browser: Browser
) -> None:
    url = new_envelope().signing_url

    first = phone_context(browser, locale="es-ES")
    page = first.new_page()
    errors = console_errors(page)
    try:
        page.goto(url)
        page.get_by_role(
            "heading", name="Consentimiento para registros y firmas electrónicos"
        ).wait_for(timeout=WAIT_MS)
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.get_by_role("button", name="Continuar").is_visible()
    finally:
        first.close()

    second = phone_context(browser)
    page = second.new_page()
    console_errors(page, errors)
    try:
        response = page.goto(url)
        assert response is not None
        assert response.headers["cache-control"] == "no-store"
        alert = page.get_by_role("heading", name=EXPIRED)
        alert.wait_for(timeout=WAIT_MS)
        assert page.get_by_role("button", name="Continue").count() == 0
    finally:
        second.close()
    csp = [e for e in errors if "Content Security Policy" in e]
    assert not csp, csp


def test_embed_script_is_served_as_javascript(live: Live) -> None:
    response = requests.get(f"{live.base}/embed.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "window.Countersign" in response.text
    css = requests.get(f"{live.base}/static/countersign-embed.css", timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
