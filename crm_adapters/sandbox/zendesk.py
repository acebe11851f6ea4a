"""The Zendesk Support API simulator: tickets (with sideloads), comments, update_many + job
statuses, uploads, users, organizations, ticket fields, search, and OAuth (authorization code
and refresh token grants), behind Bearer authentication.

Request and response shapes follow real Zendesk traffic (zenpy's recorded test suite). Where the
real API is silent or lenient the simulator is deliberately strict so adapters see the failure:
an unknown custom field id, an invalid dropdown value and a missing ticket each come back as a
per-ticket error in the job status. Everything lives in ``state.data["zendesk"]`` behind
``state.lock``; the module-level helpers (``tickets``, ``comments``, ``attachment_bytes``...)
are what tests read and change it with.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import json
import mimetypes
import re
import secrets
from html import escape
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, current_app, request

from crm_adapters.sandbox import SandboxState, sandbox_state

blueprint = Blueprint("sandbox_zendesk", __name__)

KEY = "zendesk"
SEEDED_TOKEN = "sandbox-zendesk-token"  # noqa: S105 - the sandbox's well-known demo token
ACCOUNT_ID = 18525119
MAX_MANY = 100

INITECH_ID = 6130869157658
GLOBEX_ID = 6130869157659
PETER_ID = 6130907993114
ANA_ID = 6130907993115
AGENT_ID = 6130907993116
PLAN_FIELD_ID = 26155630658963
CONTRACT_STATUS_FIELD_ID = 26155656851603
BRAND_ID = 6130830354842
FORM_ID = 6130830344474
CUSTOM_STATUS_ID = 6130830355738
CONTRACT_STATUSES = ("sent", "completed", "declined", "voided", "expired")

_NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
_VIA_API = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}


# --- state ----------------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _store(state: SandboxState) -> dict[str, Any]:
    store: dict[str, Any] = state.data[KEY]
    return store


def _next_id(store: dict[str, Any]) -> int:
    store["next_id"] += 1
    value: int = store["next_id"]
    return value


def seed(state: SandboxState) -> None:
    """Two organizations, two requesters and an agent, two custom fields, five tickets."""
    now = _now()
    with state.lock:
        state.data[KEY] = {
            "next_id": 7000000000000,
            "next_ticket_id": 0,
            "tickets": {},
            "deleted_tickets": set(),
            "comments": {},
            "users": {},
            "organizations": {},
            "ticket_fields": {},
            "uploads": {},
            "attachments": {},
            "jobs": {},
            "job_polls_to_complete": 1,
            "access_tokens": {
                SEEDED_TOKEN: {"scope": "read write", "client_id": "sandbox", "expires_at": None}
            },
            "refresh_tokens": {},
            "codes": {},
            # The embedded sandbox's own OAuth client (connector.crm.oauth.SANDBOX_CLIENT);
            # other client ids are accepted with any secret unless registered.
            "oauth_clients": {"countersign-sandbox": "sandbox-secret"},
        }
        store = _store(state)
        for org_id, name, details, notes, fields in (
            (
                INITECH_ID,
                "Initech",
                "Software, Austin TX",
                "Enterprise prospect",
                {"account_number": "INI-0001", "segment": "enterprise"},
            ),
            (
                GLOBEX_ID,
                "Globex",
                "Manufacturing, Cypress Creek",
                None,
                {"account_number": "GLO-0042", "segment": "mid_market"},
            ),
        ):
            store["organizations"][org_id] = {
                "id": org_id,
                "name": name,
                "shared_tickets": False,
                "shared_comments": False,
                "external_id": None,
                "created_at": now,
                "updated_at": now,
                "domain_names": [],
                "details": details,
                "notes": notes,
                "group_id": None,
                "tags": [],
                "organization_fields": fields,
            }
        for user_id, name, email, user_org, role, phone, locale, fields in (
            (
                PETER_ID,
                "Peter Gibbons",
                "peter@initech.test",
                INITECH_ID,
                "end-user",
                "+1 512 555 0100",
                "en-US",
                {"job_title": "Engineer", "account_tier": "gold"},
            ),
            (
                ANA_ID,
                "Ana Lima",
                "ana@globex.test",
                GLOBEX_ID,
                "end-user",
                None,
                "pt-BR",
                {"job_title": "Procurement", "account_tier": "silver"},
            ),
            (
                AGENT_ID,
                "Sam Agent",
                "agent@demo.countersign.test",
                None,
                "agent",
                None,
                "en-US",
                {},
            ),
        ):
            store["users"][user_id] = _user(
                user_id, name, email, user_org, role, phone, locale, fields, now
            )
        for field in (
            _ticket_field(100, "subject", "Subject", removable=False),
            _ticket_field(101, "description", "Description", removable=False),
            _ticket_field(102, "status", "Status", removable=False),
            _ticket_field(103, "priority", "Priority", removable=False),
            _ticket_field(PLAN_FIELD_ID, "text", "Plan"),
            _ticket_field(
                CONTRACT_STATUS_FIELD_ID,
                "tagger",
                "Contract status",
                options=[(status, status.capitalize()) for status in CONTRACT_STATUSES],
            ),
        ):
            store["ticket_fields"][field["id"]] = field
        add_ticket(
            state,
            subject="Upgrade to enterprise",
            requester_id=PETER_ID,
            description="We'd like to move to the enterprise plan next month.",
            tags=["vip", "billing"],
            status="open",
            priority="high",
            custom_fields={PLAN_FIELD_ID: "enterprise"},
        )
        add_ticket(
            state,
            subject="Renewal paperwork",
            requester_id=ANA_ID,
            description="Please send the renewal contract for signature.",
            tags=["renewal"],
            status="pending",
            priority="normal",
            custom_fields={PLAN_FIELD_ID: "team"},
        )
        add_ticket(
            state,
            subject="Change of invoice address",
            requester_id=PETER_ID,
            description="Our billing address moved.",
            tags=["billing"],
            status="new",
        )
        add_ticket(
            state,
            subject="Data processing agreement",
            requester_id=ANA_ID,
            description="Legal asks for a signed DPA.",
            tags=["legal", "vip"],
            status="open",
            priority="urgent",
        )
        add_ticket(
            state,
            subject="Old onboarding request",
            requester_id=PETER_ID,
            description="Closed long ago.",
            tags=["onboarding"],
            status="closed",
        )


def _user(
    user_id: int,
    name: str,
    email: str,
    org_id: int | None,
    role: str,
    phone: str | None,
    locale: str,
    fields: dict[str, Any],
    now: str,
) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": name,
        "email": email,
        "created_at": now,
        "updated_at": now,
        "time_zone": "America/New_York",
        "iana_time_zone": "America/New_York",
        "phone": phone,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": locale,
        "organization_id": org_id,
        "role": role,
        "verified": True,
        "external_id": None,
        "tags": [],
        "alias": None,
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": None,
        "signature": None,
        "details": None,
        "notes": None,
        "role_type": None,
        "custom_role_id": None,
        "moderator": role != "end-user",
        "ticket_restriction": None if role != "end-user" else "requested",
        "only_private_comments": False,
        "restricted_agent": False,
        "suspended": False,
        "default_group_id": None,
        "report_csv": False,
        "user_fields": fields,
    }


def _ticket_field(
    field_id: int,
    kind: str,
    title: str,
    *,
    removable: bool = True,
    options: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    now = _now()
    field: dict[str, Any] = {
        "id": field_id,
        "type": kind,
        "title": title,
        "raw_title": title,
        "description": title,
        "raw_description": title,
        "position": len(title),
        "active": True,
        "required": False,
        "collapsed_for_agents": False,
        "regexp_for_validation": None,
        "title_in_portal": title,
        "raw_title_in_portal": title,
        "visible_in_portal": False,
        "editable_in_portal": False,
        "required_in_portal": False,
        "tag": None,
        "created_at": now,
        "updated_at": now,
        "removable": removable,
        "key": None,
        "agent_description": None,
    }
    if options is not None:
        field["custom_field_options"] = [
            {
                "id": field_id + i + 1,
                "name": name,
                "raw_name": name,
                "value": value,
                "default": False,
            }
            for i, (value, name) in enumerate(options)
        ]
    return field


# --- helpers for tests and the demo -----------------------------------------------------------


def add_ticket(
    state: SandboxState,
    *,
    subject: str,
    requester_id: int = PETER_ID,
    description: str = "",
    tags: list[str] | None = None,
    status: str = "open",
    priority: str | None = None,
    custom_fields: dict[int, Any] | None = None,
) -> int:
    """Create a ticket (with its first public comment); returns its id."""
    now = _now()
    with state.lock:
        store = _store(state)
        store["next_ticket_id"] += 1
        ticket_id: int = store["next_ticket_id"]
        requester = store["users"].get(requester_id, {})
        values = dict(custom_fields or {})
        custom = [
            {"id": fid, "value": values.get(fid)}
            for fid, f in store["ticket_fields"].items()
            if f["removable"]
        ]
        store["tickets"][ticket_id] = {
            "id": ticket_id,
            "external_id": None,
            "via": copy.deepcopy(_VIA_API),
            "created_at": now,
            "updated_at": now,
            "generated_timestamp": 0,
            "type": None,
            "subject": subject,
            "raw_subject": subject,
            "description": description or subject,
            "priority": priority,
            "status": status,
            "recipient": None,
            "requester_id": requester_id,
            "submitter_id": requester_id,
            "assignee_id": AGENT_ID,
            "organization_id": requester.get("organization_id"),
            "group_id": None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(tags or []),
            "custom_fields": custom,
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "custom_status_id": CUSTOM_STATUS_ID,
            "fields": copy.deepcopy(custom),
            "followup_ids": [],
            "ticket_form_id": FORM_ID,
            "brand_id": BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        store["comments"][ticket_id] = []
        _add_comment(
            store, ticket_id, description or subject, public=True, author_id=requester_id, tokens=[]
        )
        return ticket_id


def delete_ticket(state: SandboxState, ticket_id: int) -> None:
    """Soft-delete a ticket: it then answers 404 like a deleted Zendesk ticket."""
    with state.lock:
        _store(state)["deleted_tickets"].add(ticket_id)


def tickets(state: SandboxState) -> dict[int, dict[str, Any]]:
    """A copy of every live ticket, by id."""
    with state.lock:
        store = _store(state)
        return {
            tid: copy.deepcopy(t)
            for tid, t in store["tickets"].items()
            if tid not in store["deleted_tickets"]
        }


def ticket(state: SandboxState, ticket_id: int) -> dict[str, Any]:
    return tickets(state)[ticket_id]


def comments(state: SandboxState, ticket_id: int) -> list[dict[str, Any]]:
    """A copy of the ticket's comments, oldest first."""
    with state.lock:
        return copy.deepcopy(_store(state)["comments"].get(ticket_id, []))


