"""The Zendesk adapter against the Zendesk simulator: a real HTTPS server with a throw-away CA,
the real zenpy client, the adapter pointed at it per connection (no ZENPY_FORCE_* variables)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from zenpy.lib.exception import RatelimitBudgetExceeded

from crm_adapters.base import (
    REGISTRY,
    Attachment,
    ConnectionInfo,
    CrmError,
    RateLimited,
    RecordRef,
    StatusUpdate,
)
from crm_adapters.sandbox import Faults, SandboxServer
from crm_adapters.sandbox import zendesk as zs
from crm_adapters.zendesk import client as zclient
from crm_adapters.zendesk.adapter import ZendeskAdapter
from crm_adapters.zendesk.mapping import DEFAULT_FIELD_MAPPINGS, marker
from crm_adapters.zendesk.webhooks import verify_signature

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def fresh(server: SandboxServer) -> None:
    """Every test starts from the seeded data, no faults and no calls counted."""
    server.set_faults(Faults())
    with server.state.lock:
        server.state.calls.clear()
    zs.seed(server.state)


def connection(server: SandboxServer, **changes: Any) -> ConnectionInfo:
    info = ConnectionInfo(
        system="zendesk",
        base_url="https://acme.zendesk.com",
        api_base_url=server.url,
        credentials={"access_token": zs.SEEDED_TOKEN},
        settings={"ca_bundle": server.ca_pem},
    )
    return replace(info, **changes)


def adapter_of(server: SandboxServer, **changes: Any) -> ZendeskAdapter:
    # Built directly rather than through adapter_for(), which imports every vendor's adapter.
    return ZendeskAdapter(connection(server, **changes))


def test_the_adapter_is_registered_for_zendesk() -> None:
    assert REGISTRY["zendesk"] is ZendeskAdapter
    assert (ZendeskAdapter.system, ZendeskAdapter.max_batch) == ("zendesk", 100)


def calls(server: SandboxServer, prefix: str = "zendesk") -> int:
    """Sandbox calls whose "system METHOD path" key starts with ``prefix``."""
    with server.state.lock:
        return sum(n for key, n in server.state.calls.items() if key.startswith(prefix))


def update(ticket_id: int | str, status: str = "completed", **changes: Any) -> StatusUpdate:
    values: dict[str, Any] = {
        "key": str(uuid.uuid4()),
        "envelope_id": str(uuid.uuid4()),
        "record": RecordRef("zendesk", "ticket", str(ticket_id)),
        "status": status,
        "title": "Master services agreement",
        "summary": "Signed by everyone on 2026-11-30.",
        "envelope_url": "https://sign.example.test/envelopes/42",
    }
    return StatusUpdate(**(values | changes))


# --- reading ----------------------------------------------------------------------------------


def test_fetch_record_is_ticket_1_with_requester_organization_and_fields(
    server: SandboxServer,
) -> None:
    adapter = adapter_of(server)
    values = adapter.fetch_record("ticket", "1")

    assert values["ticket.id"] == 1
    assert values["ticket.subject"] == "Upgrade to enterprise"
    assert values["ticket.tags"] == "vip, billing"
    assert values["ticket.requester.name"] == "Peter Gibbons"
    assert values["ticket.requester.email"] == "peter@initech.test"
    assert values["ticket.requester.user_fields.account_tier"] == "gold"
    assert values["ticket.organization.name"] == "Initech"
    assert values["ticket.organization.organization_fields.account_number"] == "INI-0001"
    assert values[f"ticket.custom_fields.{zs.PLAN_FIELD_ID}"] == "enterprise"
    assert values["ticket.fields.plan"] == "enterprise"
    assert values["ticket.fields.contract_status"] is None
    assert all(path in values for path in DEFAULT_FIELD_MAPPINGS)
    # One ticket GET with sideloads, one ticket_fields GET; the fields are cached after that.
    assert calls(server) == adapter.http_calls == 2
    adapter.fetch_record("ticket", "2")
    assert calls(server) == 3


@pytest.mark.parametrize(
    "record_id", ["abc", "1 OR 1=1", "../2", "", "-1", "0", "1.0", "12345678901234567890", "\u0661"]
)
def test_a_ticket_id_that_is_not_digits_is_refused_before_any_call(
    server: SandboxServer, record_id: str
) -> None:
    adapter = adapter_of(server)
    with pytest.raises(CrmError, match="number"):
        adapter.fetch_record("ticket", record_id)
    with pytest.raises(CrmError, match="tickets"):
        adapter.fetch_record("user", "1")
    assert calls(server) == adapter.http_calls == 0


def test_a_missing_or_deleted_ticket_is_a_crm_error(server: SandboxServer) -> None:
    adapter = adapter_of(server)
    with pytest.raises(CrmError, match=r"^Zendesk ticket 999 does not exist$"):
        adapter.fetch_record("ticket", "999")
    zs.delete_ticket(server.state, 2)
    with pytest.raises(CrmError, match="Zendesk ticket 2 does not exist"):
        adapter.fetch_record("ticket", "2")


def test_list_records_searches_once_per_page_with_sideloads(server: SandboxServer) -> None:
    adapter = adapter_of(server)
    vip = adapter.list_records("ticket", "tags:vip")
    assert [v["ticket.id"] for v in vip] == [1, 4]
    assert [v["ticket.requester.name"] for v in vip] == ["Peter Gibbons", "Ana Lima"]
    assert vip[1]["ticket.organization.name"] == "Globex"
    assert calls(server, "zendesk GET /api/v2/search.json") == 1
    assert calls(server) == 2  # the search and ticket_fields: nothing per ticket

    pending = adapter.list_records("ticket", "status:pending")
    assert [v["ticket.subject"] for v in pending] == ["Renewal paperwork"]
    for n in range(150):
        zs.add_ticket(server.state, subject=f"Bulk {n}", tags=["bulk"])
    assert len(adapter.list_records("ticket", "tags:bulk", limit=120)) == 120
    assert calls(server, "zendesk GET /api/v2/search.json") == 4  # 1 + 1 + two pages


# --- writing ----------------------------------------------------------------------------------


def test_completed_update_posts_one_private_note_with_the_pdf_and_swaps_tags(
    server: SandboxServer,
) -> None:
    adapter = adapter_of(
        server,
        settings={
            "ca_bundle": server.ca_pem,
            "status_field_id": zs.CONTRACT_STATUS_FIELD_ID,
        },
    )
    sent = update(1, "sent")
    assert [r.outcome for r in adapter.write_back([sent])] == ["ok"]
    assert "contract_sent" in zs.ticket(server.state, 1)["tags"]
    before = zs.comments(server.state, 1)

    done = update(
        1,
        "completed",
        envelope_id=sent.envelope_id,
        attachment=Attachment("Master services agreement.pdf", "application/pdf", PDF),
    )
    results = adapter.write_back([done])

    assert [(r.key, r.outcome, r.error) for r in results] == [(done.key, "ok", None)]
    after = zs.comments(server.state, 1)
    assert len(after) == len(before) + 1
    note = after[-1]
    assert note["public"] is False
    assert "Master services agreement" in note["body"]
    assert "Signed by everyone on 2026-11-30." in note["body"]
    assert "https://sign.example.test/envelopes/42" in note["body"]
    assert marker(sent.envelope_id, "completed") in note["body"]
    [attached] = note["attachments"]
    assert attached["file_name"] == "Master services agreement.pdf"
    assert attached["content_type"] == "application/pdf"
    assert zs.attachment_bytes(server.state, attached["id"]) == PDF
    ticket = zs.ticket(server.state, 1)
    assert set(ticket["tags"]) == {"vip", "billing", "contract_signed"}
    assert {"id": zs.CONTRACT_STATUS_FIELD_ID, "value": "completed"} in ticket["custom_fields"]
    # Each write_back: update_many and one poll; the second one an upload first.
    assert calls(server, "zendesk POST /api/v2/uploads.json") == 1
    assert calls(server, "zendesk PUT /api/v2/tickets/update_many.json") == 2
    assert calls(server, "zendesk GET /api/v2/job_statuses/") == 2


def test_a_retried_update_does_not_post_a_second_note(server: SandboxServer) -> None:
    adapter = adapter_of(server)
    first = update(2, attachment=Attachment("signed.pdf", "application/pdf", PDF))
    assert adapter.write_back([first])[0].outcome == "ok"
    count = len(zs.comments(server.state, 2))
    uploads = len(zs.uploads(server.state))

    again = adapter.write_back([replace(first, attempt=2, resume="unknown")])

    assert [r.outcome for r in again] == ["ok"]
    assert len(zs.comments(server.state, 2)) == count
    assert len(zs.uploads(server.state)) == uploads  # nor a second upload of the PDF
    assert "contract_signed" in zs.ticket(server.state, 2)["tags"]
    # A second attempt whose first never reached Zendesk does post its note.
    fresh_retry = update(2, "declined", attempt=3)
    assert adapter.write_back([fresh_retry])[0].outcome == "ok"
    assert len(zs.comments(server.state, 2)) == count + 1


def test_a_job_still_running_is_retried_and_the_retry_does_not_double_post(
    server: SandboxServer,
) -> None:
    zs.set_job_polls_to_complete(server.state, 50)
    adapter = adapter_of(server)
    first = update(3, "sent")
    count = len(zs.comments(server.state, 3))

    [result] = adapter.write_back([first])
    assert (result.outcome, result.retry_after) == ("retry", 5)
    assert "still applying" in (result.error or "")
    assert (result.resume or "").startswith("job:"), "the retry asks the same job first"
    assert calls(server, "zendesk GET /api/v2/job_statuses/") == 4

    zs.set_job_polls_to_complete(server.state, 1)
    retried = replace(first, attempt=2, resume=result.resume)
    assert adapter.write_back([retried])[0].outcome == "ok"
    assert len(zs.comments(server.state, 3)) == count + 1


def test_150_updates_take_two_update_many_calls_and_fail_only_the_missing_ticket(
    server: SandboxServer,
) -> None:
    generated = [zs.add_ticket(server.state, subject=f"Order {n}") for n in range(145)]
    ids: list[int] = [1, 2, 3, 4, *generated, 999]
    updates = [update(ticket_id, "sent") for ticket_id in ids]
    assert len(updates) == 150
    adapter = adapter_of(server)

    results = adapter.write_back(updates)

    assert [r.key for r in results] == [u.key for u in updates]
    by_ticket = dict(zip(ids, results, strict=True))
    assert by_ticket[999].outcome == "failed"
    assert by_ticket[999].error == "Zendesk ticket 999 does not exist (or was deleted)"
    assert {r.outcome for t, r in by_ticket.items() if t != 999} == {"ok"}
    assert all("contract_sent" in zs.ticket(server.state, t)["tags"] for t in ids[:-1])
    assert calls(server, "zendesk PUT /api/v2/tickets/update_many.json") == 2
    assert calls(server, "zendesk GET /api/v2/job_statuses/") == 2
    assert calls(server) == adapter.http_calls == 4


def test_1000_updates_without_attachments_take_at_most_20_calls(server: SandboxServer) -> None:
    ids = [zs.add_ticket(server.state, subject=f"Renewal {n}") for n in range(1000)]
    adapter = adapter_of(
        server,
        settings={
            "ca_bundle": server.ca_pem,
            "status_field_id": zs.CONTRACT_STATUS_FIELD_ID,
        },
    )

    results = adapter.write_back([update(t, "sent") for t in ids])

    assert {r.outcome for r in results} == {"ok"}
    assert calls(server) == adapter.http_calls == 20
    assert calls(server, "zendesk PUT /api/v2/tickets/update_many.json") == 10


def test_updates_of_100_tickets_share_one_update_many_however_many_they_are(
    server: SandboxServer,
) -> None:
    ids = [zs.add_ticket(server.state, subject=f"Quote {n}") for n in range(100)]
    adapter = adapter_of(server)
    results = adapter.write_back([update(ids[n % 100], "sent") for n in range(300)])
    assert {r.outcome for r in results} == {"ok"}
    assert calls(server) == 2
    assert all(len(zs.comments(server.state, t)) == 2 for t in ids)  # first comment + one note


def test_merged_notes_stay_below_zendesks_comment_size_limit(server: SandboxServer) -> None:
    adapter = adapter_of(server)
    results = adapter.write_back([update(3, "sent", title="T" * 2000) for _ in range(100)])
    assert {r.outcome for r in results} == {"ok"}
    notes = zs.comments(server.state, 3)[1:]
    assert 2 < len(notes) < 10
    assert all(len(note["body"]) < 64_000 for note in notes)
    assert sum(note["body"].count("[countersign:") for note in notes) == 100


def test_several_updates_of_one_ticket_share_one_entry(server: SandboxServer) -> None:
    adapter = adapter_of(server)
    sent = update(4, "sent")
    batch = [sent, update(4, "completed", envelope_id=sent.envelope_id), update(4, "declined")]
    assert [r.outcome for r in adapter.write_back(batch)] == ["ok", "ok", "ok"]
    assert set(zs.ticket(server.state, 4)["tags"]) == {
        "legal",
        "vip",
        "contract_signed",
        "contract_declined",
    }
    note = zs.comments(server.state, 4)[-1]["body"]
    assert note.count("[countersign:") == 3


def test_permanent_errors_fail_their_update_only(server: SandboxServer) -> None:
    adapter = adapter_of(server, settings={"ca_bundle": server.ca_pem, "status_field_id": 12345})
    results = adapter.write_back([update(1), update("x1"), update(5)])
    assert [r.outcome for r in results] == ["failed", "failed", "failed"]
    assert "Ticket field 12345 does not exist" in (results[0].error or "")
    assert "number" in (results[1].error or "")
    assert "closed prevents ticket update" in (results[2].error or "")

    results = adapter_of(server).write_back([update(1), update(5)])
    assert [r.outcome for r in results] == ["ok", "failed"]


def test_rate_limits_are_retries_with_retry_after_and_no_sleep(server: SandboxServer) -> None:
    adapter = adapter_of(server)
    server.set_faults(Faults(rate=1.0, kinds=("429",), retry_after=30))
    batch = [
        update(1, attachment=Attachment("a.pdf", "application/pdf", PDF)),
        update(2),
        update(3),
    ]

    started = time.monotonic()
    results = adapter.write_back(batch)
    elapsed = time.monotonic() - started

    assert elapsed < 1.0  # zenpy would have slept 30 s
    assert [(r.outcome, r.retry_after) for r in results] == [("retry", 30.0)] * 3
    assert calls(server) == 1  # the first refusal stops the batch

    with pytest.raises(RateLimited) as raised:
        adapter.fetch_record("ticket", "1")
    assert raised.value.retry_after == 30
    assert time.monotonic() - started < 2.0


def test_zenpy_itself_would_raise_rather_than_sleep_on_a_429(server: SandboxServer) -> None:
    """The second guard: without the session hook, ratelimit_budget=0 stops zenpy's sleep."""
    client = zclient.build_client(connection(server))
    client.tickets.session.hooks["response"] = []
    server.set_faults(Faults(rate=1.0, kinds=("429",), retry_after=30))
    started = time.monotonic()
    with pytest.raises(RatelimitBudgetExceeded):
        client.tickets(id=1)
    assert time.monotonic() - started < 1.0


