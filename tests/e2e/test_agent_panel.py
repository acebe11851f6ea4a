"""The agent panel in Chromium, framed by the demo's mock Zendesk ticket and Salesforce pages.

The real app is served by werkzeug on http://localhost:<port>, with the CRM sandbox (Zendesk and
Salesforce simulators) on https://127.0.0.1:<port + 1>. The agent sends the SaaS amendment from
the ticket sidebar; both recipients sign on a phone; the sidebar shows the envelope completed
without a reload, and the ticket gets its private note.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, FrameLocator, Page, Route, expect
from werkzeug.serving import make_server

from connector import migrate
from connector.app import create_app
from tests.support import BackgroundServer, free_port, serve_html

pytestmark = pytest.mark.e2e

TEMPLATE_NAME = "SaaS subscription upgrade amendment"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WAIT_MS = 20_000  # the bound of each wait, not a timing assertion
LIVE_MS = 30_000  # the panel polls every 5 s: a few rounds
SANDBOX_TOKEN = "sandbox-zendesk-token"

# Turn every CSP violation in any frame into a console error that names the policy.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("Content Security Policy violation: " + e.violatedDirective + " " + e.blockedURI);
});
"""


@dataclass
class Live:
    app: Flask
    base: str
    port: int
    key: str
    instance: Path

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.base}{path}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
            **kwargs,
        )

    @property
    def sandbox(self) -> str:
        return f"https://127.0.0.1:{self.port + 1}"

    @property
    def sandbox_ca(self) -> Path:
        return self.instance / "sandbox" / "ca.pem"


def free_port_pair() -> int:
    """A loopback port free now whose next port is free too (the sandbox takes PORT + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports on loopback")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("agent-panel")
    database_url = f"sqlite:///{folder / 'countersign.db'}"
    instance = folder / "instance"
    migrate.upgrade(database_url)
    port = free_port_pair()
    base = f"http://localhost:{port}"
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(instance),
            "REDIS_URL": None,
            "TESTING": True,
            "CRM_SANDBOX": "on",
            "PORT": str(port),
            "BASE_URL": base,
        }
    )
    start_sandbox = app.extensions.get("countersign.sandbox_start")
    if start_sandbox is not None:
        start_sandbox()
    seeded = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    key = re.search(r"admin: .*API key: (\S+)", seeded.output)
    assert key, seeded.output

    server = BackgroundServer(make_server("localhost", port, app, threaded=True))
    try:
        yield Live(app=app, base=base, port=port, key=key.group(1), instance=instance)
    finally:
        server.stop()


def desktop_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    return context


def phone_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
        locale="en-US",
    )
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    return context


def console_errors(page: Page, errors: list[str] | None = None) -> list[str]:
    """Console errors of the page and of every frame in it (Playwright reports both)."""
    errors = [] if errors is None else errors
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


def csp_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if "Content Security Policy" in e]


def screenshot(page: Page, name: str) -> None:
    """The whole CRM page as the agent sees it (Playwright's actions may have scrolled it)."""
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name))


def framed_panel(page: Page, name: str) -> FrameLocator:
    page.wait_for_selector(f"iframe[name='{name}']", timeout=WAIT_MS)
    return page.frame_locator(f"iframe[name='{name}']")


def signing_url(live: Live, envelope_id: str, recipient_id: str) -> str:
    response = live.api(
        "POST",
        f"/api/v1/envelopes/{envelope_id}/recipients/{recipient_id}/signing-url",
        json={},
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    assert url.startswith(f"{live.base}/s/"), url
    return url


def sign_on_phone(
    browser: Browser, url: str, name: str, errors: list[str], screenshot_to: Path | None = None
) -> None:
    """Open a signing URL on a phone, consent, adopt a typed signature and sign."""
    context = phone_context(browser)
    page = context.new_page()
    console_errors(page, errors)
    try:
        page.goto(url)
        page.get_by_role("heading", name="Consent to electronic records and signatures").wait_for(
            timeout=WAIT_MS
        )
        page.get_by_role("checkbox", name=re.compile("I have read this disclosure")).check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="Review the document").wait_for(timeout=WAIT_MS)
        page.get_by_role("tab", name="Type").click()
        page.get_by_label("Type your full name").fill(name)
        if screenshot_to is not None:
            page.locator(".signer-signature").evaluate(
                "(el) => el.scrollIntoView({block: 'center'})"
            )
            page.screenshot(path=str(screenshot_to))
        page.get_by_role("button", name="Sign", exact=True).click()
        page.get_by_role("heading", name="You signed the document").wait_for(timeout=WAIT_MS)
    finally:
        context.close()