def attachment_bytes(state: SandboxState, token_or_id: str | int) -> bytes:
    """The content of an uploaded attachment, by upload token or attachment id."""
    with state.lock:
        store = _store(state)
        if isinstance(token_or_id, str) and token_or_id in store["uploads"]:
            token_or_id = store["uploads"][token_or_id]["attachment_ids"][0]
        content: bytes = store["attachments"][int(token_or_id)]["content"]
        return content


def uploads(state: SandboxState) -> dict[str, dict[str, Any]]:
    """Every upload by token: ``{"attachment_ids": [...], "used": bool}``."""
    with state.lock:
        return copy.deepcopy(_store(state)["uploads"])


def set_job_polls_to_complete(state: SandboxState, polls: int) -> None:
    """How many polls a job status answers ``queued`` before ``completed`` (default 1: the
    first poll sees it completed). The changes themselves apply when the job is created."""
    with state.lock:
        _store(state)["job_polls_to_complete"] = polls


def issue_tokens(
    state: SandboxState,
    *,
    client_id: str = "countersign",
    scope: str = "read write",
    expires_in: int | None = 7200,
) -> dict[str, Any]:
    """New OAuth tokens, as POST /oauth/tokens returns them."""
    with state.lock:
        return _issue(_store(state), client_id, scope, expires_in)


