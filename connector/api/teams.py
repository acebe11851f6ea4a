"""Teams of the caller's org: the tenant-isolation pattern every resource follows."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from spectree import Response

from connector.api import bp, spec
from connector.api.auth import current_principal, require_key
from connector.api.schemas import PageQuery, ProblemOut
from connector.db import request_session
from connector.models import Team
from connector.tenancy import get_owned, owned


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    members: int


class TeamList(BaseModel):
    items: list[TeamOut]
    limit: int
    offset: int


def _team_out(team: Team) -> TeamOut:
    return TeamOut(id=team.id, name=team.name, members=len(team.members))


@bp.get("/teams")
@require_key()
@spec.validate(
    query=PageQuery,
    resp=Response(HTTP_200=TeamList, HTTP_401=ProblemOut),
    tags=["teams"],
    operation_id="listTeams",
)
def list_teams(query: PageQuery) -> TeamList:
    """The teams of the caller's organization."""
    statement = (
        owned(Team, current_principal().org_id)
        .order_by(Team.name)
        .limit(query.limit)
        .offset(query.offset)
    )
    teams = request_session().scalars(statement).all()
    return TeamList(items=[_team_out(t) for t in teams], limit=query.limit, offset=query.offset)


@bp.get("/teams/<team_id>")
@require_key()
@spec.validate(
    resp=Response(HTTP_200=TeamOut, HTTP_401=ProblemOut, HTTP_404=ProblemOut),
    tags=["teams"],
    operation_id="getTeam",
)
def get_team(team_id: str) -> TeamOut:
    """One team of the caller's organization (404 for any other organization's team)."""
    team = get_owned(request_session(), Team, team_id, current_principal().org_id, "team")
    return _team_out(team)
