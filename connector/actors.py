"""Who is acting: the org, role and identity behind a request or a job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from connector.models import Role
from connector.problems import Problem


@dataclass(frozen=True)
class Actor:
    org_id: uuid.UUID
    role: Role
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None

    def require(self, *roles: Role, doing: str) -> None:
        """403 unless the actor has one of ``roles``; ``doing`` completes "Only … may …"."""
        if self.role not in roles:
            allowed = " and ".join(f"{r.value}s" for r in roles)
            raise Problem(403, "Forbidden", f"Only {allowed} may {doing}.")