def test_5xx_is_a_retry(server: SandboxServer) -> None:
    adapter = adapter_of(server)
    server.set_faults(Faults(rate=1.0, kinds=("5xx",)))
    results = adapter.write_back([update(1), update(2, "sent")])
    assert [r.outcome for r in results] == ["retry", "retry"]
    assert "503" in (results[0].error or "")
    with pytest.raises(CrmError, match="unavailable"):
        adapter.fetch_record("ticket", "1")


def test_attach_file_posts_a_private_note_and_returns_the_attachment_id(
    server: SandboxServer,
) -> None:
    adapter = adapter_of(server)
    attachment_id = adapter.attach_file(
        RecordRef("zendesk", "ticket", "2"),
        Attachment("Q4 & Q1 #final.pdf", "application/pdf", PDF),
    )
    note = zs.comments(server.state, 2)[-1]
    assert note["public"] is False
    [attached] = note["attachments"]
    assert str(attached["id"]) == attachment_id
    assert attached["file_name"] == "Q4 & Q1 #final.pdf"
    assert zs.attachment_bytes(server.state, int(attachment_id)) == PDF
    with pytest.raises(CrmError, match="does not exist"):
        adapter.attach_file(
            RecordRef("zendesk", "ticket", "999"), Attachment("a", "text/plain", b"a")
        )


