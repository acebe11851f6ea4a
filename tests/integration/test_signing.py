"""The signer's side: consent, turns, fields, signatures, decline, void, expiry, reminders."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db import commit
from connector.envelopes import service as envelopes
from connector.models import Role, utcnow
from tests.factories import bearer, make_key, make_org
from tests.mailbox import Mailbox
from tests.signing_flow import make_template, recipient_id, send, session_for, sign


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return bearer(make_key(session, make_org(session, slug="acme", name="Acme Inc.")))


@pytest.fixture
def mailbox(app: Flask) -> Mailbox:
    return Mailbox(app)


def link_in(message) -> str:
    return re.search(r"/s/([A-Za-z0-9._-]+)", message.get_body(("plain",)).get_content()).group(1)


def test_invitations_follow_the_routing_order(
    client: FlaskClient, admin: dict, mailbox: Mailbox, run_jobs: Callable[[], int]
) -> None:
    envelope = send(client, admin, make_template(client, admin)).json
    run_jobs()
    first = mailbox.new()
    assert [str(m["To"]) for m in first] == ["Peter Gibbons <peter@initech.test>"]
    assert "Acme Inc." in first[0]["Subject"] or "Amendment" in first[0]["Subject"]

    token = link_in(first[0])
    opened = client.get(f"/api/v1/signing/{token}")
    assert opened.json["state"] == "consent"
    assert (
        sign(client, opened.json["session_token"], fields={"po_number": "PO-1"}).status_code == 200
    )
    run_jobs()
    assert [str(m["To"]) for m in mailbox.new()] == [
        "Peter Gibbons <peter@initech.test>",
        "Ada Admin <ada@provider.test>",
    ]
    assert envelope["id"]


def test_the_emailed_link_works_until_signed_then_shows_done(
    client: FlaskClient, admin: dict, mailbox: Mailbox, run_jobs: Callable[[], int]
) -> None:
    send(client, admin, make_template(client, admin), sequential=False)
    run_jobs()
    token = link_in(mailbox.to("peter@initech.test")[0])
    first = client.get(f"/api/v1/signing/{token}").json
    second = client.get(f"/api/v1/signing/{token}").json
    assert first["state"] == second["state"] == "consent"
    sign(client, second["session_token"])
    assert client.get(f"/api/v1/signing/{token}").json["state"] == "done"


def test_a_signing_url_is_single_use(client: FlaskClient, admin: dict) -> None:
    envelope = send(client, admin, make_template(client, admin), delivery="embedded").json
    rid = recipient_id(envelope, "customer")
    url = client.post(
        f"/api/v1/envelopes/{envelope['id']}/recipients/{rid}/signing-url", json={}, headers=admin
    ).json["url"]
    token = url.split("/s/")[1]
    assert client.get(f"/api/v1/signing/{token}").status_code == 200
    again = client.get(f"/api/v1/signing/{token}")
    assert again.status_code == 401
    assert "expired or was already used" in again.json["detail"]


def test_consent_comes_first(client: FlaskClient, admin: dict) -> None:
    envelope = send(client, admin, make_template(client, admin)).json
    token = session_for(client, admin, envelope, "customer")
    response = client.post(
        f"/api/v1/signing/{token}/complete", json={"signature": {"kind": "typed", "value": "Peter"}}
    )
    assert response.status_code == 409
    assert "disclosure" in response.json["detail"]


@pytest.mark.parametrize(
    ("fields", "signature", "path"),
    [
        ({"po_number": "x" * 41}, {"kind": "typed", "value": "Peter"}, "fields.po_number"),
        ({"seats": 1}, {"kind": "typed", "value": "Peter"}, "fields.seats"),
        ({"nope": 1}, {"kind": "typed", "value": "Peter"}, "fields.nope"),
        ({}, {"kind": "drawn", "value": "data:image/png;base64,AAAA"}, "signature.value"),
        ({}, {"kind": "typed", "value": "   "}, "signature.value"),
        ({}, None, "signature.kind"),
    ],
)
def test_bad_fields_and_signatures_are_named(
    client: FlaskClient, admin: dict, fields: dict, signature: dict | None, path: str
) -> None:
    envelope = send(client, admin, make_template(client, admin)).json
    token = session_for(client, admin, envelope, "customer")
    client.post(f"/api/v1/signing/{token}/consent", json={})
    response = client.post(
        f"/api/v1/signing/{token}/complete", json={"fields": fields, "signature": signature}
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["path"] == path
    status = client.get(f"/api/v1/envelopes/{envelope['id']}", headers=admin).json["recipients"][0][
        "status"
    ]
    assert status != "signed"


def test_decline_stops_the_envelope_for_everyone(
    client: FlaskClient, admin: dict, mailbox: Mailbox, run_jobs: Callable[[], int]
) -> None:
    envelope = send(client, admin, make_template(client, admin), sequential=False).json
    customer = session_for(client, admin, envelope, "customer")
    provider = session_for(client, admin, envelope, "provider")
    client.post(f"/api/v1/signing/{customer}/consent", json={})
    declined = client.post(
        f"/api/v1/signing/{customer}/decline", json={"reason": "Wrong seat count"}
    )
    run_jobs()

    assert declined.json == {"status": "declined"}
    got = client.get(f"/api/v1/envelopes/{envelope['id']}", headers=admin).json
    assert got["status"] == "declined"
    assert (
        next(r for r in got["recipients"] if r["role"] == "customer")["decline_reason"]
        == "Wrong seat count"
    )
    closed = client.get(f"/api/v1/signing/{provider}").json
    assert closed["state"] == "closed"
    assert closed["blocked_reason"] == "Peter Gibbons declined to sign this envelope."
    assert closed["document"]["html"] == "", "a stopped envelope shows no content"
    late = sign(client, provider, typed="Ada")
    assert late.status_code == 409
    assert late.json["detail"] == "Peter Gibbons declined to sign this envelope."
    assert any(
        "Wrong seat count" in m.get_body(("plain",)).get_content()
        for m in mailbox.to("ada@provider.test")
    )


def test_void_stops_signing_and_tells_recipients(
    client: FlaskClient, admin: dict, mailbox: Mailbox, run_jobs: Callable[[], int]
) -> None:
    envelope = send(client, admin, make_template(client, admin)).json
    token = session_for(client, admin, envelope, "customer")
    voided = client.post(
        f"/api/v1/envelopes/{envelope['id']}/void", json={"reason": "Price changed"}, headers=admin
    )
    again = client.post(
        f"/api/v1/envelopes/{envelope['id']}/void", json={"reason": "x"}, headers=admin
    )
    run_jobs()
    assert voided.json["status"] == "voided"
    assert again.status_code == 409
    late = sign(client, token, typed="Peter")
    assert late.status_code == 409
    assert late.json["detail"] == "The sender voided this envelope: Price changed"
    assert client.get(f"/api/v1/signing/{token}/document.pdf").status_code == 409
    voided_mail = [
        m
        for m in mailbox.to("peter@initech.test")
        if "Price changed" in m.get_body(("plain",)).get_content()
    ]
    assert voided_mail


def test_expiry_and_reminders_run_as_jobs(
    app: Flask,
    client: FlaskClient,
    admin: dict,
    session: Session,
    mailbox: Mailbox,
    run_jobs: Callable[[], int],
) -> None:
    envelope = send(client, admin, make_template(client, admin), reminder_every_hours=24).json
    run_jobs()
    mailbox.seen |= set(mailbox.folder.glob("*.eml"))

    with app.app_context():
        assert envelopes.send_due_reminders(session, now=utcnow() + timedelta(hours=1)) == 0
        assert envelopes.send_due_reminders(session, now=utcnow() + timedelta(hours=25)) == 1
        commit(session)
    run_jobs()
    reminders = mailbox.new()
    assert [str(m["To"]) for m in reminders] == ["Peter Gibbons <peter@initech.test>"]

    with app.app_context():
        assert envelopes.expire_due(session, now=utcnow() + timedelta(days=31)) == 1
        commit(session)
    got = client.get(f"/api/v1/envelopes/{envelope['id']}", headers=admin).json
    assert got["status"] == "expired"
    actions = [
        e["action"]
        for e in client.get(f"/api/v1/envelopes/{envelope['id']}/audit", headers=admin).json[
            "events"
        ]
    ]
    assert "reminded" in actions
    assert actions[-1] == "expired"


def test_cc_gets_the_sealed_pdf_and_it_validates_with_pyhanko(
    app: Flask,
    client: FlaskClient,
    admin: dict,
    session: Session,
    mailbox: Mailbox,
    run_jobs: Callable[[], int],
    tmp_path: Path,
) -> None:
    envelope = send(client, admin, make_template(client, admin), sequential=False).json
    assert sign(client, session_for(client, admin, envelope, "customer")).status_code == 200
    assert (
        sign(client, session_for(client, admin, envelope, "provider"), typed="Ada").status_code
        == 200
    )
    run_jobs()
    completed = [m for m in mailbox.to("billing@initech.test") if list(m.iter_attachments())]
    assert completed, "the cc recipient receives the final copy"
    attachment = next(completed[0].iter_attachments())
    final = client.get(f"/api/v1/envelopes/{envelope['id']}/document", headers=admin).data
    assert attachment.get_content() == final

    from connector.evidence.keys import seal_identity
    from connector.models import Org

    with app.app_context():
        org = session.scalars(select(Org).where(Org.slug == "acme")).one()
        (tmp_path / "root.pem").write_bytes(seal_identity(session, org).trust_root_pem)
    (tmp_path / "final.pdf").write_bytes(final)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "pyhanko"),
            "sign",
            "validate",
            "--pretty-print",
            "--trust",
            str(tmp_path / "root.pem"),
            "--trust-replace",
            "--no-revocation-check",
            str(tmp_path / "final.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "judged VALID" in result.stdout


def test_other_orgs_and_roles(client: FlaskClient, admin: dict, session: Session) -> None:
    envelope = send(client, admin, make_template(client, admin)).json
    other = bearer(make_key(session, make_org(session, slug="globex")))
    assert client.get(f"/api/v1/envelopes/{envelope['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/envelopes", headers=other).json["items"] == []
    compliance = bearer(make_key(session, make_org(session, slug="initrode"), Role.COMPLIANCE))
    assert (
        client.post(
            "/api/v1/envelopes",
            json={
                "template_id": envelope["template_version_id"],
                "recipients": [{"name": "a", "email": "a@b.co", "role": "x"}],
            },
            headers=compliance,
        ).status_code
        == 403
    )


def test_list_filters(client: FlaskClient, admin: dict) -> None:
    template_id = make_template(client, admin)
    send(
        client, admin, template_id, crm={"system": "zendesk", "object": "ticket", "record_id": "42"}
    )
    send(client, admin, template_id)
    by_record = client.get("/api/v1/envelopes?crm_record_id=42", headers=admin).json["items"]
    by_text = client.get("/api/v1/envelopes?q=initech", headers=admin).json["items"]
    by_status = client.get("/api/v1/envelopes?status=completed", headers=admin).json["items"]
    assert [e["crm"]["record_id"] for e in by_record] == ["42"]
    assert len(by_text) == 2
    assert by_status == []


def test_sending_checks_values_and_recipients(client: FlaskClient, admin: dict) -> None:
    template_id = make_template(client, admin)
    missing = client.post(
        "/api/v1/envelopes",
        json={
            "template_id": template_id,
            "fields": {"seats": 2},
            "recipients": [{"name": "P", "email": "p@x.co", "role": "customer"}],
        },
        headers=admin,
    )
    assert missing.status_code == 422
    assert {"path": "fields.customer_company", "message": "is required"} in missing.json["errors"]
    from tests.signing_flow import SAAS_FIELDS

    no_provider = client.post(
        "/api/v1/envelopes",
        json={
            "template_id": template_id,
            "fields": SAAS_FIELDS,
            "recipients": [{"name": "P", "email": "p@x.co", "role": "customer"}],
        },
        headers=admin,
    )
    assert no_provider.status_code == 422
    assert no_provider.json["detail"] == "recipients: role 'provider' needs a recipient"
