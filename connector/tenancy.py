"""Tenant isolation: every read of org-owned rows goes through these, so no query forgets the org.

The pattern for every resource: ``owned(session, Model, org_id)`` for lists and
``get_owned(session, Model, id, org_id)`` for one row. A row of another org is reported as not
found (404), never as forbidden, so ids of other tenants leak nothing.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connector.problems import not_found

M = TypeVar("M")


def owned(model: type[M], org_id: uuid.UUID) -> Select[Any]:
    """``SELECT`` of ``model`` rows belonging to ``org_id``; add filters and ordering to it."""
    return select(model).where(model.org_id == org_id)  # type: ignore[attr-defined]


def get_owned(session: Session, model: type[M], row_id: Any, org_id: uuid.UUID, what: str) -> M:
    """The row ``row_id`` of ``model`` if it belongs to ``org_id``, else a 404 problem."""
    try:
        key = row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(str(row_id))
    except ValueError:
        raise not_found(what) from None
    row: M | None = session.scalars(owned(model, org_id).where(model.id == key)).first()  # type: ignore[attr-defined]
    if row is None:
        raise not_found(what)
    return row
