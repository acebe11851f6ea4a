"""CLI verbs grouped by area: `flask db …`, `flask demo …`, `flask org …`, `flask apikey …`.

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from connector import migrate
from connector.db import get_db, unit_of_work
from connector.models import Role
from connector.orgs import (
    create_api_key,
    create_org,
    find_org,
    find_user,
    parse_role,
    seed_demo,
)
from connector.problems import Problem

db_cli = AppGroup("db", help="The database schema.")
demo_cli = AppGroup("demo", help="The demo organization.")
org_cli = AppGroup("org", help="Organizations (tenants).")
apikey_cli = AppGroup("apikey", help="API keys.")
audit_cli = AppGroup("audit", help="The audit trail.")
crm_cli = AppGroup("crm", help="CRM connections (and the local CRM sandbox).")


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn what a user can fix into one line and exit code 1."""
    try:
        yield
    except Problem as problem:
        raise click.ClickException(problem.detail or problem.title) from None
    except (OperationalError, ProgrammingError) as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        hint = (
            " (run: flask --app wsgi db upgrade)"
            if "no such table" in reason or "does not exist" in reason
            else ""
        )
        raise click.ClickException(f"database: {reason}{hint}") from None


def _settings() -> Any:
    return current_app.extensions["countersign.settings"]


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the schema up to REVISION (default: the newest)."""
    with one_line_errors():
        migrate.upgrade(get_db().url, revision)
        with get_db().engine.connect() as connection:
            click.echo(f"database at revision {migrate.current_revision(connection)}")


@db_cli.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    with one_line_errors(), get_db().engine.connect() as connection:
        click.echo(
            migrate.current_revision(connection) or "empty (run: flask --app wsgi db upgrade)"
        )


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    with one_line_errors():
        migrate.make_revision(get_db().url, message)


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo org, its people and teams (idempotent) and print how to sign in."""
    with one_line_errors(), unit_of_work() as session:
        demo = seed_demo(session, secret_key=_settings().secret_key)
        lines = [
            f"Demo organization '{demo.org.slug}' ({demo.org.name}) is ready.",
            f"  admin: {demo.admin.email}  API key: {demo.admin_key}",
            f"  agent: {demo.agent.email}  API key: {demo.agent_key}",
            "Sign in to the API with a key, for example:",
            f"  curl -H 'Authorization: Bearer {demo.admin_key}' {_settings().base_url}/api/v1/me",
        ]
    click.echo("\n".join(lines))


@org_cli.command("create")
@click.option("--slug", required=True, help="Short unique name: lowercase letters, digits, -.")
@click.option("--name", required=True, help="The organization's display name.")
def org_create(slug: str, name: str) -> None:
    """Create an organization."""
    with one_line_errors(), unit_of_work() as session:
        org = create_org(session, slug=slug, name=name)
        click.echo(f"created organization {org.slug} ({org.id})")