def revoke_token(state: SandboxState, access_token: str) -> None:
    """Revoke an access token (as an expired or revoked token, it then gets 401)."""
    with state.lock:
        _store(state)["access_tokens"].pop(access_token, None)


def register_oauth_client(state: SandboxState, client_id: str, client_secret: str) -> None:
    """Require ``client_secret`` for ``client_id`` (unregistered clients are accepted)."""
    with state.lock:
        _store(state)["oauth_clients"][client_id] = client_secret


def _issue(
    store: dict[str, Any], client_id: str, scope: str, expires_in: int | None
) -> dict[str, Any]:
    access, refresh = secrets.token_hex(32), secrets.token_hex(32)
    expires_at = (
        (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)) if expires_in else None
    )
    store["access_tokens"][access] = {
        "scope": scope,
        "client_id": client_id,
        "expires_at": expires_at,
    }
    store["refresh_tokens"][refresh] = {"scope": scope, "client_id": client_id, "access": access}
    return {
        "access_token": access,
        "token_type": "bearer",
        "scope": scope,
        "refresh_token": refresh,
        "expires_in": expires_in,
        "refresh_token_expires_in": 2592000,
    }


# --- request plumbing -------------------------------------------------------------------------


def _state() -> SandboxState:
    return sandbox_state(current_app)


def _base() -> str:
    configured: str = current_app.config.get("SANDBOX_BASE_URL") or ""
    return configured.rstrip("/") or request.host_url.rstrip("/")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(body), status=status, content_type="application/json; charset=utf-8"
    )
    response.headers["x-rate-limit"] = "700"
    response.headers["x-rate-limit-remaining"] = "699"
    response.headers["X-Zendesk-API-Version"] = "v2"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _not_found() -> Response:
    return _json(_NOT_FOUND, 404)


@blueprint.before_request
def _authenticate() -> Response | None:
    if not request.path.startswith("/api/v2/"):
        return None
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return _json({"error": "Couldn't authenticate you"}, 401)
    token = header.split(None, 1)[1].strip()
    state = _state()
    with state.lock:
        info = _store(state)["access_tokens"].get(token)
    expired = (
        info is not None
        and info["expires_at"] is not None
        and info["expires_at"] <= dt.datetime.now(dt.UTC)
    )
    if info is None or expired:
        return _json(
            {
                "error": "invalid_token",
                "error_description": "The access token provided is expired, revoked, malformed or "
                "invalid for other reasons.",
            },
            401,
            {"WWW-Authenticate": 'Bearer realm="Web Token", error="invalid_token"'},
        )
    return None


def _url(path: str) -> str:
    return f"{_base()}/api/v2/{path}"


def _render_ticket(ticket_: dict[str, Any]) -> dict[str, Any]:
    return {"url": _url(f"tickets/{ticket_['id']}.json"), **copy.deepcopy(ticket_)}


