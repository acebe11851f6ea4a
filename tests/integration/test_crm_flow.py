"""Prefill from the CRM, write signed status back: through the API, the outbox and the real
clients against the local Zendesk and Salesforce simulators (HTTPS on loopback)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import outbox
from connector.crm.writeback import KIND, queue_status
from connector.db import commit
from connector.models import Envelope, EnvelopeStatus, OutboxMessage, OutboxStatus, Role, utcnow
from crm_adapters.sandbox import Faults, SandboxServer
from crm_adapters.sandbox import salesforce as sf_sandbox
from crm_adapters.sandbox import zendesk as zd_sandbox
from tests.factories import bearer, make_key, make_org
from tests.signing_flow import SAAS, SAAS_FIELDS, make_template, session_for, sign


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def admin(client: FlaskClient, session: Session, sandbox: SandboxServer) -> dict[str, str]:
    sandbox.set_faults(Faults())
    headers = bearer(make_key(session, make_org(session, slug="acme", name="Acme Inc.")))
    for system, token in (
        ("zendesk", "sandbox-zendesk-token"),
        ("salesforce", "sandbox-salesforce-token"),
    ):
        body = {
            "system": system,
            "access_token": token,
            "api_base_url": sandbox.url,
            "ca_bundle": sandbox.ca_pem,
        }
        body |= (
            {"subdomain": "acme"}
            if system == "zendesk"
            else {"base_url": "https://acme.my.salesforce.com"}
        )
        created = client.post("/api/v1/crm-connections", json=body, headers=headers)
        assert created.status_code == 201, created.json
        assert token not in str(created.json), "secrets are masked"
    return headers


def opportunity_id(sandbox: SandboxServer) -> str:
    return next(
        r["Id"]
        for r in sf_sandbox.records(sandbox.state, "Opportunity")
        if r["Name"].startswith("Initech")
    )


def prefilled(client: FlaskClient, admin: dict, template_id: str, crm: dict) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/templates/{template_id}/prefill", json={"crm": crm}, headers=admin
    )
    assert response.status_code == 200, response.json
    return {k: v["value"] for k, v in response.json["fields"].items()}


def test_prefill_from_a_zendesk_ticket(client: FlaskClient, admin: dict) -> None:
    template_id = make_template(client, admin)
    values = prefilled(
        client, admin, template_id, {"system": "zendesk", "object": "ticket", "record_id": "1"}
    )
    assert values == {
        "customer_name": "Peter Gibbons",
        "customer_email": "peter@initech.test",
        "customer_company": "Initech",
    }


def test_prefill_from_a_salesforce_opportunity(
    client: FlaskClient, admin: dict, sandbox: SandboxServer
) -> None:
    template_id = make_template(client, admin)
    crm = {"system": "salesforce", "object": "Opportunity", "record_id": opportunity_id(sandbox)}
    values = prefilled(client, admin, template_id, crm)
    assert values["customer_company"] == "Initech"  # the Opportunity's Account
    assert values["customer_name"] == "Peter Gibbons"  # its primary Contact
    assert values["customer_email"] == "peter@initech.test"
    assert float(values["unit_price"]) == 49  # the Opportunity itself


def test_a_missing_record_is_a_clear_422(client: FlaskClient, admin: dict) -> None:
    template_id = make_template(client, admin)
    response = client.post(
        f"/api/v1/templates/{template_id}/prefill",
        json={"crm": {"system": "zendesk", "object": "ticket", "record_id": "99999"}},
        headers=admin,
    )
    assert response.status_code == 422
    assert "99999" in response.json["detail"]


def send_and_complete(client: FlaskClient, admin: dict, crm: dict) -> dict:
    template_id = make_template(client, admin)
    envelope = client.post(
        "/api/v1/envelopes",
        headers=admin,
        json={
            "template_id": template_id,
            "fields": {"plan": "pro", "seats": 3, "effective_date": "2026-12-01"},
            "crm": crm,
            "recipients": [
                {
                    "name": "Peter Gibbons",
                    "email": "peter@initech.test",
                    "role": "customer",
                    "delivery": "embedded",
                },
                {"name": "Ada", "email": "ada@x.test", "role": "provider", "delivery": "embedded"},
            ],
        },
    )
    assert envelope.status_code == 201, envelope.json
    for role in ("customer", "provider"):
        assert (
            sign(
                client, session_for(client, admin, envelope.json, role), typed="Signer"
            ).status_code
            == 200
        )
    return envelope.json


def test_zendesk_write_back_after_completion(
    client: FlaskClient, admin: dict, sandbox: SandboxServer, run_jobs: Callable[[], int]
) -> None:
    comments_before = len(zd_sandbox.comments(sandbox.state, 1))
    envelope = send_and_complete(
        client, admin, {"system": "zendesk", "object": "ticket", "record_id": "1"}
    )
    run_jobs()
    run_jobs()

    new = zd_sandbox.comments(sandbox.state, 1)[comments_before:]
    with_pdf = [c for c in new if c.get("attachments")]
    assert len(with_pdf) == 1
    assert with_pdf[0]["public"] is False
    final = client.get(f"/api/v1/envelopes/{envelope['id']}/document", headers=admin).data
    assert zd_sandbox.attachment_bytes(sandbox.state, with_pdf[0]["attachments"][0]["id"]) == final
    tags = set(zd_sandbox.ticket(sandbox.state, 1)["tags"])
    assert {"contract_signed", "vip", "billing"} <= tags
    assert "contract_sent" not in tags


def test_salesforce_write_back_after_completion(
    client: FlaskClient, admin: dict, sandbox: SandboxServer, run_jobs: Callable[[], int]
) -> None:
    record_id = opportunity_id(sandbox)
    versions_before = len(sf_sandbox.content_versions_for(sandbox.state, record_id))
    envelope = send_and_complete(
        client, admin, {"system": "salesforce", "object": "Opportunity", "record_id": record_id}
    )
    run_jobs()
    run_jobs()

    mine = [
        r
        for r in sf_sandbox.records(sandbox.state, "Countersign_Envelope__c")
        if r["External_Id__c"] == envelope["id"]
    ]
    assert len(mine) == 1
    assert mine[0]["Status__c"] == "Completed"
    assert mine[0]["Opportunity__c"] == record_id
    assert len(sf_sandbox.content_versions_for(sandbox.state, record_id)) == versions_before + 1


def test_a_permanent_error_is_shown_on_the_envelope(
    client: FlaskClient,
    admin: dict,
    sandbox: SandboxServer,
    session: Session,
    app: Flask,
    run_jobs: Callable[[], int],
) -> None:
    template_id = make_template(client, admin)
    ticket_id = zd_sandbox.add_ticket(sandbox.state, subject="Soon gone")
    envelope = client.post(
        "/api/v1/envelopes",
        headers=admin,
        json={
            "template_id": template_id,
            "fields": SAAS_FIELDS,
            "crm": {"system": "zendesk", "object": "ticket", "record_id": str(ticket_id)},
            "recipients": [
                {"name": "P", "email": "p@x.test", "role": "customer"},
                {"name": "Q", "email": "q@x.test", "role": "provider"},
            ],
        },
    )
    run_jobs()
    zd_sandbox.delete_ticket(sandbox.state, ticket_id)
    voided = client.post(
        f"/api/v1/envelopes/{envelope.json['id']}/void",
        json={"reason": "Wrong customer"},
        headers=admin,
    )
    assert voided.status_code == 200
    run_jobs()
    with app.app_context():
        for _ in range(3):
            _deliver_all(session, now=utcnow() + timedelta(hours=1))
    got = client.get(f"/api/v1/envelopes/{envelope.json['id']}", headers=admin).json
    assert got["crm_error"], "the failure stays visible until a later delivery succeeds"
    failed = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
    )
    assert failed >= 1


def _deliver_all(session: Session, *, now: Any) -> None:
    groups = {
        m.coalesce_key.split("|")[0]
        for m in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == KIND, OutboxMessage.status == OutboxStatus.PENDING
            )
        )
    }
    for group in groups:
        outbox.deliver_group(session, KIND, group, now=now)
    commit(session)


def test_500_completions_with_30_percent_faults_write_back_exactly_once(
    app: Flask, client: FlaskClient, admin: dict, session: Session, sandbox: SandboxServer
) -> None:
    """Every envelope's status lands on its record once: none twice, none lost."""
    template_id = make_template(client, admin, SAAS)
    version = client.get(f"/api/v1/templates/{template_id}/versions", headers=admin).json["items"][
        0
    ]
    from connector.models import TemplateVersion

    version_id = session.scalars(
        select(TemplateVersion.id).where(
            TemplateVersion.version == version["version"],
            TemplateVersion.template_id == uuid.UUID(template_id),
        )
    ).one()
    org_id = session.scalars(select(Envelope.org_id)).first() or _org_id(session)
    record_id = opportunity_id(sandbox)
    tickets = [zd_sandbox.add_ticket(sandbox.state, subject=f"Bulk {i}") for i in range(250)]
    sandbox.set_faults(Faults(rate=0.3, kinds=("5xx", "429", "limit"), retry_after=1, seed=11))
    with app.app_context():
        envelopes = []
        for i in range(500):
            crm = (
                ("zendesk", "ticket", str(tickets[i % 250]))
                if i % 2
                else ("salesforce", "Opportunity", record_id)
            )
            envelope = Envelope(
                org_id=org_id,
                template_version_id=version_id,
                status=EnvelopeStatus.COMPLETED,
                subject=f"Bulk {i}",
                crm_system=crm[0],
                crm_object=crm[1],
                crm_record_id=crm[2],
                completed_at=utcnow(),
            )
            session.add(envelope)
            envelopes.append(envelope)
        session.flush()
        for envelope in envelopes:
            queue_status(session, envelope)
        commit(session)
        later = utcnow()
        for _ in range(60):
            later += timedelta(hours=7)  # past the longest backoff: everything pending is due
            _deliver_all(session, now=later)
            if not session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == KIND, OutboxMessage.status == OutboxStatus.PENDING)
            ):
                break
    sandbox.set_faults(Faults())

    statuses = dict(
        session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.kind == KIND)
            .group_by(OutboxMessage.status)
        ).all()
    )
    failures = session.scalars(
        select(OutboxMessage.last_error).where(OutboxMessage.status == "failed").limit(3)
    ).all()
    assert statuses == {"delivered": 500}, failures
    ids = {str(e.id) for e in envelopes}
    upserted = [
        r
        for r in sf_sandbox.records(sandbox.state, "Countersign_Envelope__c")
        if r["External_Id__c"] in ids
    ]
    assert len(upserted) == 250
    assert {r["Status__c"] for r in upserted} == {"Completed"}
    notes = [
        c
        for t in tickets
        for c in zd_sandbox.comments(sandbox.state, t)
        if "[countersign:" in str(c.get("body"))
    ]
    markers = [str(c["body"]).split("[countersign:")[1].split(":")[0] for c in notes]
    assert len(markers) == 250, "one note per envelope"
    assert len(set(markers)) == 250, "none twice"


