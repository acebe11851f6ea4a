"""Helpers to drive an envelope through the API as the tests' people would."""

from __future__ import annotations

import base64
import io
from typing import Any

from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from connector.templates.demo import demo_definition

SAAS = demo_definition("saas_amendment.yaml")
SAAS_FIELDS = {
    "plan": "enterprise",
    "seats": 12,
    "customer_company": "Initech",
    "customer_name": "Peter Gibbons",
    "customer_email": "peter@initech.test",
    "effective_date": "2026-12-01",
}


def drawn_signature() -> str:
    image = Image.new("RGBA", (400, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).line(
        [(20, 90), (120, 20), (200, 100), (380, 30)], fill=(20, 30, 60, 255), width=6
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def make_template(client: FlaskClient, headers: dict[str, str], definition: dict = SAAS) -> str:
    response = client.post(
        "/api/v1/templates", json={"name": "Amendment", "definition": definition}, headers=headers
    )
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def send(
    client: FlaskClient,
    headers: dict[str, str],
    template_id: str,
    *,
    sequential: bool = True,
    delivery: str = "email",
    **extra: Any,
) -> Any:
    body = {
        "template_id": template_id,
        "fields": SAAS_FIELDS,
        "recipients": [
            {
                "name": "Peter Gibbons",
                "email": "peter@initech.test",
                "role": "customer",
                "routing_order": 1,
                "delivery": delivery,
            },
            {
                "name": "Ada Admin",
                "email": "ada@provider.test",
                "role": "provider",
                "routing_order": 2 if sequential else 1,
                "delivery": delivery,
            },
            {
                "name": "Billing",
                "email": "billing@initech.test",
                "role": "billing",
                "routing_order": 1,
            },
        ],
        **extra,
    }
    return client.post("/api/v1/envelopes", json=body, headers=headers)


def recipient_id(envelope: dict, role: str) -> str:
    return next(r["id"] for r in envelope["recipients"] if r["role"] == role)


def session_for(client: FlaskClient, headers: dict[str, str], envelope: dict, role: str) -> str:
    url = client.post(
        f"/api/v1/envelopes/{envelope['id']}/recipients/{recipient_id(envelope, role)}/signing-url",
        json={},
        headers=headers,
    ).json["url"]
    token = url.split("/s/", 1)[1]
    opened = client.get(f"/api/v1/signing/{token}")
    assert opened.status_code == 200, opened.json
    return str(opened.json["session_token"])


def sign(
    client: FlaskClient, session_token: str, *, fields: dict | None = None, typed: str | None = None
) -> Any:
    client.post(f"/api/v1/signing/{session_token}/consent", json={})
    signature = (
        {"kind": "typed", "value": typed}
        if typed
        else {"kind": "drawn", "value": drawn_signature()}
    )
    return client.post(
        f"/api/v1/signing/{session_token}/complete",
        json={"fields": fields or {}, "signature": signature},
    )
