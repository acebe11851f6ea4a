"""Bearer API-key authentication; every API view learns its org and role from here only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from connector.actors import Actor
from connector.db import request_session
from connector.embedding import read_panel_token
from connector.models import Role
from connector.orgs import authenticate_api_key
from connector.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


Principal = Actor


def unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def require_key(*roles: Role) -> Callable[[F], F]:
    """Authenticate the request's API key; with ``roles``, allow only those roles."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.principal = _authenticate()
            if roles and g.principal.role not in roles:
                allowed = ", ".join(r.value for r in roles)
                raise Problem(403, "Forbidden", f"This needs an API key with role {allowed}.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def current_principal() -> Principal:
    principal: Principal = g.principal
    return principal


def _authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if not header:
        raise unauthorized("Send an API key: Authorization: Bearer cs_…")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise unauthorized("Use the Bearer scheme: Authorization: Bearer cs_…")
    if credentials.strip().startswith("p."):
        # A panel token from a verified CRM entry point: it acts as the CRM's user.
        user = read_panel_token(request_session(), credentials.strip())
        if user is None:
            raise unauthorized("The panel session ended; reopen the ticket or record.")
        return Principal(org_id=user.org_id, role=Role(user.role), user_id=user.id)
    key = authenticate_api_key(request_session(), credentials)
    if key is None:
        raise unauthorized("The API key is unknown or revoked.")
    return Principal(org_id=key.org_id, role=Role(key.role), api_key_id=key.id, user_id=key.user_id)