# --- authentication ---------------------------------------------------------------------------


def test_the_sandbox_wants_a_bearer_token_it_issued(server: SandboxServer) -> None:
    ca = zclient.ca_bundle_file(server.ca_pem)
    url = f"{server.url}/api/v2/tickets/1.json"
    assert requests.get(url, verify=ca, timeout=5).status_code == 401
    wrong = requests.get(url, verify=ca, timeout=5, headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_token")
    good = requests.get(
        url, verify=ca, timeout=5, headers={"Authorization": f"Bearer {zs.SEEDED_TOKEN}"}
    )
    assert good.json()["ticket"]["id"] == 1


def test_a_refused_token_without_refresh_is_a_crm_error(server: SandboxServer) -> None:
    adapter = adapter_of(server, credentials={"access_token": "revoked"})
    with pytest.raises(CrmError, match=r"^Zendesk refused the access token$"):
        adapter.fetch_record("ticket", "1")
    with pytest.raises(CrmError, match="access token"):
        adapter.write_back([update(1)])


def test_oauth_authorization_code_flow_gives_a_working_token(server: SandboxServer) -> None:
    info = connection(server)
    url = zclient.authorize_url(
        info,
        client_id="countersign",
        state="xyz",
        redirect_uri="https://app.example.test/crm/zendesk/callback",
    )
    session = zclient.build_session(info)
    answer = session.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.netloc == "app.example.test"
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]

    tokens = zclient.exchange_code(
        info,
        code=query["code"][0],
        client_id="countersign",
        client_secret="s3cret",
        redirect_uri="https://app.example.test/crm/zendesk/callback",
    )
    assert tokens["token_type"] == "bearer"
    assert tokens["refresh_token"]
    assert tokens["expires_in"]
    with pytest.raises(
        CrmError, match=r"invalid_grant|authorization grant"
    ):  # codes are single-use
        zclient.exchange_code(
            info,
            code=query["code"][0],
            client_id="countersign",
            client_secret="s3cret",
            redirect_uri="https://app.example.test/crm/zendesk/callback",
        )

    adapter = adapter_of(server, credentials={"access_token": tokens["access_token"]})
    assert adapter.fetch_record("ticket", "1")["ticket.requester.name"] == "Peter Gibbons"