def _render_user(user: dict[str, Any]) -> dict[str, Any]:
    rendered = copy.deepcopy(user)
    return {"id": rendered.pop("id"), "url": _url(f"users/{user['id']}.json"), **rendered}


def _render_org(org: dict[str, Any]) -> dict[str, Any]:
    return {"url": _url(f"organizations/{org['id']}.json"), **copy.deepcopy(org)}


def _render_field(field: dict[str, Any]) -> dict[str, Any]:
    return {"url": _url(f"ticket_fields/{field['id']}.json"), **copy.deepcopy(field)}


def _live_ticket(store: dict[str, Any], ticket_id: int) -> dict[str, Any] | None:
    if ticket_id in store["deleted_tickets"]:
        return None
    found: dict[str, Any] | None = store["tickets"].get(ticket_id)
    return found


def _includes(raw: str | None, kind: str) -> set[str]:
    """``users,organizations`` (show endpoints) or ``tickets(users,organizations)`` (search)."""
    if not raw:
        return set()
    wrapped = re.fullmatch(rf"\s*{kind}\((.*)\)\s*", raw)
    inner = wrapped.group(1) if wrapped else raw
    return {part.strip() for part in inner.split(",") if part.strip()}


def _sideloads(
    store: dict[str, Any], found: list[dict[str, Any]], includes: set[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "users" in includes:
        ids: list[int] = []
        for t in found:
            for uid in [
                t["requester_id"],
                t["submitter_id"],
                t["assignee_id"],
                *t["collaborator_ids"],
            ]:
                if uid is not None and uid not in ids:
                    ids.append(uid)
        body["users"] = [_render_user(store["users"][uid]) for uid in ids if uid in store["users"]]
    if "organizations" in includes:
        org_ids = []
        for t in found:
            if t["organization_id"] is not None and t["organization_id"] not in org_ids:
                org_ids.append(t["organization_id"])
        body["organizations"] = [
            _render_org(store["organizations"][oid])
            for oid in org_ids
            if oid in store["organizations"]
        ]
    return body


# --- tickets ----------------------------------------------------------------------------------


@blueprint.get("/api/v2/tickets/<int:ticket_id>.json")
def show_ticket(ticket_id: int) -> Response:
    state = _state()
    with state.lock:
        store = _store(state)
        found = _live_ticket(store, ticket_id)
        if found is None:
            return _not_found()
        body: dict[str, Any] = {"ticket": _render_ticket(found)}
        body.update(_sideloads(store, [found], _includes(request.args.get("include"), "tickets")))
        return _json(body)


@blueprint.get("/api/v2/tickets/show_many.json")
def show_many_tickets() -> Response:
    ids = _ids_param()
    if ids is None:
        return _too_many()
    state = _state()
    with state.lock:
        store = _store(state)
        found = [t for tid in ids if (t := _live_ticket(store, tid)) is not None]
        body: dict[str, Any] = {"tickets": [_render_ticket(t) for t in found]}
        body.update(_sideloads(store, found, _includes(request.args.get("include"), "tickets")))
        body.update({"next_page": None, "previous_page": None, "count": len(found)})
        return _json(body)


@blueprint.put("/api/v2/tickets/<int:ticket_id>.json")
def update_ticket(ticket_id: int) -> Response:
    payload = request.get_json(silent=True) or {}
    changes = payload.get("ticket")
    if not isinstance(changes, dict):
        return _json({"error": "InvalidEndpoint", "description": "ticket is required"}, 400)
    state = _state()
    with state.lock:
        store = _store(state)
        if _live_ticket(store, ticket_id) is None:
            return _not_found()
        audit, error = _apply(store, ticket_id, changes)
        if error is not None:
            return _json(
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"base": [{"description": error[1]}]},
                },
                422,
            )
        return _json({"ticket": _render_ticket(store["tickets"][ticket_id]), "audit": audit})


@blueprint.put("/api/v2/tickets/update_many.json")
def update_many_tickets() -> Response:
    payload = request.get_json(silent=True) or {}
    if "ids" in request.args:
        ids = _ids_param()
        if ids is None:
            return _too_many()
        same = payload.get("ticket") or {}
        items: Any = [{**same, "id": tid} for tid in ids]
    else:
        items = payload.get("tickets")
        if not isinstance(items, list):
            return _json({"error": "InvalidEndpoint", "description": "tickets is required"}, 400)
        if len(items) > MAX_MANY:
            return _too_many()
    state = _state()
    with state.lock:
        store = _store(state)
        results: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            ticket_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ticket_id, int) or _live_ticket(store, ticket_id) is None:
                results.append(
                    {
                        "index": index,
                        "error": "RecordNotFound",
                        "id": ticket_id,
                        "details": f"Ticket {ticket_id} not found",
                    }
                )
                continue
            changes = {k: v for k, v in item.items() if k != "id"}
            _, error = _apply(store, ticket_id, changes)
            if error is not None:
                results.append(
                    {"index": index, "error": error[0], "id": ticket_id, "details": error[1]}
                )
            else:
                results.append(
                    {"action": "update", "status": "Updated", "success": True, "id": ticket_id}
                )
        job_id = "V3-" + secrets.token_hex(16)
        store["jobs"][job_id] = {"total": len(items), "polls": 0, "results": results}
        return _json({"job_status": _render_job(store, job_id)})


