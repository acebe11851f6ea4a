"""Prefill: template fields filled from a CRM record and its related records.

A field takes the value at its ``source`` (``zendesk:ticket.requester.name``) or, failing that,
at a CRM path the connection maps to it (defaults per CRM, overridable per org).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from connector.crm.connections import connection_for, connection_info, mappings_of
from connector.problems import Problem
from connector.templates.definition import TemplateDefinition
from crm_adapters.base import CrmError, RateLimited, adapter_for


@dataclass(frozen=True)
class CrmRecord:
    system: str
    object: str
    record_id: str


@dataclass(frozen=True)
class Prefilled:
    value: Any
    source: str  # e.g. "zendesk:ticket.requester.name"
    locked: bool


def prefill(
    session: Session, org_id: Any, definition: TemplateDefinition, record: CrmRecord
) -> dict[str, Prefilled]:
    """The values the record gives the template's sender fields."""
    connection = connection_for(session, org_id, record.system)
    if connection is None:
        raise Problem(
            409,
            "Conflict",
            f"crm: this organization has no {record.system} connection",
            errors=[{"path": "crm.system", "message": "not connected"}],
        )
    adapter = adapter_for(connection_info(session, connection))
    try:
        values = adapter.fetch_record(record.object, record.record_id)
    except RateLimited as err:
        raise Problem(
            503,
            "CRM busy",
            f"crm: {record.system} asks to wait {int(err.retry_after)} s",
            headers={"Retry-After": str(int(err.retry_after))},
        ) from None
    except CrmError as err:
        raise Problem(
            422,
            "CRM record unavailable",
            f"crm: {err}",
            errors=[{"path": "crm.record_id", "message": str(err)}],
        ) from None
    by_field = {field_key: path for path, field_key in mappings_of(connection).items()}
    filled: dict[str, Prefilled] = {}
    for spec in definition.fields:
        if spec.filled_by != "sender" or spec.formula:
            continue
        path = None
        if spec.source and spec.source.startswith(f"{record.system}:"):
            path = spec.source.split(":", 1)[1]
        if (path is None or path not in values) and spec.key in by_field:
            path = by_field[spec.key]
        if path is not None and values.get(path) not in (None, ""):
            filled[spec.key] = Prefilled(values[path], f"{record.system}:{path}", spec.locked)
    return filled


def merge(sent: dict[str, Any], prefilled: dict[str, Prefilled]) -> dict[str, Any]:
    """The sender's values over the CRM's, except locked fields, whose CRM value always wins."""
    merged = {key: p.value for key, p in prefilled.items()}
    for key, value in sent.items():
        if key not in prefilled or not prefilled[key].locked:
            merged[key] = value
    return merged