def test_the_token_endpoint_takes_authlib_basic_client_auth(server: SandboxServer) -> None:
    """connector.crm.oauth exchanges codes with authlib (client_secret_basic, form body)."""
    from authlib.integrations.requests_client import OAuth2Session

    info = connection(server)
    callback = "https://app.example.test/crm/oauth/callback"
    oauth = OAuth2Session(
        "countersign-sandbox", "sandbox-secret", redirect_uri=callback, scope="read write"
    )
    url, state = oauth.create_authorization_url(f"{server.url}/oauth/authorizations/new")
    answer = zclient.build_session(info).get(url, allow_redirects=False, timeout=5)
    token = oauth.fetch_token(
        f"{server.url}/oauth/tokens",
        authorization_response=answer.headers["Location"],
        state=state,
        verify=zclient.ca_bundle_file(server.ca_pem),
        timeout=5,
    )
    adapter = adapter_of(server, credentials={"access_token": token["access_token"]})
    assert adapter.fetch_record("ticket", "2")["ticket.requester.name"] == "Ana Lima"
    wrong = OAuth2Session("countersign-sandbox", "not-the-secret", redirect_uri=callback)
    with pytest.raises(Exception, match="invalid_client"):
        wrong.fetch_token(
            f"{server.url}/oauth/tokens",
            code="whatever",
            verify=zclient.ca_bundle_file(server.ca_pem),
            timeout=5,
        )