@blueprint.get("/api/v2/job_statuses/<job_id>.json")
def show_job_status(job_id: str) -> Response:
    state = _state()
    with state.lock:
        store = _store(state)
        if job_id not in store["jobs"]:
            return _not_found()
        store["jobs"][job_id]["polls"] += 1
        return _json({"job_status": _render_job(store, job_id)})


def _render_job(store: dict[str, Any], job_id: str) -> dict[str, Any]:
    job = store["jobs"][job_id]
    done = job["polls"] >= store["job_polls_to_complete"]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
    return {
        "id": job_id,
        "url": _url(f"job_statuses/{job_id}.json"),
        "total": job["total"],
        "progress": job["total"] if done else None,
        "status": "completed" if done else "queued",
        "message": f"Completed at {when}" if done else None,
        "results": copy.deepcopy(job["results"]) if done else None,
    }


def _ids_param() -> list[int] | None:
    """``?ids=1,2,3`` as ints; None when there are more than 100."""
    ids = [int(part) for part in request.args.get("ids", "").split(",") if part.strip().isdigit()]
    return None if len(ids) > MAX_MANY else ids


def _too_many() -> Response:
    return _json(
        {
            "error": "TooManyValues",
            "description": f"Parameter  cannot specify more than {MAX_MANY} values",
            "max_count": MAX_MANY,
        },
        400,
    )


