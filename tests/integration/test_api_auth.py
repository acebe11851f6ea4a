"""API keys: who may call, and the tenant isolation every resource follows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db import commit
from connector.models import ApiKey, Role
from tests.factories import bearer, make_key, make_org, make_team


def test_a_key_reads_its_org_and_role(client: FlaskClient, session: Session) -> None:
    org = make_org(session, slug="acme", name="Acme Inc.")
    key = make_key(session, org, Role.COMPLIANCE)

    response = client.get("/api/v1/me", headers=bearer(key))

    assert response.status_code == 200
    assert response.json["org"] == {"id": str(org.id), "slug": "acme", "name": "Acme Inc."}
    assert response.json["role"] == "compliance"


def test_a_missing_key_is_a_401_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["title"] == "Unauthorized"
    assert response.json["status"] == 401
    assert "Authorization: Bearer" in response.json["detail"]


def test_wrong_malformed_and_revoked_keys_are_401(client: FlaskClient, session: Session) -> None:
    org = make_org(session)
    key = make_key(session, org)
    prefix = key.split("_")[1]
    forged = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")

    for header in (f"Bearer {forged}", "Bearer nonsense", f"Basic {key}", "Bearer "):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.mimetype == "application/problem+json"

    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
    row.revoked_at = datetime.now(UTC)
    commit(session)
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 401


def test_keys_are_stored_hashed(session: Session) -> None:
    org = make_org(session)
    key = make_key(session, org)
    stored = session.scalars(select(ApiKey).where(ApiKey.org_id == org.id)).one()
    assert key not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64


def test_a_key_never_reads_another_orgs_data(client: FlaskClient, session: Session) -> None:
    """The pattern for every resource: lists are scoped, foreign ids are 404, not 403."""
    acme, globex = make_org(session, slug="acme"), make_org(session, slug="globex")
    make_team(session, acme, "Acme support")
    globex_team = make_team(session, globex, "Globex billing")
    acme_key = make_key(session, acme, Role.AGENT)

    listed = client.get("/api/v1/teams", headers=bearer(acme_key))
    assert [t["name"] for t in listed.json["items"]] == ["Acme support"]

    foreign = client.get(f"/api/v1/teams/{globex_team.id}", headers=bearer(acme_key))
    assert foreign.status_code == 404
    assert foreign.mimetype == "application/problem+json"
    assert "Globex" not in foreign.get_data(as_text=True)

    for bogus in (uuid.uuid4(), "not-a-uuid"):
        assert client.get(f"/api/v1/teams/{bogus}", headers=bearer(acme_key)).status_code == 404


def test_invalid_query_is_a_422_problem_naming_the_field(
    client: FlaskClient, session: Session
) -> None:
    key = make_key(session, make_org(session))

    response = client.get("/api/v1/teams?limit=0", headers=bearer(key))

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"][0]["path"] == "limit"
    assert response.json["detail"].startswith("limit: ")
