"""Property: whatever values arrive, preview answers a valid PDF or a 4xx problem, never a 500."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy.orm import Session

from connector.templates.demo import demo_definition
from tests.factories import bearer, make_key, make_org

SAAS = demo_definition("saas_amendment.yaml")
SENDER_KEYS = [
    f["key"]
    for f in SAAS["fields"]
    if f.get("filled_by", "sender") == "sender" and "formula" not in f
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=6000),
    st.sampled_from(
        [
            "<b>x</b>",
            "{{ ''.__class__ }}",
            "&amp;",
            "<para>",
            "\u202e",
            "\x00\x07",
            "2026-02-30",
            "enterprise",
            "pro",
            "99.9%",
            "1e400",
            "-0",
            "12,5",
        ]
    ),
)
values = st.dictionaries(
    st.one_of(st.sampled_from(SENDER_KEYS), st.sampled_from(SENDER_KEYS), st.text(max_size=10)),
    st.one_of(
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(max_size=3), scalars, max_size=2),
    ),
    max_size=10,
)


@pytest.fixture
def saas_template(client: FlaskClient, session: Session) -> tuple[str, str]:
    key = make_key(session, make_org(session))
    created = client.post(
        "/api/v1/templates", json={"name": "Fuzz", "definition": SAAS}, headers=bearer(key)
    )
    return created.json["id"], key


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=values)
@example(fields={"plan": "enterprise", "seats": 3, "customer_company": "<b>x</b>" * 500})
def test_preview_is_a_pdf_or_a_4xx(
    client: FlaskClient, saas_template: tuple[str, str], fields: dict
) -> None:
    template_id, key = saas_template

    response = client.post(
        f"/api/v1/templates/{template_id}/preview", json={"fields": fields}, headers=bearer(key)
    )

    if response.status_code == 200:
        assert response.mimetype == "application/pdf"
        assert len(PdfReader(io.BytesIO(response.data)).pages) >= 1
    else:
        assert 400 <= response.status_code < 500, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