def _apply(
    store: dict[str, Any], ticket_id: int, changes: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """Apply a ticket update (all or nothing); returns (audit, (error, details) or None)."""
    current = store["tickets"][ticket_id]
    if current["status"] == "closed":
        return {}, ("TicketUpdateFailed", "Status: closed prevents ticket update")
    updated = copy.deepcopy(current)
    events: list[dict[str, Any]] = []
    fields = store["ticket_fields"]
    for item in [*changes.get("custom_fields", []), *changes.get("fields", [])]:
        field_id, value = item.get("id"), item.get("value")
        field = fields.get(field_id)
        if field is None or not field["removable"]:
            return {}, ("TicketUpdateFailed", f"Ticket field {field_id} does not exist")
        if (
            field["type"] == "tagger"
            and value not in (None, "")
            and value not in {option["value"] for option in field["custom_field_options"]}
        ):
            return {}, ("TicketUpdateFailed", f"{field['title']}: {value!r} is not a valid option")
        previous = None
        for key in ("custom_fields", "fields"):
            entry = next((e for e in updated[key] if e["id"] == field_id), None)
            if entry is None:
                entry = {"id": field_id, "value": None}
                updated[key].append(entry)
            previous, entry["value"] = entry["value"], value
        events.append(
            {
                "id": _next_id(store),
                "type": "Change",
                "value": value,
                "field_name": str(field_id),
                "previous_value": previous,
            }
        )
    tags = list(updated["tags"])
    if "tags" in changes:
        tags = list(dict.fromkeys(changes["tags"] or []))
    for tag in changes.get("additional_tags", []) or []:
        if tag not in tags:
            tags.append(tag)
    removed = set(changes.get("remove_tags", []) or [])
    tags = [tag for tag in tags if tag not in removed]
    if tags != updated["tags"]:
        events.append(
            {
                "id": _next_id(store),
                "type": "Change",
                "value": tags,
                "field_name": "tags",
                "previous_value": updated["tags"],
            }
        )
        updated["tags"] = tags
    for key in ("subject", "status", "priority", "type", "assignee_id", "external_id"):
        if key in changes and changes[key] != updated.get(key):
            events.append(
                {
                    "id": _next_id(store),
                    "type": "Change",
                    "value": changes[key],
                    "field_name": key,
                    "previous_value": updated.get(key),
                }
            )
            updated[key] = changes[key]
            if key == "subject":
                updated["raw_subject"] = changes[key]
    updated["updated_at"] = _now()
    store["tickets"][ticket_id] = updated
    audit_id = _next_id(store)
    comment = changes.get("comment")
    if isinstance(comment, dict) and (comment.get("body") or comment.get("html_body")):
        tokens = comment.get("uploads") or []
        if isinstance(tokens, str):  # zenpy's own tests send a single token as a string
            tokens = [tokens]
        event = _add_comment(
            store,
            ticket_id,
            comment.get("body") or comment["html_body"],
            public=comment.get("public", True) is not False,
            author_id=comment.get("author_id") or AGENT_ID,
            tokens=tokens,
            audit_id=audit_id,
        )
        events.insert(0, event)
    audit = {
        "id": audit_id,
        "ticket_id": ticket_id,
        "created_at": _now(),
        "author_id": AGENT_ID,
        "metadata": {"system": {"client": request.headers.get("User-Agent", "")}, "custom": {}},
        "events": events,
        "via": copy.deepcopy(_VIA_API),
    }
    return audit, None


def _add_comment(
    store: dict[str, Any],
    ticket_id: int,
    body: str,
    *,
    public: bool,
    author_id: int,
    tokens: list[str],
    audit_id: int | None = None,
) -> dict[str, Any]:
    attachments: list[dict[str, Any]] = []
    for token in tokens:
        upload = store["uploads"].get(token)
        if upload is None:  # like Zendesk: an unknown or expired token is ignored
            continue
        upload["used"] = True
        attachments.extend(
            copy.deepcopy(store["attachments"][aid]["attachment"])
            for aid in upload["attachment_ids"]
        )
    text = str(body)
    html = "".join(f'<p dir="auto">{escape(line)}</p>' for line in text.split("\n") if line)
    comment = {
        "id": _next_id(store),
        "type": "Comment",
        "author_id": author_id,
        "body": text,
        "html_body": f'<div class="zd-comment" dir="auto">{html}</div>',
        "plain_body": text,
        "public": public,
        "attachments": attachments,
        "audit_id": audit_id or _next_id(store),
        "via": copy.deepcopy(_VIA_API),
        "created_at": _now(),
        "metadata": {"system": {}, "custom": {}},
    }
    store["comments"].setdefault(ticket_id, []).append(comment)
    return copy.deepcopy(comment)


@blueprint.get("/api/v2/tickets/<int:ticket_id>/comments.json")
def list_comments(ticket_id: int) -> Response:
    state = _state()
    with state.lock:
        store = _store(state)
        if _live_ticket(store, ticket_id) is None:
            return _not_found()
        items = copy.deepcopy(store["comments"].get(ticket_id, []))
    if request.args.get("sort_order") == "desc":
        items.reverse()
    return _json(_paginate(items, "comments"))


def _paginate(items: list[Any], key: str) -> dict[str, Any]:
    """Cursor pagination for ``page[size]`` (with meta/links), else offset pagination."""
    args = request.args
    if "page[size]" in args:
        size = max(1, min(100, int(args.get("page[size]", 100))))
        start = _decode_cursor(args.get("page[after]"))
        page = items[start : start + size]
        has_more = start + size < len(items)
        after, before = _encode_cursor(start + size), _encode_cursor(start)
        return {
            key: page,
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
            "links": {
                "prev": _page_link({"page[before]": before}),
                "next": _page_link({"page[after]": after}),
            },
        }
    per_page = max(1, min(100, int(args.get("per_page", 100))))
    number = max(1, int(args.get("page", 1)))
    start = (number - 1) * per_page
    page = items[start : start + per_page]
    return {
        key: page,
        "next_page": _page_link({"page": str(number + 1)})
        if start + per_page < len(items)
        else None,
        "previous_page": _page_link({"page": str(number - 1)}) if number > 1 else None,
        "count": len(items),
    }


def _encode_cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"o": "created_at,id", "v": index}).encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(json.loads(base64.b64decode(cursor))["v"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return 0


def _page_link(changes: dict[str, str]) -> str:
    parts = urlsplit(request.url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query)
        if (k not in changes and not k.startswith("page[")) or k == "page[size]"
    ]
    query.extend(changes.items())
    base = urlsplit(_base())
    return urlunsplit((base.scheme, base.netloc, parts.path, urlencode(query), ""))


# --- uploads and attachments ------------------------------------------------------------------


@blueprint.post("/api/v2/uploads.json")
def upload() -> Response:
    filename = request.args.get("filename", "")
    if not filename:
        return _json({"error": "InvalidValue", "description": "filename is required"}, 400)
    content = request.get_data()
    content_type = request.content_type or ""
    if not content_type or content_type.startswith("application/octet-stream"):
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    state = _state()
    with state.lock:
        store = _store(state)
        token = request.args.get("token") or secrets.token_urlsafe(18)[:25]
        if request.args.get("token") and token not in store["uploads"]:
            return _not_found()
        attachment_id = _next_id(store)
        content_token = secrets.token_urlsafe(18)[:25]
        content_url = f"{_base()}/attachments/token/{content_token}/?name={quote(filename)}"
        attachment = {
            "url": _url(f"attachments/{attachment_id}.json"),
            "id": attachment_id,
            "file_name": filename,
            "content_url": content_url,
            "mapped_content_url": content_url,
            "content_type": content_type.split(";")[0],
            "size": len(content),
            "width": None,
            "height": None,
            "inline": False,
            "deleted": False,
            "malware_access_override": False,
            "malware_scan_result": "not_scanned",
            "thumbnails": [],
        }
        store["attachments"][attachment_id] = {"attachment": attachment, "content": content}
        entry = store["uploads"].setdefault(token, {"attachment_ids": [], "used": False})
        entry["attachment_ids"].append(attachment_id)
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "upload": {
                "token": token,
                "expires_at": expires,
                "attachments": [
                    copy.deepcopy(store["attachments"][aid]["attachment"])
                    for aid in entry["attachment_ids"]
                ],
                "attachment": copy.deepcopy(attachment),
            }
        }
    return _json(body, 201, {"Location": str(attachment["url"])})


