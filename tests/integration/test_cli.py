"""CLI verbs, each run through Flask's CliRunner against the test database."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.models import ApiKey, Org, Team, User
from tests.factories import bearer, make_org

KEY = re.compile(r"^cs_[a-z0-9]+_[A-Za-z0-9_-]+$")


def test_demo_seed_is_idempotent_and_prints_working_keys(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])

    assert first.exit_code == 0, first.output
    assert second.output == first.output
    org = session.scalars(select(Org).where(Org.slug == "demo")).one()
    assert session.scalar(select(func.count()).select_from(User).where(User.org_id == org.id)) == 2
    teams = session.scalars(select(Team.name).where(Team.org_id == org.id)).all()
    assert sorted(teams) == ["Sales", "Support"]
    assert (
        session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.org_id == org.id)) == 2
    )

    admin_key = re.search(r"admin: \S+\s+API key: (\S+)", first.output).group(1)
    me = client.get("/api/v1/me", headers=bearer(admin_key))
    assert me.status_code == 200
    assert (me.json["org"]["slug"], me.json["role"]) == ("demo", "admin")
    assert "curl -H 'Authorization: Bearer" in first.output


def test_org_create_then_a_duplicate_is_one_line(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["org", "create", "--slug", "initech", "--name", "Initech"])
    again = runner.invoke(args=["org", "create", "--slug", "initech", "--name", "Initech"])

    assert created.exit_code == 0
    assert created.output.startswith("created organization initech (")
    assert session.scalar(select(Org.name).where(Org.slug == "initech")) == "Initech"
    assert again.exit_code == 1
    assert again.output.strip().splitlines() == [
        "Error: an organization with slug 'initech' already exists"
    ]


def test_org_create_rejects_a_bad_slug(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(
        args=["org", "create", "--slug", "Bad Slug", "--name", "X"]
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: slug: use 1-63 lowercase letters, digits and inner hyphens"
    )
    assert session.scalar(select(func.count()).select_from(Org)) == 0


def test_apikey_create_prints_the_key_alone(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    make_org(session, slug="acme")
    result = app.test_cli_runner().invoke(
        args=["apikey", "create", "--org", "acme", "--role", "agent"]
    )

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert KEY.match(lines[0])
    stored = session.scalars(select(ApiKey.key_hash)).all()
    assert lines[0] not in stored
    assert client.get("/api/v1/me", headers=bearer(lines[0])).json["role"] == "agent"


def test_apikey_create_errors_are_one_line(app: Flask) -> None:
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["apikey", "create", "--org", "nope", "--role", "admin"])
    bad_role = runner.invoke(args=["apikey", "create", "--org", "nope", "--role", "owner"])

    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: no organization with slug 'nope'"
    assert bad_role.exit_code == 2
    assert "'owner' is not one of 'admin', 'agent', 'compliance'" in bad_role.output
    assert "Traceback" not in unknown.output + bad_role.output


def test_jobs_schedule_lists_the_periodic_jobs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "schedule"])
    assert result.exit_code == 0
    assert "outbox.sweep\tevery 60s" in result.output


def test_apikey_create_for_a_user(app: Flask, client: FlaskClient, session: Session) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "seed"])
    made = runner.invoke(
        args=[
            "apikey",
            "create",
            "--org",
            "demo",
            "--role",
            "agent",
            "--user",
            "agent@demo.countersign.test",
        ]
    )
    unknown = runner.invoke(
        args=["apikey", "create", "--org", "demo", "--role", "agent", "--user", "who@x.test"]
    )

    assert made.exit_code == 0
    me = client.get("/api/v1/me", headers=bearer(made.stdout.strip()))
    assert me.json["role"] == "agent"
    templates = client.get("/api/v1/templates", headers=bearer(made.stdout.strip())).json
    assert len(templates["items"]) == 2, "the agent is in Support and sees its templates"
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: no user 'who@x.test' in organization 'demo'"
