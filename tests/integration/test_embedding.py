"""The CRM entry points: only genuine, fresh requests of an org's Zendesk or Salesforce open the
agent panel; its token then acts as the CRM user on the API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from connector.crm.connections import connect
from connector.db import commit
from connector.embedding import sign_canvas_request
from crm_adapters.sandbox import SandboxServer
from crm_adapters.sandbox import salesforce as sf_sandbox
from crm_adapters.sandbox import zendesk as zd_sandbox
from tests.factories import make_org

ZENDESK = "https://acme.zendesk.com"
SALESFORCE = "https://acme.my.salesforce.com"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def connected(app: Flask, session: Session, sandbox: SandboxServer) -> None:
    with app.app_context():
        org = make_org(session, slug="acme", name="Acme Inc.")
        settings = {"ca_bundle": sandbox.ca_pem}
        connect(
            session,
            org=org,
            system="zendesk",
            base_url=ZENDESK,
            api_base_url=sandbox.url,
            credentials={"access_token": "sandbox-zendesk-token"},
            settings={
                **settings,
                "app_id": zd_sandbox.DEMO_APP_ID,
                "installation_id": zd_sandbox.DEMO_INSTALLATION_ID,
            },
        )
        connect(
            session,
            org=org,
            system="salesforce",
            base_url=SALESFORCE,
            api_base_url=sandbox.url,
            credentials={
                "access_token": "sandbox-salesforce-token",
                "consumer_secret": "canvas-secret",
            },
            settings=settings,
        )
        commit(session)


def open_sidebar(client: FlaskClient, token: str, ticket: str = "1"):
    return client.post(f"/embed/zendesk/sidebar?ticket_id={ticket}", data={"token": token})


def panel_token(page_html: str) -> str:
    return page_html.split('data-token="')[1].split('"')[0]


def test_a_genuine_zendesk_request_opens_the_panel(
    client: FlaskClient, connected: None, sandbox: SandboxServer
) -> None:
    page = open_sidebar(client, zd_sandbox.sign_app_jwt(sandbox.state, subdomain_url=ZENDESK))

    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    ancestors = csp.split("frame-ancestors ")[1].split(";")[0].split()
    assert sorted(ancestors) == [SALESFORCE, ZENDESK], "only the org's own CRM origins may frame it"
    html = page.get_data(as_text=True)
    assert "Peter Gibbons" in html, "the ticket's requester is the default recipient"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {panel_token(html)}"})
    assert me.status_code == 200
    assert (me.json["org"]["slug"], me.json["role"]) == ("acme", "agent")
    refreshed = client.post(
        "/api/v1/panel/refresh", headers={"Authorization": f"Bearer {panel_token(html)}"}
    )
    assert refreshed.json["token"].startswith("p.")


def _foreign_jwt(**claims: object) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())
    body = {
        "iss": ZENDESK,
        "aud": f"{ZENDESK}/api/v2/apps/installations/{zd_sandbox.DEMO_INSTALLATION_ID}.json",
        "sub": f"{ZENDESK}/api/v2/users/{zd_sandbox.AGENT_ID}.json",
        "iat": now,
        "exp": now + 300,
    } | claims
    return jwt.encode({"alg": "RS256"}, body, RSAKey.import_key(pem))


@pytest.mark.parametrize(
    "make_token",
    [
        lambda state: _foreign_jwt(),  # signed by another key
        lambda state: zd_sandbox.sign_app_jwt(
            state, subdomain_url=ZENDESK, installation_id=9999
        ),  # another aud
        lambda state: zd_sandbox.sign_app_jwt(
            state, subdomain_url=ZENDESK, ttl_seconds=-60
        ),  # expired
        lambda state: zd_sandbox.sign_app_jwt(
            state, subdomain_url="https://evil.zendesk.com"
        ),  # another account
        lambda state: "not-a-jwt",
    ],
    ids=["other-key", "other-aud", "expired", "other-account", "garbage"],
)
def test_anything_else_is_a_403(
    client: FlaskClient, connected: None, sandbox: SandboxServer, make_token
) -> None:
    page = open_sidebar(client, make_token(sandbox.state))
    assert page.status_code == 403
    assert "data-token" not in page.get_data(as_text=True)


def canvas_envelope(sandbox: SandboxServer, issued_at: float | None = None) -> dict:
    opportunity = next(
        r
        for r in sf_sandbox.records(sandbox.state, "Opportunity")
        if r["Name"].startswith("Initech")
    )
    return {
        "algorithm": "HMACSHA256",
        "issuedAt": int(issued_at or time.time()),
        "context": {
            "user": {"email": "agent@acme.test", "fullName": "Sam Agent", "language": "es_ES"},
            "environment": {
                "record": {"Id": opportunity["Id"], "attributes": {"type": "Opportunity"}}
            },
        },
    }


def test_a_genuine_canvas_request_opens_the_panel(
    client: FlaskClient, connected: None, sandbox: SandboxServer
) -> None:
    page = client.post(
        "/embed/salesforce/canvas",
        data={"signed_request": sign_canvas_request("canvas-secret", canvas_envelope(sandbox))},
    )
    assert page.status_code == 200
    assert "&#34;locale&#34;: &#34;es&#34;" in page.get_data(
        as_text=True
    ) or '"locale": "es"' in page.get_data(as_text=True)


def test_a_flipped_byte_or_stale_canvas_request_is_a_403(
    client: FlaskClient, connected: None, sandbox: SandboxServer
) -> None:
    good = sign_canvas_request("canvas-secret", canvas_envelope(sandbox))
    signature, envelope = good.split(".", 1)
    flipped = envelope[:20] + ("A" if envelope[20] != "A" else "B") + envelope[21:]
    stale = sign_canvas_request(
        "canvas-secret", canvas_envelope(sandbox, issued_at=time.time() - 3600)
    )
    wrong_secret = sign_canvas_request("other-secret", canvas_envelope(sandbox))
    for signed in (f"{signature}.{flipped}", stale, wrong_secret, "garbage", ""):
        assert (
            client.post("/embed/salesforce/canvas", data={"signed_request": signed}).status_code
            == 403
        )


def test_a_get_or_a_forged_panel_token_gets_nothing(client: FlaskClient) -> None:
    assert client.get("/embed/zendesk/sidebar").status_code == 403
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer p.forged"}).status_code == 401