@blueprint.get("/api/v2/attachments/<int:attachment_id>.json")
def show_attachment(attachment_id: int) -> Response:
    state = _state()
    with state.lock:
        found = _store(state)["attachments"].get(attachment_id)
        if found is None:
            return _not_found()
        return _json({"attachment": copy.deepcopy(found["attachment"])})


# --- users, organizations, ticket fields ------------------------------------------------------


@blueprint.get("/api/v2/users/<int:user_id>.json")
def show_user(user_id: int) -> Response:
    state = _state()
    with state.lock:
        user = _store(state)["users"].get(user_id)
        return _json({"user": _render_user(user)}) if user else _not_found()


@blueprint.get("/api/v2/users/show_many.json")
def show_many_users() -> Response:
    ids = _ids_param()
    if ids is None:
        return _too_many()
    state = _state()
    with state.lock:
        users = _store(state)["users"]
        found = [_render_user(users[uid]) for uid in ids if uid in users]
    return _json({"users": found, "next_page": None, "previous_page": None, "count": len(found)})


@blueprint.get("/api/v2/organizations/<int:org_id>.json")
def show_organization(org_id: int) -> Response:
    state = _state()
    with state.lock:
        org = _store(state)["organizations"].get(org_id)
        return _json({"organization": _render_org(org)}) if org else _not_found()


@blueprint.get("/api/v2/organizations/show_many.json")
def show_many_organizations() -> Response:
    ids = _ids_param()
    if ids is None:
        return _too_many()
    state = _state()
    with state.lock:
        orgs = _store(state)["organizations"]
        found = [_render_org(orgs[oid]) for oid in ids if oid in orgs]
    return _json(
        {"organizations": found, "next_page": None, "previous_page": None, "count": len(found)}
    )


@blueprint.get("/api/v2/ticket_fields.json")
def list_ticket_fields() -> Response:
    state = _state()
    with state.lock:
        fields = [_render_field(f) for f in _store(state)["ticket_fields"].values()]
    return _json(_paginate(fields, "ticket_fields"))


# --- search -----------------------------------------------------------------------------------

_TERM = re.compile(r'(-?)(\w+)([:<>])("[^"]*"|\S+)|"([^"]*)"|(\S+)')
_STATUS_ORDER = ("new", "open", "pending", "hold", "solved", "closed")


@blueprint.get("/api/v2/search.json")
def search() -> Response:
    query = request.args.get("query", "")
    conditions: list[tuple[bool, str, str, str]] = []
    words: list[str] = []
    kind = request.args.get("filter[type]")
    for negate, key, op, value, phrase, word in _TERM.findall(query):
        if key:
            value = value.strip('"')
            if key == "type" and op == ":":
                kind = value
            else:
                conditions.append((negate == "-", key.lower(), op, value.lower()))
        else:
            words.append((phrase or word).lower())
    state = _state()
    with state.lock:
        store = _store(state)
        if kind in ("user", "organization"):
            pool = store["users"] if kind == "user" else store["organizations"]
            rendered = _render_user if kind == "user" else _render_org
            found = [
                {**rendered(item), "result_type": kind}
                for item in pool.values()
                if all(w in json.dumps(item).lower() for w in words)
            ]
            return _json({**_paginate(found, "results"), "facets": None})
        matched = [
            t
            for tid, t in sorted(store["tickets"].items())
            if tid not in store["deleted_tickets"]
            and all(_matches(store, t, c) for c in conditions)
            and all(w in f"{t['subject']} {t['description']}".lower() for w in words)
        ]
        if request.args.get("sort_order") == "desc":
            matched.reverse()
        body = _paginate(
            [{**_render_ticket(t), "result_type": "ticket"} for t in matched], "results"
        )
        page_ids = {r["id"] for r in body["results"]}
        body.update(
            _sideloads(
                store,
                [t for t in matched if t["id"] in page_ids],
                _includes(request.args.get("include"), "tickets"),
            )
        )
        body["facets"] = None
        return _json(body)


def _matches(
    store: dict[str, Any], ticket_: dict[str, Any], condition: tuple[bool, str, str, str]
) -> bool:
    negate, key, op, value = condition
    if key in ("tags", "tag"):
        result = value in [t.lower() for t in ticket_["tags"]]
    elif key == "status":
        status = ticket_["status"]
        if op == ":":
            result = status == value
        elif value in _STATUS_ORDER:
            here, there = _STATUS_ORDER.index(status), _STATUS_ORDER.index(value)
            result = here < there if op == "<" else here > there
        else:
            result = False
    elif key in ("priority", "subject"):
        result = value in str(ticket_.get(key) or "").lower()
    elif key == "requester":
        user = store["users"].get(ticket_["requester_id"], {})
        result = value in (str(user.get("email", "")).lower(), str(user.get("id")))
    elif key == "organization":
        org = store["organizations"].get(ticket_["organization_id"], {})
        result = value in (str(org.get("name", "")).lower(), str(org.get("id")))
    else:  # an unsupported keyword matches nothing, so a typo is visible in tests
        result = False
    return result != negate


