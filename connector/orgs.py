"""Organizations, their people and their API keys: creating them and authenticating keys."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.models import ApiKey, Org, Role, Team, User, utcnow
from connector.problems import Problem

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
KEY_PATTERN = re.compile(r"^cs_([a-z0-9]{6,16})_([A-Za-z0-9_-]{20,100})$")
LAST_USED_GRANULARITY = timedelta(minutes=1)


def invalid(field: str, message: str) -> Problem:
    return Problem(
        422, "Invalid input", f"{field}: {message}", errors=[{"path": field, "message": message}]
    )


def create_org(session: Session, *, slug: str, name: str) -> Org:
    slug, name = slug.strip(), name.strip()
    if not SLUG.match(slug):
        raise invalid("slug", "use 1-63 lowercase letters, digits and inner hyphens")
    if not name or len(name) > 200:
        raise invalid("name", "must be 1 to 200 characters")
    if session.scalar(select(Org.id).where(Org.slug == slug)) is not None:
        raise Problem(409, "Conflict", f"an organization with slug {slug!r} already exists")
    org = Org(slug=slug, name=name)
    session.add(org)
    session.flush()
    return org


def find_org(session: Session, slug: str) -> Org:
    org = session.scalar(select(Org).where(Org.slug == slug))
    if org is None:
        raise Problem(404, "Not Found", f"no organization with slug {slug!r}")
    return org


def find_user(session: Session, org: Org, email: str) -> User:
    user = session.scalar(select(User).where(User.org_id == org.id, User.email == email.strip()))
    if user is None:
        raise Problem(404, "Not Found", f"no user {email!r} in organization {org.slug!r}")
    return user


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise invalid("role", f"must be one of {allowed}, not {value!r}") from None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session,
    *,
    org: Org,
    role: Role,
    name: str = "",
    user: User | None = None,
    secret: str | None = None,
    prefix: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the key itself, which is never stored and shown once."""
    prefix = prefix or secrets.token_hex(5)
    key = f"cs_{prefix}_{secret or secrets.token_urlsafe(32)}"
    row = ApiKey(
        org_id=org.id,
        role=role.value,
        name=name or f"{role.value} key",
        prefix=prefix,
        key_hash=hash_key(key),
        user_id=user.id if user else None,
    )
    session.add(row)
    session.flush()
    return row, key


def authenticate_api_key(session: Session, presented: str) -> ApiKey | None:
    """The live key matching ``presented``, or None. Constant-time on the secret part."""
    match = KEY_PATTERN.match(presented.strip())
    if not match:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(presented.strip())):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY:
        row.last_used_at = now
    return row


@dataclass(frozen=True)
class DemoOrg:
    org: Org
    admin: User
    agent: User
    admin_key: str
    agent_key: str


DEMO_SLUG = "demo"
DEMO_PEOPLE = (
    ("admin@demo.countersign.test", "Ada Admin", Role.ADMIN, ("Support", "Sales")),
    ("agent@demo.countersign.test", "Sam Agent", Role.AGENT, ("Support",)),
)


def seed_demo(session: Session, *, secret_key: str) -> DemoOrg:
    """Create (or find) the demo org, its people, teams and keys. Safe to run any number of times.

    The demo keys are derived from the instance's secret key, so every run prints the same ones
    without storing them.
    """
    org = session.scalar(select(Org).where(Org.slug == DEMO_SLUG))
    if org is None:
        org = create_org(session, slug=DEMO_SLUG, name="Demo Company")
    teams = {t.name: t for t in session.scalars(select(Team).where(Team.org_id == org.id))}
    for team_name in ("Support", "Sales"):
        if team_name not in teams:
            teams[team_name] = Team(org_id=org.id, name=team_name)
            session.add(teams[team_name])
    users = []
    for email, name, role, team_names in DEMO_PEOPLE:
        user = session.scalar(select(User).where(User.org_id == org.id, User.email == email))
        if user is None:
            user = User(org_id=org.id, email=email, name=name, role=role.value)
            session.add(user)
        for team_name in team_names:
            if teams[team_name] not in user.teams:
                user.teams.append(teams[team_name])
        users.append(user)
    session.flush()
    from connector.templates.demo import seed_demo_templates

    seed_demo_templates(session, org=org, admin=users[0], max_upload_bytes=20 * 1024 * 1024)
    _connect_demo_sandbox(session, org)
    keys = [_demo_key(session, org, user, secret_key) for user in users]
    return DemoOrg(org=org, admin=users[0], agent=users[1], admin_key=keys[0], agent_key=keys[1])


