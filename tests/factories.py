"""Factories for test data: real rows through the real operations."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from connector.db import commit
from connector.models import Org, Role, Team
from connector.orgs import create_api_key, create_org


def make_org(session: Session, slug: str | None = None, name: str = "Acme") -> Org:
    org = create_org(session, slug=slug or f"org-{uuid.uuid4().hex[:8]}", name=name)
    commit(session)
    return org


def make_key(session: Session, org: Org, role: Role = Role.ADMIN) -> str:
    _, key = create_api_key(session, org=org, role=role)
    commit(session)
    return key


def make_team(session: Session, org: Org, name: str) -> Team:
    team = Team(org_id=org.id, name=name)
    session.add(team)
    commit(session)
    return team


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