def _org_id(session: Session) -> uuid.UUID:
    from connector.models import Org

    return session.scalars(select(Org.id).where(Org.slug == "acme")).one()


def test_previews_use_the_records_locked_values(
    client: FlaskClient, admin: dict, session: Session, sandbox: SandboxServer
) -> None:
    """A locked price from the CRM wins in validate-values and previews, as when sending."""
    account = next(
        r["Id"] for r in sf_sandbox.records(sandbox.state, "Account") if r["Name"] == "Initech"
    )
    pricier = sf_sandbox.insert(
        sandbox.state,
        "Opportunity",
        {
            "Name": "Initech premium seats",
            "AccountId": account,
            "StageName": "Proposal",
            "CloseDate": "2026-12-31",
            "Unit_Price__c": 59,
            "Seats__c": 10,
        },
    )
    agent = bearer(make_key(session, _org(session), Role.AGENT))
    template_id = make_template(client, admin)
    crm = {"system": "salesforce", "object": "Opportunity", "record_id": pricier}
    checked = client.post(
        f"/api/v1/templates/{template_id}/validate-values",
        headers=agent,
        json={"fields": {"seats": 10}, "crm": crm},
    )
    assert checked.status_code == 200, checked.json
    assert checked.json["values"]["unit_price"] == "59.00"
    assert checked.json["values"]["total"] == "590.00"
    same = client.post(
        f"/api/v1/templates/{template_id}/validate-values",
        headers=agent,
        json={"fields": {"seats": 10, "unit_price": 59}, "crm": crm},
    )
    cheaper = client.post(
        f"/api/v1/templates/{template_id}/validate-values",
        headers=agent,
        json={"fields": {"seats": 10, "unit_price": 1}, "crm": crm},
    )
    assert (same.status_code, cheaper.status_code) == (200, 403)


def _org(session: Session):
    from connector.models import Org

    return session.scalars(select(Org).where(Org.slug == "acme")).one()