def _demo_key(session: Session, org: Org, user: User, secret_key: str) -> str:
    prefix = "demo" + user.role[:6]
    secret = hmac.new(secret_key.encode(), f"demo-key:{prefix}".encode(), "sha256").hexdigest()
    key = f"cs_{prefix}_{secret[:40]}"
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        create_api_key(
            session,
            org=org,
            role=Role(user.role),
            name="demo key",
            user=user,
            prefix=prefix,
            secret=secret[:40],
        )
    elif row.key_hash != hash_key(key):  # the instance's secret key changed: follow it
        row.key_hash = hash_key(key)
        row.revoked_at = None
    return key


LOGO_MAX_BYTES = 512 * 1024
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


def set_org_logo(session: Session, *, org: Org, content: bytes) -> Org:
    """Keep a PNG or JPEG logo (≤ 512 KB, ≤ 2000 px a side) for the org's document headers."""
    from PIL import Image, UnidentifiedImageError

    from connector.documents import store_document

    if len(content) > LOGO_MAX_BYTES:
        raise invalid("logo", "must be at most 512 KB")
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise invalid("logo", "is not a PNG or JPEG image") from None
    if kind not in LOGO_FORMATS:
        raise invalid("logo", "is not a PNG or JPEG image")
    if width > 2000 or height > 2000:
        raise invalid("logo", "must be at most 2000 pixels wide and high")
    document = store_document(
        session,
        org_id=org.id,
        kind="logo",
        filename=f"logo.{kind.lower()}",
        content=content,
        content_type=LOGO_FORMATS[kind],
    )
    org.logo_key = str(document.id)
    session.flush()
    return org


def org_logo(session: Session, org: Org) -> bytes | None:
    from connector.documents import read_document
    from connector.models import Document

    if not org.logo_key:
        return None
    document = session.get(Document, uuid.UUID(org.logo_key))
    return read_document(document) if document and document.org_id == org.id else None


def update_org(session: Session, *, org: Org, changes: dict[str, Any]) -> Org:
    if changes.get("name") is not None:
        org.name = changes["name"].strip()
    if changes.get("embed_origins") is not None:
        origins = []
        for i, origin in enumerate(changes["embed_origins"]):
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path not in ("", "/")
            ):
                raise invalid(
                    f"embed_origins[{i}]", "must be an origin like https://acme.zendesk.com"
                )
            origins.append(f"{parts.scheme}://{parts.netloc}")
        org.settings = {**org.settings, "embed_origins": sorted(set(origins))}
    session.flush()
    return org


DEMO_CRM = (
    ("zendesk", "https://demo.zendesk.com", "sandbox-zendesk-token"),
    ("salesforce", "https://demo.my.salesforce.com", "sandbox-salesforce-token"),
)


def _connect_demo_sandbox(session: Session, org: Org) -> None:
    """On the embedded default, connect the demo org to the local Zendesk and Salesforce
    simulators, so prefill and write-back work offline."""
    from flask import current_app

    from connector.crm.connections import connect, connection_for

    sandbox = current_app.extensions.get("countersign.sandbox")
    if not sandbox:
        return
    for system, base_url, token in DEMO_CRM:
        existing = connection_for(session, org.id, system)
        if (
            existing is not None
            and existing.api_base_url == sandbox["url"]
            and existing.settings.get("app_id")
        ):
            continue
        # The sandbox's demo app installation (Zendesk) and canvas app secret (Salesforce).
        connect(
            session,
            org=org,
            system=system,
            base_url=base_url,
            api_base_url=sandbox["url"],
            credentials={
                "access_token": token,
                "webhook_secret": "sandbox-webhook-secret",
                "consumer_secret": "sandbox-consumer-secret",
            },
            settings={"ca_bundle": sandbox["ca_pem"], "app_id": 1001, "installation_id": 2002},
        )
