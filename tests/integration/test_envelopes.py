"""Send, route, sign, seal and verify: the core promise through the API."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.db import commit
from connector.models import AuditEvent
from tests.factories import bearer, make_key, make_org
from tests.signing_flow import make_template, send, session_for, sign


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return bearer(make_key(session, make_org(session, slug="acme", name="Acme Inc.")))


def test_send_route_sign_seal_verify(
    client: FlaskClient, admin: dict, run_jobs: Callable[[], int]
) -> None:
    template_id = make_template(client, admin)
    sent = send(client, admin, template_id)
    assert sent.status_code == 201, sent.json
    envelope = sent.json
    statuses = {r["role"]: r["status"] for r in envelope["recipients"]}
    assert statuses == {"customer": "sent", "provider": "created", "billing": "created"}

    provider = session_for(client, admin, envelope, "provider")
    early = sign(client, provider, typed="Ada Admin")
    assert early.status_code == 409
    assert "not your turn" in early.json["detail"]

    customer = session_for(client, admin, envelope, "customer")
    signed = sign(client, customer, fields={"po_number": "PO-7"})
    assert signed.status_code == 200, signed.json
    assert signed.json["envelope_status"] == "sent"
    again = sign(client, customer, fields={"po_number": "PO-7"})
    assert (again.status_code, again.json["detail"]) == (
        409,
        "You have already signed this envelope.",
    )
    now = client.get(f"/api/v1/envelopes/{envelope['id']}", headers=admin).json
    assert {r["role"]: r["status"] for r in now["recipients"]}["provider"] == "sent"

    provider = session_for(client, admin, envelope, "provider")
    last = sign(client, provider, typed="Ada Admin")
    assert last.json["envelope_status"] == "completed", last.json
    run_jobs()

    final = client.get(f"/api/v1/envelopes/{envelope['id']}/document", headers=admin)
    assert final.mimetype == "application/pdf"
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(final.data)).pages
    )
    assert "Signed as Customer · Peter Gibbons" in text
    assert "Signed as Provider · Ada Admin" in text
    assert "PO-7" in text
    assert "Certificate of completion" in text
    certificate = client.get(f"/api/v1/envelopes/{envelope['id']}/certificate", headers=admin)
    assert certificate.status_code == 200

    genuine = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(final.data), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert genuine.json == {
        "genuine": True,
        "envelope_id": envelope["id"],
        "sealed_at": genuine.json["sealed_at"],
        "reasons": [],
    }
    appended = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(final.data + b"\n%%EOF\n"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert appended.json["genuine"] is False
    assert appended.json["reasons"]
    flipped = bytearray(final.data)
    flipped[len(flipped) // 3] ^= 0x01
    broken = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(bytes(flipped)), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert broken.json["genuine"] is False

    changed = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(_incremental_edit(final.data)), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert changed.json["genuine"] is False
    assert any(
        "changed after it was sealed" in r or "added after" in r for r in changed.json["reasons"]
    )

    trail = client.get(f"/api/v1/envelopes/{envelope['id']}/audit", headers=admin).json
    assert trail["chain"]["valid"] is True
    actions = [e["action"] for e in trail["events"]]
    for action in (
        "created",
        "sent",
        "invited",
        "viewed",
        "consent_given",
        "signed",
        "completed",
        "sealed",
    ):
        assert action in actions
    again = client.get(f"/api/v1/envelopes/{envelope['id']}/audit", headers=admin).json
    assert again["events"][-1]["action"] == "exported", "reading the trail is itself recorded"
    assert again["chain"]["valid"] is True


def test_idempotency_key_never_sends_twice(client: FlaskClient, admin: dict) -> None:
    template_id = make_template(client, admin)
    headers = {**admin, "Idempotency-Key": "click-1"}
    first = send(client, headers, template_id)
    second = send(client, headers, template_id)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json["id"] == second.json["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/api/v1/envelopes", headers=admin).json["items"]
    assert len(listed) == 1


def test_editing_an_audit_event_is_detected(
    app: Flask, client: FlaskClient, admin: dict, session: Session
) -> None:
    envelope = send(client, admin, make_template(client, admin)).json
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "sent")).one()
    session.execute(
        update(AuditEvent).where(AuditEvent.id == event.id).values(actor_label="Someone else")
    )
    commit(session)

    result = app.test_cli_runner().invoke(args=["audit", "verify", "--envelope", envelope["id"]])
    assert result.exit_code == 1
    assert f"event {event.id} (#{event.seq} sent): its content was changed" in result.output
    trail = client.get(f"/api/v1/envelopes/{envelope['id']}/audit", headers=admin).json
    assert trail["chain"]["valid"] is False


def _incremental_edit(pdf: bytes) -> bytes:
    """Append a revision that draws new text on page 1, as a forger's PDF editor would."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.pages[0].merge_page(_text_page("Seats: 1200"))
    buffer = io.BytesIO()
    writer.write(buffer)
    edited = buffer.getvalue()
    assert edited.startswith(pdf), "an incremental update keeps the sealed bytes"
    return edited


def _text_page(text: str):
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 72, text)
    canvas.save()
    return PdfReader(io.BytesIO(buffer.getvalue())).pages[0]


def test_a_pdf_form_template_is_filled_stamped_and_sealed(
    client: FlaskClient, admin: dict, run_jobs: Callable[[], int]
) -> None:
    import json as jsonlib

    from tests.pdfs import form_pdf
    from tests.signing_flow import session_for as open_session

    definition = {
        "roles": [{"key": "customer", "kind": "signer", "label": "Customer"}],
        "fields": [
            {
                "key": "company",
                "label": "Company",
                "type": "text",
                "required": True,
                "pdf_field": "company",
            },
            {
                "key": "plan",
                "label": "Plan",
                "type": "select",
                "options": ["basic", "premium"],
                "pdf_field": "plan",
            },
            {
                "key": "rush",
                "label": "Rush",
                "type": "checkbox",
                "filled_by": "customer",
                "pdf_field": "rush",
            },
            {
                "key": "signature",
                "label": "Signature",
                "type": "signature",
                "filled_by": "customer",
                "placement": {"page": 1, "rect": [300, 560, 520, 620]},
            },
        ],
    }
    created = client.post(
        "/api/v1/templates",
        headers=admin,
        content_type="multipart/form-data",
        data={
            "name": "Order form",
            "pdf": (io.BytesIO(form_pdf()), "order.pdf"),
            "definition": (io.BytesIO(jsonlib.dumps(definition).encode()), "order.json"),
        },
    )
    assert created.status_code == 201, created.json
    envelope = client.post(
        "/api/v1/envelopes",
        headers=admin,
        json={
            "template_id": created.json["id"],
            "fields": {"company": "Initech", "plan": "premium"},
            "recipients": [
                {
                    "name": "Peter Gibbons",
                    "email": "p@x.test",
                    "role": "customer",
                    "delivery": "embedded",
                }
            ],
        },
    ).json
    assert (
        sign(
            client,
            open_session(client, admin, envelope, "customer"),
            fields={"rush": True},
            typed="Peter Gibbons",
        ).status_code
        == 200
    )
    run_jobs()

    final = client.get(f"/api/v1/envelopes/{envelope['id']}/document", headers=admin).data
    first_page = " ".join(PdfReader(io.BytesIO(final)).pages[0].extract_text().split())
    assert "Initech" in first_page
    assert "premium" in first_page
    assert "Signed as Customer · Peter Gibbons" in first_page
    verified = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(final), "f.pdf")},
        content_type="multipart/form-data",
    ).json
    assert verified["genuine"] is True, verified