def test_a_401_refreshes_the_token_once_and_hands_it_over(server: SandboxServer) -> None:
    zs.register_oauth_client(server.state, "countersign", "s3cret")
    tokens = zs.issue_tokens(server.state, client_id="countersign")
    zs.revoke_token(server.state, tokens["access_token"])
    stored: list[dict[str, Any]] = []
    adapter = adapter_of(
        server,
        credentials={
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "client_id": "countersign",
            "client_secret": "s3cret",
        },
        on_credentials=stored.append,
    )

    assert adapter.fetch_record("ticket", "1")["ticket.id"] == 1
    assert [r.outcome for r in adapter.write_back([update(1, "sent")])] == ["ok"]

    [new] = stored
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (new["client_id"], new["client_secret"]) == ("countersign", "s3cret")
    assert adapter.connection.credentials == new
    # The new token works on its own; the old refresh token was rotated away.
    assert (
        adapter_of(server, credentials={"access_token": new["access_token"]}).fetch_record(
            "ticket", "2"
        )["ticket.id"]
        == 2
    )
    with pytest.raises(CrmError, match="refused the token request"):
        zclient.refresh_tokens(
            connection(
                server,
                credentials={
                    "refresh_token": tokens["refresh_token"],
                    "client_id": "countersign",
                    "client_secret": "s3cret",
                },
            )
        )


