"""The demo org's templates, kept as YAML beside this file and used in docs/templates.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.actors import Actor
from connector.models import Org, Role, Team, Template, User

FOLDER = Path(__file__).resolve().parent
#: (file, name, description, team name or None for every team)
DEMO_TEMPLATES = (
    (
        "saas_amendment.yaml",
        "SaaS subscription upgrade amendment",
        "Upgrade a subscription: plan, seats and price from the CRM; SLA for enterprise.",
        None,
    ),
    (
        "telehealth_consent.yaml",
        "Telehealth consent form",
        "Patient consent to telehealth; a guardian also signs for patients under 18.",
        "Support",
    ),
)


def demo_definition(filename: str) -> dict[str, Any]:
    definition: dict[str, Any] = yaml.safe_load((FOLDER / filename).read_text())
    return definition


def seed_demo_templates(
    session: Session, *, org: Org, admin: User, max_upload_bytes: int
) -> list[Template]:
    """Create the demo templates that the org does not have yet (matched by name)."""
    from connector.templates.service import create_template

    actor = Actor(org_id=org.id, role=Role.ADMIN, user_id=admin.id)
    existing = set(session.scalars(select(Template.name).where(Template.org_id == org.id)))
    created = []
    for filename, name, description, team_name in DEMO_TEMPLATES:
        if name in existing:
            continue
        team_id = None
        if team_name:
            team_id = session.scalars(
                select(Team.id).where(Team.org_id == org.id, Team.name == team_name)
            ).one()
        created.append(
            create_template(
                session,
                actor=actor,
                name=name,
                description=description,
                team_id=team_id,
                definition=demo_definition(filename),
                max_upload_bytes=max_upload_bytes,
            )
        )
    return created
