"""How Zendesk tickets map to Countersign: flat values for templates, tags per envelope status,
and the text of the internal note a status change leaves on the ticket."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Flat ticket path → template field, the defaults an org's connection can override.
DEFAULT_FIELD_MAPPINGS: dict[str, str] = {
    "ticket.requester.name": "customer_name",
    "ticket.requester.email": "customer_email",
    "ticket.organization.name": "customer_company",
}

#: Envelope status → (tags to add, tags to remove). Added with ``additional_tags`` and removed
#: with ``remove_tags`` so the ticket's other tags are never touched (``tags`` would replace all).
STATUS_TAGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sent": (("contract_sent",), ()),
    "completed": (("contract_signed",), ("contract_sent",)),
    # An envelope that stopped is no longer out for signature.
    "declined": (("contract_declined",), ("contract_sent",)),
    "voided": (("contract_voided",), ("contract_sent",)),
    "expired": (("contract_expired",), ("contract_sent",)),
}

STATUS_WORDS = {
    "sent": "sent for signature",
    "completed": "signed",
    "declined": "declined",
    "voided": "voided",
    "expired": "expired",
}

MARKER = re.compile(r"\[countersign:([^:\]\s]+):([a-z_]+)\]")


def marker(envelope_id: str, status: str) -> str:
    """The line a note carries so a retried delivery can tell it was already posted."""
    return f"[countersign:{envelope_id}:{status}]"


def note_text(
    *, title: str, status: str, summary: str, envelope_url: str | None, envelope_id: str
) -> str:
    lines = [f'Countersign: "{title}" was {STATUS_WORDS.get(status, status)}.', summary]
    if envelope_url:
        lines.append(f"Envelope: {envelope_url}")
    lines.append(marker(envelope_id, status))
    return "\n".join(line for line in lines if line)


def markers_in(bodies: Iterable[str]) -> set[str]:
    return {f"[countersign:{m.group(1)}:{m.group(2)}]" for b in bodies for m in MARKER.finditer(b)}


def slug(title: str) -> str:
    """``Contract status`` → ``contract_status``: the key of ``ticket.fields.<slug>``."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def _text(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def flatten_ticket(
    ticket: Mapping[str, Any],
    users: Mapping[int, Mapping[str, Any]],
    organizations: Mapping[int, Mapping[str, Any]],
    fields: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """One ticket and its sideloaded requester, assignee and organization as flat paths.

    ``ticket.custom_fields.<id>`` is the raw value (a dropdown's option tag);
    ``ticket.fields.<slug of the title>`` is what an agent sees (the option's name).
    """
    flat: dict[str, Any] = {}
    for key in (
        "id",
        "subject",
        "description",
        "status",
        "priority",
        "type",
        "external_id",
        "created_at",
        "updated_at",
    ):
        flat[f"ticket.{key}"] = ticket.get(key)
    flat["ticket.tags"] = ", ".join(ticket.get("tags") or [])
    by_id = {f["id"]: f for f in fields if f.get("removable", True)}
    for entry in ticket.get("custom_fields") or []:
        field_id, value = entry.get("id"), entry.get("value")
        flat[f"ticket.custom_fields.{field_id}"] = _text(value)
        field = by_id.get(field_id)
        if field is None or not field.get("title"):
            continue
        key = f"ticket.fields.{slug(str(field['title']))}"
        if key in flat:  # two fields with one title: the first keeps the slug
            continue
        options = {o.get("value"): o.get("name") for o in field.get("custom_field_options") or []}
        if isinstance(value, list):
            flat[key] = ", ".join(str(options.get(v, v)) for v in value)
        else:
            flat[key] = options.get(value, value) if value is not None else None
    for role, user_id in (
        ("requester", ticket.get("requester_id")),
        ("assignee", ticket.get("assignee_id")),
    ):
        user = users.get(user_id) if user_id is not None else None
        if user is None:
            continue
        for key in ("id", "name", "email", "phone", "locale"):
            flat[f"ticket.{role}.{key}"] = user.get(key)
        if role == "requester":
            for key, value in (user.get("user_fields") or {}).items():
                flat[f"ticket.requester.user_fields.{key}"] = _text(value)
    org_id = ticket.get("organization_id")
    org = organizations.get(org_id) if org_id is not None else None
    if org is not None:
        for key in ("id", "name", "details", "notes"):
            flat[f"ticket.organization.{key}"] = org.get(key)
        for key, value in (org.get("organization_fields") or {}).items():
            flat[f"ticket.organization.organization_fields.{key}"] = _text(value)
    return flat
