"""Connecting an org to a CRM: OAuth authorization code against the simulators, the CLI, the API,
disconnecting; secrets encrypted at rest and masked in every output."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.models import CrmConnection
from crm_adapters.base import ConnectionInfo, adapter_for
from crm_adapters.sandbox import SandboxServer
from tests.factories import bearer, make_key, make_org


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def oauth_app(app: Flask) -> Iterator[Flask]:
    """The app with OAuth clients registered for both CRMs, for this test."""
    settings = app.extensions["countersign.settings"]
    clients = {
        "zendesk": ("countersign-test", "zd-secret"),
        "salesforce": ("countersign-test", "sf-secret"),
    }
    app.extensions["countersign.settings"] = dataclasses.replace(settings, oauth_clients=clients)
    yield app
    app.extensions["countersign.settings"] = settings


@pytest.mark.parametrize("system", ["zendesk", "salesforce"])
def test_oauth_authorization_code_flow(
    oauth_app: Flask, client: FlaskClient, session: Session, sandbox: SandboxServer, system: str
) -> None:
    admin = bearer(make_key(session, make_org(session, slug="acme")))
    body = {"api_base_url": sandbox.url, "ca_bundle": sandbox.ca_pem}
    body |= (
        {"subdomain": "acme"}
        if system == "zendesk"
        else {"base_url": "https://acme.my.salesforce.com"}
    )
    started = client.post(f"/api/v1/crm-connections/oauth/{system}", json=body, headers=admin)
    assert started.status_code == 200, started.json
    authorize_url = started.json["authorize_url"]
    assert "client_id=countersign-test" in authorize_url

    ca_file = Path(sandbox.folder) / "ca.pem"
    ca_file.write_text(sandbox.ca_pem)
    consent = requests.get(authorize_url, allow_redirects=False, verify=str(ca_file), timeout=10)
    assert consent.status_code in (302, 303)
    back = urlsplit(consent.headers["Location"])
    assert back.path == "/crm/oauth/callback"
    query = parse_qs(back.query)

    page = client.get(f"/crm/oauth/callback?code={query['code'][0]}&state={query['state'][0]}")
    assert page.status_code == 200, page.get_data(as_text=True)
    assert "connected" in page.get_data(as_text=True)
    replay = client.get(f"/crm/oauth/callback?code={query['code'][0]}&state={query['state'][0]}")
    assert replay.status_code == 400, "a state is used once"

    listed = client.get("/api/v1/crm-connections", headers=admin).json["items"]
    [connection] = [c for c in listed if c["system"] == system]
    assert connection["status"] == "connected"
    assert all(v.startswith("****") for v in connection["credentials"].values())
    with oauth_app.app_context():
        from connector.crm.connections import connection_info

        row = session.get(CrmConnection, uuid.UUID(connection["id"]))
        info = connection_info(session, row)
    record = ("ticket", "1") if system == "zendesk" else ("Opportunity", _opportunity(info))
    assert adapter_for(info).fetch_record(*record), "the token the flow stored works"


def _opportunity(info: ConnectionInfo) -> str:
    return str(
        adapter_for(info).list_records("Opportunity", "Initech", limit=1)[0]["Opportunity.Id"]
    )


def test_a_forged_state_connects_nothing(client: FlaskClient, session: Session) -> None:
    page = client.get("/crm/oauth/callback?code=abc&state=forged")
    assert page.status_code == 400
    assert "invalid or expired" in page.get_data(as_text=True)
    assert session.scalars(select(CrmConnection)).first() is None


def test_oauth_needs_a_registered_client(client: FlaskClient, session: Session) -> None:
    admin = bearer(make_key(session, make_org(session)))
    response = client.post(
        "/api/v1/crm-connections/oauth/zendesk", json={"subdomain": "acme"}, headers=admin
    )
    assert response.status_code == 409
    assert "ZENDESK_CLIENT_ID" in response.json["detail"]


def test_cli_connects_and_lists_with_secrets_masked(
    app: Flask, session: Session, sandbox: SandboxServer, tmp_path: Path
) -> None:
    make_org(session, slug="acme")
    (tmp_path / "ca.pem").write_text(sandbox.ca_pem)
    runner = app.test_cli_runner()
    zendesk = runner.invoke(
        args=[
            "crm",
            "connect",
            "zendesk",
            "--org",
            "acme",
            "--subdomain",
            "acme",
            "--access-token",
            "sandbox-zendesk-token",
            "--base-url",
            sandbox.url,
            "--ca-bundle",
            str(tmp_path / "ca.pem"),
            "--webhook-secret",
            "hush-hush-123",
        ]
    )
    salesforce = runner.invoke(
        args=[
            "crm",
            "connect",
            "salesforce",
            "--org",
            "acme",
            "--instance-url",
            "https://acme.my.salesforce.com",
            "--access-token",
            "sandbox-salesforce-token",
            "--api-base-url",
            sandbox.url,
            "--ca-bundle",
            str(tmp_path / "ca.pem"),
        ]
    )
    bad = runner.invoke(
        args=[
            "crm",
            "connect",
            "zendesk",
            "--org",
            "acme",
            "--subdomain",
            "acme",
            "--access-token",
            "x",
            "--ca-bundle",
            str(tmp_path / "missing.pem"),
        ]
    )
    listed = runner.invoke(args=["crm", "list", "--org", "acme"])

    assert zendesk.exit_code == 0, zendesk.output
    assert salesforce.exit_code == 0, salesforce.output
    assert bad.exit_code == 1
    assert bad.output.strip().startswith("Error: --ca-bundle: cannot read")
    assert "sandbox-zendesk-token" not in listed.output
    assert "hush-hush-123" not in listed.output
    assert "access_token=****oken" in listed.output
    stored = session.scalars(select(CrmConnection.credentials)).all()
    assert all(b"sandbox" not in blob for blob in stored), "tokens are encrypted at rest"


def test_disconnect_removes_the_tokens(
    client: FlaskClient, session: Session, sandbox: SandboxServer
) -> None:
    admin = bearer(make_key(session, make_org(session)))
    created = client.post(
        "/api/v1/crm-connections",
        headers=admin,
        json={
            "system": "zendesk",
            "subdomain": "acme",
            "access_token": "sandbox-zendesk-token",
            "api_base_url": sandbox.url,
            "ca_bundle": sandbox.ca_pem,
        },
    ).json
    gone = client.delete(f"/api/v1/crm-connections/{created['id']}", headers=admin).json
    assert gone["status"] == "disconnected"
    assert gone["credentials"] == {}