# --- OAuth ------------------------------------------------------------------------------------


@blueprint.get("/oauth/authorizations/new")
def authorize() -> Response:
    args = request.args
    redirect_uri, client_id = args.get("redirect_uri", ""), args.get("client_id", "")
    if (
        args.get("response_type") != "code"
        or not client_id
        or urlsplit(redirect_uri).scheme not in ("http", "https")
    ):
        return _json(
            {
                "error": "invalid_request",
                "error_description": "response_type=code, client_id and an absolute "
                "redirect_uri are required",
            },
            400,
        )
    code = secrets.token_urlsafe(24)
    state = _state()
    with state.lock:
        _store(state)["codes"][code] = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": args.get("scope", "read write"),
        }
    parts = urlsplit(redirect_uri)
    params = [*parse_qsl(parts.query), ("code", code)]
    if "state" in args:
        params.append(("state", args["state"]))
    return Response(
        status=302, headers={"Location": urlunsplit(parts._replace(query=urlencode(params)))}
    )


@blueprint.post("/oauth/tokens")
def tokens() -> Response:
    # JSON (Zendesk's documented form) or form-encoded; the client in the body or, as OAuth
    # libraries such as authlib send it by default, in HTTP Basic auth (client_secret_basic).
    data: dict[str, Any] = dict(request.form) or (request.get_json(silent=True) or {})
    client_id, client_secret = str(data.get("client_id", "")), str(data.get("client_secret", ""))
    if request.authorization and request.authorization.type == "basic":
        client_id = request.authorization.username or client_id
        client_secret = request.authorization.password or client_secret
    state = _state()
    with state.lock:
        store = _store(state)
        expected = store["oauth_clients"].get(client_id)
        if (
            not client_id
            or not client_secret
            or (expected is not None and expected != client_secret)
        ):
            return _json(
                {"error": "invalid_client", "error_description": "Client authentication failed."},
                401,
            )
        grant = data.get("grant_type")
        if grant == "authorization_code":
            code = store["codes"].pop(str(data.get("code", "")), None)
            if (
                code is None
                or code["client_id"] != client_id
                or code["redirect_uri"] != data.get("redirect_uri")
            ):
                return _invalid_grant()
            return _json(
                _issue(store, client_id, str(data.get("scope") or code["scope"]), _expires_in(data))
            )
        if grant == "refresh_token":
            old = store["refresh_tokens"].pop(str(data.get("refresh_token", "")), None)
            if old is None or old["client_id"] != client_id:
                return _invalid_grant()
            store["access_tokens"].pop(old["access"], None)
            return _json(_issue(store, client_id, old["scope"], _expires_in(data)))
        return _json(
            {
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported.",
            },
            400,
        )


def _expires_in(data: dict[str, Any]) -> int:
    try:
        return max(1, int(data.get("expires_in") or 7200))
    except (TypeError, ValueError):
        return 7200


def _invalid_grant() -> Response:
    return _json(
        {
            "error": "invalid_grant",
            "error_description": "The provided authorization grant is invalid, expired, "
            "revoked, does not match the redirection URI used in the "
            "authorization request, or was issued to another client.",
        },
        400,
    )


# Signed URLs: the Countersign app installed in the simulated account signs an RS256 JWT each
# time the ticket sidebar opens; the app's public key is served as Zendesk serves it.

DEMO_APP_ID = 1001
DEMO_INSTALLATION_ID = 2002


def _app_key(state: SandboxState) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    with state.lock:
        store = _store(state)
        if "app_key" not in store:
            store["app_key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return store["app_key"]


def app_public_key_pem(state: SandboxState) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return (
        _app_key(state)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def sign_app_jwt(
    state: SandboxState,
    *,
    subdomain_url: str,
    installation_id: int = DEMO_INSTALLATION_ID,
    user_id: int = AGENT_ID,
    ttl_seconds: int = 300,
) -> str:
    """The JWT Zendesk POSTs as ``token`` to a signed-URL app location."""
    import time as _time

    from cryptography.hazmat.primitives import serialization
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    pem = _app_key(state).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(_time.time())
    claims = {
        "iss": subdomain_url,
        "aud": f"{subdomain_url}/api/v2/apps/installations/{installation_id}.json",
        "sub": f"{subdomain_url}/api/v2/users/{user_id}.json",
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode({"alg": "RS256", "typ": "JWT"}, claims, RSAKey.import_key(pem))


@blueprint.get("/api/v2/apps/<int:app_id>/public_key.pem")
def app_public_key(app_id: int) -> Response:
    denied = _authenticate()
    if denied is not None:
        return denied
    if app_id != DEMO_APP_ID:
        return _not_found()
    return Response(app_public_key_pem(_state()), mimetype="application/x-pem-file")