@apikey_cli.command("create")
@click.option("--org", "org_slug", required=True, help="The organization's slug.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default="", help="A label to recognise the key by.")
@click.option("--user", "email", default=None, help="Act as this user (an agent sees their teams).")
def apikey_create(org_slug: str, role: str, name: str, email: str | None) -> None:
    """Create an API key and print it alone on stdout. It is stored hashed and shown only now."""
    with one_line_errors(), unit_of_work() as session:
        org = find_org(session, org_slug)
        user = find_user(session, org, email) if email else None
        _, key = create_api_key(session, org=org, role=parse_role(role), name=name, user=user)
    click.echo(key)


@audit_cli.command("verify")
@click.option("--envelope", "envelope_id", default=None, help="Check one envelope's chain only.")
def audit_verify(envelope_id: str | None) -> None:
    """Recompute every audit hash chain; exit 1 naming each edited, removed or reordered event."""
    import uuid

    from connector import audit

    with one_line_errors(), unit_of_work() as session:
        try:
            chains = audit.chains(
                session, envelope_id=uuid.UUID(envelope_id) if envelope_id else None
            )
        except ValueError:
            raise click.ClickException(
                f"--envelope: {envelope_id!r} is not an envelope id"
            ) from None
        reports = [audit.verify_chain(session, chain) for chain in chains]
    broken = [r for r in reports if not r.valid]
    for report in reports:
        click.echo(
            f"{report.chain}: {report.count} events, head {report.head[:16]}…"
            f" {'ok' if report.valid else 'BROKEN'}"
        )
    for report in broken:
        for problem in report.problems:
            click.echo(f"{report.chain}: {problem}", err=True)
    if broken:
        raise SystemExit(1)


def _read_pem(path: str | None) -> str | None:
    if not path:
        return None
    try:
        text = open(path, encoding="utf-8").read()  # noqa: SIM115 - a user-given path
    except OSError as err:
        raise click.ClickException(f"--ca-bundle: cannot read {path}: {err.strerror}") from None
    if "BEGIN CERTIFICATE" not in text:
        raise click.ClickException(f"--ca-bundle: {path} holds no PEM certificate")
    return text


@crm_cli.group("connect")
def crm_connect() -> None:
    """Connect an organization to a CRM with a token (scripted setup)."""


@crm_connect.command("zendesk")
@click.option("--org", "org_slug", required=True)
@click.option("--subdomain", required=True, help="acme for https://acme.zendesk.com")
@click.option("--access-token", required=True)
@click.option("--base-url", default=None, help="API address override (sandboxes, proxies)")
@click.option("--ca-bundle", default=None, help="PEM file of CA certificates to trust")
@click.option("--webhook-secret", default=None)
@click.option("--app-id", default=None, type=int, help="the Countersign app's id in Zendesk")
@click.option("--installation-id", default=None, type=int, help="the app installation's id")
def crm_connect_zendesk(
    org_slug: str,
    subdomain: str,
    access_token: str,
    base_url: str | None,
    ca_bundle: str | None,
    webhook_secret: str | None,
    app_id: int | None,
    installation_id: int | None,
) -> None:
    """Connect to Zendesk."""
    from connector.crm import connections

    pem = _read_pem(ca_bundle)
    settings = {
        k: v
        for k, v in {"ca_bundle": pem, "app_id": app_id, "installation_id": installation_id}.items()
        if v
    }
    with one_line_errors(), unit_of_work() as session:
        connection = connections.connect(
            session,
            org=find_org(session, org_slug),
            system="zendesk",
            base_url=connections.normalise_base_url("zendesk", subdomain=subdomain),
            api_base_url=base_url,
            credentials={"access_token": access_token, "webhook_secret": webhook_secret},
            settings=settings,
        )
        click.echo(f"connected {org_slug} to {connection.base_url} ({connection.id})")


@crm_connect.command("salesforce")
@click.option("--org", "org_slug", required=True)
@click.option("--instance-url", required=True, help="https://acme.my.salesforce.com")
@click.option("--access-token", required=True)
@click.option("--refresh-token", default=None)
@click.option("--api-base-url", default=None, help="API address override (sandboxes, proxies)")
@click.option("--ca-bundle", default=None, help="PEM file of CA certificates to trust")
@click.option("--consumer-secret", default=None, help="the canvas app's consumer secret")
def crm_connect_salesforce(
    org_slug: str,
    instance_url: str,
    access_token: str,
    refresh_token: str | None,
    api_base_url: str | None,
    ca_bundle: str | None,
    consumer_secret: str | None,
) -> None:
    """Connect to Salesforce."""
    from connector.crm import connections

    pem = _read_pem(ca_bundle)
    with one_line_errors(), unit_of_work() as session:
        connection = connections.connect(
            session,
            org=find_org(session, org_slug),
            system="salesforce",
            base_url=connections.normalise_base_url("salesforce", base_url=instance_url),
            api_base_url=api_base_url,
            credentials={
                "access_token": access_token,
                "refresh_token": refresh_token,
                "consumer_secret": consumer_secret,
            },
            settings={"ca_bundle": pem} if pem else {},
        )
        click.echo(f"connected {org_slug} to {connection.base_url} ({connection.id})")


@crm_cli.command("list")
@click.option("--org", "org_slug", required=True)
def crm_list(org_slug: str) -> None:
    """The organization's CRM connections (secrets masked)."""
    from connector.crm import connections
    from connector.models import CrmConnection

    with one_line_errors(), unit_of_work() as session:
        org = find_org(session, org_slug)
        rows = session.scalars(select(CrmConnection).where(CrmConnection.org_id == org.id))
        for row in rows:
            info = connections.describe(row)
            secrets_shown = ", ".join(f"{k}={v}" for k, v in info["credentials"].items())
            click.echo(f"{row.system}\t{row.base_url}\t{row.status}\t{secrets_shown}")


COMMANDS: tuple[Callable[..., Any], ...] = (
    db_cli,
    demo_cli,
    org_cli,
    apikey_cli,
    audit_cli,
    crm_cli,
)


def init_app(app: Flask) -> None:
    for group in COMMANDS:
        app.cli.add_command(group)  # type: ignore[arg-type]