def ticket_comments(live: Live, ticket_id: int) -> list[dict[str, Any]]:
    response = requests.get(
        f"{live.sandbox}/api/v2/tickets/{ticket_id}/comments.json",
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        verify=str(live.sandbox_ca),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    comments: list[dict[str, Any]] = response.json()["comments"]
    return comments


def test_an_agent_sends_from_the_zendesk_sidebar_and_sees_it_completed_live(
    live: Live, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = desktop_context(browser)
    page = context.new_page()
    errors = console_errors(page)
    try:
        page.goto(f"{live.base}/demo/zendesk")
        sidebar = framed_panel(page, "zendesk-sidebar")
        sidebar.get_by_role("heading", name="Contracts on this ticket").wait_for(timeout=WAIT_MS)
        expect(sidebar.locator("#envelopes-empty")).to_be_visible(timeout=WAIT_MS)
        frame = page.frame(name="zendesk-sidebar")
        assert frame is not None
        frame.evaluate("() => { window.panelWasNotReloaded = true; }")

        # 1. the template, prefilled from the ticket with each value's source
        sidebar.get_by_label("Template").select_option(label=TEMPLATE_NAME)
        customer_name = sidebar.get_by_label("Customer signatory")
        expect(customer_name).to_have_value("Peter Gibbons", timeout=WAIT_MS)
        expect(sidebar.locator("[data-field='customer_name'] .field-source")).to_have_text(
            "from Zendesk: ticket.requester.name"
        )
        expect(sidebar.get_by_label("Customer company")).to_have_value("Initech")
        expect(sidebar.get_by_label("Customer email")).to_have_value("peter@initech.test")
        unit_price = sidebar.get_by_label("Price per seat per month")
        expect(unit_price).to_have_js_property("readOnly", True)
        expect(sidebar.locator("[data-field='unit_price'] .field-tag-lock")).to_have_text("Locked")
        # recipient-filled and signing fields are not the agent's
        assert sidebar.get_by_label("Purchase order number").count() == 0

        # 2. validated as typed: a server message next to the field, the total calculated
        seats = sidebar.get_by_label("Seats")
        seats_error = sidebar.locator("#field-seats-error")
        seats.fill("0")
        expect(seats_error).to_have_text("Seats must be 1 or more.", timeout=WAIT_MS)
        seats.fill("12")
        expect(seats_error).to_be_empty(timeout=WAIT_MS)
        expect(sidebar.get_by_label("Monthly total")).to_have_value("$588.00", timeout=WAIT_MS)

        # "required" only once touched or after Send: the untouched date says nothing yet ...
        date_error = sidebar.locator("#field-effective_date-error")
        expect(date_error).to_be_empty()
        sidebar.get_by_role("button", name="Send contract").click()
        expect(date_error).to_have_text("Effective date is required.", timeout=WAIT_MS)
        expect(sidebar.get_by_role("alert").first).to_contain_text("Check the highlighted fields")
        assert sidebar.locator("li.envelope").count() == 0
        sidebar.get_by_label("Effective date").fill("2026-12-01")
        expect(date_error).to_be_empty(timeout=WAIT_MS)

        # conditional fields follow the values: the SLA exists only for enterprise
        uptime = sidebar.locator("[data-field='sla_uptime']")
        expect(uptime).to_be_hidden()
        sidebar.get_by_label("Plan").select_option("enterprise")
        expect(uptime).to_be_visible(timeout=WAIT_MS)
        expect(sidebar.get_by_label("Guaranteed uptime")).to_have_value("99.9%")

        # the live preview, server-rendered
        sidebar.locator("summary", has_text="Preview").click()
        preview = sidebar.locator("#preview-document")
        expect(preview).to_contain_text("for a monthly total of $588.00", timeout=WAIT_MS)
        expect(preview).to_contain_text("For the Customer: Peter Gibbons")
        expect(preview).to_contain_text("Service level")

        # 3. recipients: the requester is the customer; the agent names the provider
        customer = sidebar.get_by_role("group", name=re.compile("Customer"))
        expect(customer.get_by_role("textbox", name="Name")).to_have_value("Peter Gibbons")
        expect(customer.get_by_role("textbox", name="Email")).to_have_value("peter@initech.test")
        customer.get_by_label("Embedded").check()
        provider = sidebar.get_by_role("group", name=re.compile("Provider"))
        provider.get_by_role("textbox", name="Name").fill("Ada Admin")
        provider.get_by_role("textbox", name="Email").fill("admin@demo.countersign.test")
        provider.get_by_label("Embedded").check()

        # 4. send with a double click: one envelope, shown as Sent, and the form resets
        sidebar.get_by_role("button", name="Send contract").dblclick()
        card = sidebar.locator("li.envelope")
        expect(card).to_have_count(1, timeout=WAIT_MS)
        expect(card.locator(".envelope-status .badge")).to_have_text("Sent")
        expect(sidebar.get_by_label("Template")).to_have_value("")
        envelope_id = card.get_attribute("data-envelope")
        assert envelope_id
        listed = live.api("GET", "/api/v1/envelopes", params={"crm_record_id": "1"})
        assert listed.status_code == 200, listed.text
        assert [e["id"] for e in listed.json()["items"]] == [envelope_id]
        envelope = listed.json()["items"][0]
        assert envelope["crm"] == {"system": "zendesk", "object": "ticket", "record_id": "1"}
        by_role = {r["role"]: r for r in envelope["recipients"]}
        assert by_role["customer"]["delivery"] == "embedded"
        assert by_role["customer"]["routing_order"] == 1
        assert by_role["provider"]["delivery"] == "embedded"
        assert by_role["provider"]["routing_order"] == 2
        assert by_role["provider"]["email"] == "admin@demo.countersign.test"
        screenshot(page, "sidebar-desktop.png")

        # Copy signing link: the clipboard, or a visible box with the link when refused
        sidebar.get_by_role("button", name="Copy signing link for Peter Gibbons").click()
        copied = sidebar.locator(".envelope-note-ok, .link-box input")
        expect(copied.first).to_be_visible(timeout=WAIT_MS)
        if sidebar.locator(".link-box input").count():
            link = sidebar.locator(".link-box input").input_value()
            assert link.startswith(f"{live.base}/s/"), link

        # 5. both recipients sign on a phone; the sidebar follows without a reload
        customer_row = card.locator(f"li[data-recipient='{by_role['customer']['id']}'] .badge")
        provider_row = card.locator(f"li[data-recipient='{by_role['provider']['id']}'] .badge")
        sign_on_phone(
            browser,
            signing_url(live, envelope_id, by_role["customer"]["id"]),
            "Peter Gibbons",
            errors,
            screenshot_to=ARTIFACTS / "signer-phone.png",
        )
        expect(customer_row).to_have_text("Signed", timeout=LIVE_MS)
        sign_on_phone(
            browser,
            signing_url(live, envelope_id, by_role["provider"]["id"]),
            "Ada Admin",
            errors,
        )
        expect(card.locator(".envelope-status .badge")).to_have_text("Completed", timeout=LIVE_MS)
        expect(provider_row).to_have_text("Signed")
        assert frame.evaluate("() => window.panelWasNotReloaded === true")
        expect(card.get_by_role("button", name="Remind")).to_have_count(0)
        expect(card.get_by_role("button", name=re.compile("Download PDF"))).to_be_visible()
        screenshot(page, "sidebar-completed.png")
    finally:
        context.close()

    # 6. the write-back: a private note on ticket 1 with the completed marker
    marker = f"[countersign:{envelope_id}:completed]"
    deadline = time.monotonic() + 15
    notes: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        notes = [c for c in ticket_comments(live, 1) if marker in str(c.get("body"))]
        if notes:
            break
        time.sleep(0.5)
    assert notes, f"no note with {marker} on ticket 1"
    assert notes[0]["public"] is False
    assert not csp_errors(errors), errors


def test_the_salesforce_record_page_frames_the_panel_prefilled_from_the_opportunity(
    live: Live, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = desktop_context(browser)
    page = context.new_page()
    errors = console_errors(page)
    try:
        page.goto(f"{live.base}/demo/salesforce")
        canvas = framed_panel(page, "salesforce-canvas")
        canvas.get_by_role("heading", name="Contracts on this record").wait_for(timeout=WAIT_MS)
        canvas.get_by_label("Template").select_option(label=TEMPLATE_NAME)
        company = canvas.get_by_label("Customer company")
        expect(company).to_have_value("Initech", timeout=WAIT_MS)
        expect(canvas.locator("[data-field='customer_company'] .field-source")).to_contain_text(
            "from Salesforce:"
        )
        expect(canvas.get_by_label("Price per seat per month")).to_have_value("$49.00")
        expect(canvas.locator("#send-submit")).to_be_enabled()
        screenshot(page, "salesforce-desktop.png")
    finally:
        context.close()
    assert not csp_errors(errors), errors


def test_the_panel_refreshes_its_token_shows_problems_by_field_and_ends_cleanly(
    live: Live, browser: Browser
) -> None:
    context = desktop_context(browser)
    # The panel believes its token expires in 5 minutes and 2 seconds: it refreshes at once.
    soon = (datetime.now(UTC) + timedelta(minutes=5, seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def expiring_soon(route: Route) -> None:
        response = route.fetch()
        body = re.sub(r'"expires_at":\s*"[^"]*"', f'"expires_at": "{soon}"', response.text())
        assert soon in body
        route.fulfill(response=response, body=body)

    context.route(re.compile(r".*/embed/zendesk/sidebar.*"), expiring_soon)
    page = context.new_page()
    errors = console_errors(page)
    try:
        with page.expect_response(
            lambda r: r.url.endswith("/api/v1/panel/refresh"), timeout=WAIT_MS
        ) as refreshed:
            page.goto(f"{live.base}/demo/zendesk")
        assert refreshed.value.status == 200, refreshed.value.text()
        new_token = refreshed.value.json()["token"]
        with page.expect_request(
            lambda r: (
                "/api/v1/envelopes" in r.url
                and r.all_headers().get("authorization") == f"Bearer {new_token}"
            ),
            timeout=LIVE_MS,
        ):
            pass  # the next poll already carries the new token

        # A problem from the server lands next to the fields it names, its detail in the alert.
        sidebar = framed_panel(page, "zendesk-sidebar")
        sidebar.get_by_label("Template").select_option(label=TEMPLATE_NAME)
        expect(sidebar.get_by_label("Customer signatory")).to_have_value(
            "Peter Gibbons", timeout=WAIT_MS
        )
        sidebar.get_by_label("Seats").fill("3")
        sidebar.get_by_label("Effective date").fill("2026-12-01")
        provider = sidebar.get_by_role("group", name=re.compile("Provider"))
        provider.get_by_role("textbox", name="Name").fill("Ada Admin")
        provider.get_by_role("textbox", name="Email").fill("ada@provider.test")
        expect(sidebar.get_by_label("Monthly total")).to_have_value("$147.00", timeout=WAIT_MS)
        problem = {
            "type": "about:blank",
            "title": "Invalid recipients",
            "status": 422,
            "detail": "recipients[1].email: is not deliverable",
            "errors": [
                {"path": "recipients[1].email", "message": "is not deliverable"},
                {"path": "fields.seats", "message": "must be at most 2"},
            ],
        }
        sent_keys: list[str | None] = []

        def refuse(route: Route) -> None:
            if route.request.method != "POST":
                route.continue_()
                return
            sent_keys.append(route.request.all_headers().get("idempotency-key"))
            route.fulfill(
                status=422, content_type="application/problem+json", body=json.dumps(problem)
            )

        context.route(re.compile(r".*/api/v1/envelopes$"), refuse)
        sidebar.get_by_role("button", name="Send contract").click()
        expect(sidebar.locator("#recipient-provider-email-error")).to_have_text(
            "Email is not deliverable", timeout=WAIT_MS
        )
        expect(sidebar.locator("#field-seats-error")).to_have_text("Seats must be 2 or less.")
        expect(sidebar.locator("#panel-alert")).to_have_text(
            "recipients[1].email: is not deliverable"
        )
        expect(sidebar.get_by_role("button", name="Send contract")).to_be_enabled()
        sidebar.get_by_role("button", name="Send contract").click()
        expect(sidebar.locator("#panel-alert")).to_have_text(
            "recipients[1].email: is not deliverable", timeout=WAIT_MS
        )
        # a second try of the same form repeats its Idempotency-Key
        assert len(sent_keys) == 2, sent_keys
        assert sent_keys[0], sent_keys
        assert sent_keys[0] == sent_keys[1], sent_keys

        # The session ends: every call is a 401, and the panel says what to do.
        def unauthorized(route: Route) -> None:
            route.fulfill(
                status=401,
                content_type="application/problem+json",
                body=json.dumps({"title": "Unauthorized", "status": 401, "detail": "ended"}),
            )

        context.unroute(re.compile(r".*/api/v1/envelopes$"))
        context.route(re.compile(r".*/api/v1/.*"), unauthorized)
        expect(
            sidebar.get_by_role("heading", name="Your session ended — reopen the ticket.")
        ).to_be_visible(timeout=LIVE_MS)
        expect(sidebar.locator("#send-form")).to_have_count(0)
    finally:
        context.close()
    assert not csp_errors(errors), errors


ZAF_HOST_PAGE = """<!doctype html>
<html><body>
<h1>Mock Zendesk agent workspace</h1>
<iframe name="zaf-sidebar" style="width:340px;height:700px"></iframe>
<form method="post" action="{action}" target="zaf-sidebar">
  <input type="hidden" name="token" value="{token}">
</form>
<script>
  // The Zendesk side of the App Framework protocol: answer the SDK's handshake and its get.
  window.zafRequests = [];
  window.addEventListener("message", (event) => {{
    if (event.origin !== "{panel_origin}") return;
    const frame = document.querySelector("iframe").contentWindow;
    const data = JSON.parse(event.data);
    if (data.key === "iframe.handshake") {{
      frame.postMessage(JSON.stringify({{key: "zaf.app.registered", appGuid: data.appGuid,
        message: {{metadata: {{}}, context: {{location: "ticket_sidebar"}}}}}}), "{panel_origin}");
    }} else if (data.request === "get") {{
      window.zafRequests.push(data.params);
      frame.postMessage(JSON.stringify({{id: data.id, result: {{
        "ticket.id": 1, "ticket.subject": "Upgrade to enterprise",
        "ticket.requester.name": "Peter Gibbons",
        "ticket.requester.email": "peter@initech.test"}}}}),
        "{panel_origin}");
    }}
  }});
  document.forms[0].submit();
</script>
</body></html>"""


def test_inside_zendesk_the_panel_reads_the_ticket_through_the_app_framework(
    live: Live, browser: Browser
) -> None:
    """A real signed URL carries no ticket: the bundled ZAF SDK asks the hosting frame for it."""
    from crm_adapters.sandbox import zendesk as zd_sandbox

    host_port = free_port()
    host_origin = f"http://127.0.0.1:{host_port}"
    assert (
        live.api("PATCH", "/api/v1/org", json={"embed_origins": [host_origin]}).status_code == 200
    )
    state = live.app.extensions["countersign.sandbox_start"]()
    token = zd_sandbox.sign_app_jwt(
        state,
        subdomain_url="https://demo.zendesk.com",
        installation_id=zd_sandbox.DEMO_INSTALLATION_ID,
    )
    action = f"{live.base}/embed/zendesk/sidebar?origin={host_origin}&app_guid=guid-1"
    html = ZAF_HOST_PAGE.format(action=action, token=token, panel_origin=live.base).encode()

    _, host = serve_html(html, host_port)
    page = desktop_context(browser).new_page()
    errors = console_errors(page)
    try:
        page.goto(host_origin + "/")
        sidebar = framed_panel(page, "zaf-sidebar")
        expect(sidebar.locator(".panel-record")).to_have_text(
            "#1 Upgrade to enterprise", timeout=WAIT_MS
        )
        sidebar.get_by_label("Template").select_option(label=TEMPLATE_NAME)
        expect(sidebar.get_by_label("Customer signatory")).to_have_value(
            "Peter Gibbons", timeout=WAIT_MS
        )
        requests_made = page.evaluate("() => window.zafRequests")
        assert [
            "ticket.id",
            "ticket.subject",
            "ticket.requester.name",
            "ticket.requester.email",
        ] in requests_made
        assert csp_errors(errors) == []
    finally:
        page.context.close()
        host.stop()