def test_a_second_401_after_refresh_is_a_crm_error(server: SandboxServer) -> None:
    tokens = zs.issue_tokens(server.state, client_id="countersign", expires_in=None)
    zs.revoke_token(server.state, tokens["access_token"])
    stored: list[dict[str, Any]] = []
    adapter = adapter_of(
        server,
        credentials={
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "client_id": "countersign",
            "client_secret": "s3cret",
        },
        on_credentials=stored.append,
    )
    assert adapter.fetch_record("ticket", "1")
    zs.revoke_token(server.state, stored[0]["access_token"])
    with pytest.raises(CrmError, match="refused the access token"):
        adapter.fetch_record("ticket", "1")
    assert len(stored) == 1


# --- webhooks ---------------------------------------------------------------------------------


def signed(body: bytes, secret: str, when: datetime) -> dict[str, str]:
    timestamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


def test_webhook_signatures() -> None:
    body = b'{"type":"zen:event-type:ticket.status_changed","detail":{"id":"1"}}'
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    headers = signed(body, "whsec", now)

    assert ZendeskAdapter.verify_webhook(headers, body, "whsec", now=now)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert ZendeskAdapter.verify_webhook(lowered, body, "whsec", now=now + timedelta(minutes=4))
    assert not ZendeskAdapter.verify_webhook(headers, body + b" ", "whsec", now=now)
    assert not ZendeskAdapter.verify_webhook(headers, body, "other", now=now)
    assert not ZendeskAdapter.verify_webhook(headers, body, "", now=now)
    assert not ZendeskAdapter.verify_webhook(headers, body, "whsec", now=now + timedelta(minutes=6))
    assert not ZendeskAdapter.verify_webhook(headers, body, "whsec", now=now - timedelta(minutes=6))
    assert not verify_signature({}, body, "whsec", now=now)
    stale = signed(body, "whsec", now - timedelta(minutes=10))
    assert not ZendeskAdapter.verify_webhook(stale, body, "whsec", now=now)
