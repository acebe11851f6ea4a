"""The Zendesk adapter: tickets (with requester and organization) as flat values, search for bulk
send, and envelope statuses written back as tags, a field and an internal note, many tickets per
call.

Reads go through zenpy's session and URL builder but keep the raw JSON (``_get(...,
raw_response=True)``): zenpy's objects fetch a ticket's requester and organization lazily, one
call each, and with its cache disabled (stale job statuses otherwise) the sideloads would be
thrown away. Writes use zenpy's objects: ``tickets.update([...])`` is ``update_many``.

write_back makes, per batch (at most 100 tickets; several updates of a ticket are merged):
- for updates whose ``attempt > 1``: one GET of each such ticket's newest comments (the marker
  check that keeps a retried delivery from posting a second note);
- one POST /uploads.json per attachment still to post;
- one PUT /tickets/update_many.json for every ticket in the batch;
- GET /job_statuses/{id}.json until the job completes (at most 4 polls, 0.1-0.5 s apart).
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote

import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket
from zenpy.lib.endpoint import Url
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded

from crm_adapters.base import (
    DEFAULT_RETRY_AFTER,
    Attachment,
    ConnectionInfo,
    CrmAdapter,
    CrmError,
    Outcome,
    RateLimited,
    RecordRef,
    StatusUpdate,
    UpdateResult,
    register,
)
from crm_adapters.zendesk import client as zclient
from crm_adapters.zendesk.mapping import STATUS_TAGS, flatten_ticket, marker, markers_in, note_text
from crm_adapters.zendesk.webhooks import verify_signature

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds before each job status poll: never more than 0.5 s at a time, 1.35 s in all.
POLL_DELAYS = (0.1, 0.25, 0.5, 0.5)
#: How long to wait before retrying a batch whose job had not finished.
JOB_RETRY_AFTER = 5.0
#: Per-ticket job errors worth retrying (everything else is permanent).
TRANSIENT_ERRORS = (
    "conflict",
    "locked",
    "timeout",
    "ratelimit",
    "rate limit",
    "unavailable",
    "temporar",
    "try again",
)
#: The most characters of notes merged into one comment (Zendesk refuses a comment over 64 KB).
NOTE_CHARS_PER_TICKET = 32_000
SEARCH_LIMIT = 1000  # Zendesk's search API stops at 1,000 results
_TICKET_ID = re.compile(r"[1-9][0-9]{0,18}")
_SIDELOADS = ["users", "organizations"]


class _Abort(Exception):
    """Every update of the batch not yet settled ends with this outcome."""

    def __init__(
        self,
        outcome: Outcome,
        error: str,
        retry_after: float | None = None,
        resume: str | None = None,
    ) -> None:
        super().__init__(error)
        self.outcome: Outcome = outcome
        self.error, self.retry_after, self.resume = error, retry_after, resume


@dataclass
class _TicketChange:
    """What one ticket gets in the update_many call (several updates may share a ticket)."""

    indexes: list[int] = field(default_factory=list)
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    status: str | None = None

    def tag(self, status: str) -> None:
        # In batch order, so sent then completed for one envelope ends without contract_sent.
        adds, removes = STATUS_TAGS.get(status, ((), ()))
        for tag in adds:
            if tag in self.remove:
                self.remove.remove(tag)
            if tag not in self.add:
                self.add.append(tag)
        for tag in removes:
            if tag in self.add:
                self.add.remove(tag)
            if tag not in self.remove:
                self.remove.append(tag)


def _note_size(update: StatusUpdate) -> int:
    return (
        len(update.title)
        + len(update.summary)
        + len(update.envelope_url or "")
        + len(update.envelope_id)
        + 80
    )


def _status_code(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _description(err: BaseException) -> str:
    """Zendesk's own words for an error response: ``RecordInvalid: Record validation errors``."""
    response = getattr(err, "response", None)
    try:
        body = response.json() if response is not None else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        error: Any = body.get("error")
        description: Any = body.get("description")
        if isinstance(error, dict):  # some endpoints nest it: {"error": {"title", "message"}}
            error, description = error.get("title"), error.get("message")
        details = body.get("details")
        text = ": ".join(str(p) for p in (error, description) if p)
        if details:
            text = f"{text} {details}" if text else str(details)
        if text:
            return text
    return str(err) or type(err).__name__


def _retry_after_of(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    header = response.headers.get("Retry-After") if response is not None else None
    return zclient.parse_retry_after(header) if header else None


@register
class ZendeskAdapter(CrmAdapter):
    system = "zendesk"
    max_batch = 100

    def __init__(self, connection: ConnectionInfo) -> None:
        super().__init__(connection)
        #: HTTP responses received by this adapter (429s and token refreshes included).
        self.http_calls = 0
        self._zenpy: Zenpy | None = None
        self._fields: list[dict[str, Any]] | None = None
        self._refreshed = False

    # --- plumbing --------------------------------------------------------------------------

    @property
    def client(self) -> Zenpy:
        if self._zenpy is None:
            self._zenpy = zclient.build_client(self.connection, on_response=self._count)
        return self._zenpy

    def _count(self, response: requests.Response) -> None:
        self.http_calls += 1

    def _url(self, path: str) -> str:
        # zenpy's own URL builder: https://{subdomain}.zendesk.com/api/v2/{path}, which the
        # session's transport adapter sends on to connection.api_url.
        url: str = self.client.tickets._build_url(Url(path))
        return url

    def _get_json(self, url: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        # zenpy's _get: its _check_response turns error statuses into APIException (with the
        # response); raw_response keeps the JSON, sideloads included.
        api = self.client.tickets
        response = self._call(lambda: api._get(url, raw_response=True, params=params))
        body: dict[str, Any] = response.json()
        return body

    def _call(self, operation: Callable[[], T]) -> T:
        """Run ``operation``; on 401 refresh the token once (when the connection can) and rerun."""
        try:
            return operation()
        except (APIException, requests.HTTPError) as err:
            if _status_code(err) != 401:
                raise
            if self._refreshed or not self._can_refresh():
                raise CrmError("Zendesk refused the access token") from None
        self._refresh()
        try:
            return operation()
        except (APIException, requests.HTTPError) as err:
            if _status_code(err) == 401:
                raise CrmError("Zendesk refused the access token") from None
            raise

    def _can_refresh(self) -> bool:
        credentials = self.connection.credentials
        return all(credentials.get(k) for k in ("refresh_token", "client_id", "client_secret"))

    def _refresh(self) -> None:
        self._refreshed = True
        tokens = zclient.refresh_tokens(self.connection, self.client.tickets.session)
        credentials = {**self.connection.credentials, "access_token": tokens["access_token"]}
        for key in ("refresh_token", "token_type", "scope", "expires_in"):
            if tokens.get(key) is not None:
                credentials[key] = tokens[key]
        self.connection.credentials = credentials
        zclient.set_access_token(self.client, tokens["access_token"])
        log.info("refreshed the Zendesk access token for %s", self.connection.base_url)
        if self.connection.on_credentials is not None:
            self.connection.on_credentials(dict(credentials))

    @staticmethod
    def _check_object(object: str) -> None:
        if object != "ticket":
            raise CrmError(f"Zendesk records are tickets, not {object!r}")

    @classmethod
    def _ticket_id(cls, object: str, record_id: str) -> int:
        cls._check_object(object)
        if not isinstance(record_id, str) or not _TICKET_ID.fullmatch(record_id):
            raise CrmError(f"a Zendesk ticket id is a number, not {record_id!r}")
        return int(record_id)

    def _raise_read_error(self, err: Exception, what: str) -> NoReturn:
        """A failed read as the contract wants it: RateLimited, or CrmError with a reason."""
        if isinstance(err, RateLimited | CrmError):
            raise err
        if isinstance(err, RatelimitBudgetExceeded):
            raise RateLimited("Zendesk rate limit", DEFAULT_RETRY_AFTER) from None
        if isinstance(err, requests.exceptions.SSLError):
            raise CrmError(f"Zendesk's TLS certificate was not trusted ({what})") from None
        if isinstance(err, requests.Timeout | requests.ConnectionError):
            raise CrmError(f"Zendesk did not answer ({what}); try again") from None
        status = _status_code(err)
        if status == 404:
            raise CrmError(f"{what} does not exist") from None
        if status is not None and status >= 500:
            raise CrmError(f"Zendesk is unavailable (HTTP {status}); try again") from None
        if status is not None:
            raise CrmError(
                f"Zendesk refused ({what}, HTTP {status}): {_description(err)}"
            ) from None
        raise err

    def _ticket_fields(self) -> list[dict[str, Any]]:
        """Every ticket field, once per adapter (titles give ``ticket.fields.<slug>``)."""
        if self._fields is None:
            fields: list[dict[str, Any]] = []
            url: str | None = self._url("ticket_fields.json")
            for _ in range(10):  # 1,000 fields at most
                if url is None:
                    break
                body = self._get_json(url)
                fields.extend(body.get("ticket_fields") or [])
                url = body.get("next_page") or (
                    (body.get("links") or {}).get("next")
                    if (body.get("meta") or {}).get("has_more")
                    else None
                )
            self._fields = fields
        return self._fields

    # --- reading ----------------------------------------------------------------------------

    def fetch_record(self, object: str, record_id: str) -> dict[str, Any]:
        ticket_id = self._ticket_id(object, record_id)
        what = f"Zendesk ticket {ticket_id}"
        try:
            body = self._get_json(
                self._url(f"tickets/{ticket_id}.json"), {"include": ",".join(_SIDELOADS)}
            )
            fields = self._ticket_fields()
        except Exception as err:  # noqa: BLE001 - every failure becomes the contract's errors
            self._raise_read_error(err, what)
        users = {u["id"]: u for u in body.get("users") or []}
        orgs = {o["id"]: o for o in body.get("organizations") or []}
        return flatten_ticket(body["ticket"], users, orgs, fields)

    def list_records(
        self, object: str, query: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        self._check_object(object)
        limit = max(0, min(limit, SEARCH_LIMIT))
        if limit == 0:
            return []
        search = f"type:ticket {query}".strip() if query else "type:ticket"
        found: list[dict[str, Any]] = []
        users: dict[int, dict[str, Any]] = {}
        orgs: dict[int, dict[str, Any]] = {}
        try:
            page = 1
            while len(found) < limit:
                # One search call per page of 100, requesters and organizations sideloaded.
                body = self._get_json(
                    self._url("search.json"),
                    {
                        "query": search,
                        "per_page": min(100, limit),
                        "page": page,
                        "include": f"tickets({','.join(_SIDELOADS)})",
                        "sort_by": "created_at",
                        "sort_order": "asc",
                    },
                )
                results = [
                    r
                    for r in body.get("results") or []
                    if r.get("result_type", "ticket") == "ticket"
                ]
                found.extend(results)
                users.update({u["id"]: u for u in body.get("users") or []})
                orgs.update({o["id"]: o for o in body.get("organizations") or []})
                if not body.get("next_page") or not results:
                    break
                page += 1
            found = found[:limit]
            self._load_missing(found, users, orgs)
            fields = self._ticket_fields()
        except Exception as err:  # noqa: BLE001 - every failure becomes the contract's errors
            self._raise_read_error(err, f"the Zendesk search {search!r}")
        return [flatten_ticket(t, users, orgs, fields) for t in found]

    def _load_missing(
        self,
        found: list[dict[str, Any]],
        users: dict[int, dict[str, Any]],
        orgs: dict[int, dict[str, Any]],
    ) -> None:
        """Requesters or organizations the search did not sideload: show_many, 100 per call."""
        want_users = sorted(
            {t["requester_id"] for t in found if t.get("requester_id")} - set(users)
        )
        want_orgs = sorted(
            {t["organization_id"] for t in found if t.get("organization_id")} - set(orgs)
        )
        for path, ids, key, into in (
            ("users/show_many.json", want_users, "users", users),
            ("organizations/show_many.json", want_orgs, "organizations", orgs),
        ):
            for start in range(0, len(ids), 100):
                chunk = ",".join(str(i) for i in ids[start : start + 100])
                body = self._get_json(self._url(path), {"ids": chunk})
                into.update({item["id"]: item for item in body.get(key) or []})

    # --- writing ----------------------------------------------------------------------------

    def write_back(self, updates: Sequence[StatusUpdate]) -> list[UpdateResult]:
        results: list[UpdateResult] = []
        for batch in self._batches(updates):
            results.extend(self._write_batch(batch))
        return results

    def _batches(self, updates: Sequence[StatusUpdate]) -> list[list[StatusUpdate]]:
        """Consecutive runs of updates touching at most 100 tickets (update_many's limit), so
        several updates of one ticket share its entry, as long as their merged note stays well
        below Zendesk's comment size limit."""
        batches: list[list[StatusUpdate]] = []
        note_chars: dict[str, int] = {}  # ticket → characters of its merged note so far
        for update in updates:
            ticket = update.record.record_id
            size = _note_size(update)
            full = ticket not in note_chars and len(note_chars) >= self.max_batch
            too_long = note_chars.get(ticket, 0) + size > NOTE_CHARS_PER_TICKET
            if not batches or full or (ticket in note_chars and too_long):
                batches.append([])
                note_chars = {}
            batches[-1].append(update)
            note_chars[ticket] = note_chars.get(ticket, 0) + size
        return batches

    def _write_batch(self, batch: list[StatusUpdate]) -> list[UpdateResult]:
        results: dict[int, UpdateResult] = {}
        pending: dict[int, int] = {}  # index in batch → ticket id
        for index, update in enumerate(batch):
            try:
                pending[index] = self._ticket_id(update.record.object, update.record.record_id)
            except CrmError as err:
                results[index] = UpdateResult(update.key, "failed", str(err))
        try:
            self._deliver(batch, pending, results)
        except _Abort as abort:
            for index in pending:
                results.setdefault(
                    index,
                    UpdateResult(
                        batch[index].key,
                        abort.outcome,
                        abort.error,
                        abort.retry_after,
                        abort.resume,
                    ),
                )
        return [results[index] for index in range(len(batch))]

    def _abort(self, err: Exception, doing: str) -> _Abort:
        """What a failed call means for the batch's unsettled updates."""
        if isinstance(err, _Abort):
            return err
        if isinstance(err, RateLimited):
            return _Abort("retry", f"Zendesk rate limit while {doing}", err.retry_after)
        if isinstance(err, RatelimitBudgetExceeded):
            return _Abort("retry", f"Zendesk rate limit while {doing}", DEFAULT_RETRY_AFTER)
        if isinstance(err, requests.exceptions.SSLError):
            raise CrmError(f"Zendesk's TLS certificate was not trusted ({doing})") from None
        if isinstance(err, requests.Timeout | requests.ConnectionError):
            return _Abort("retry", f"Zendesk did not answer while {doing} ({type(err).__name__})")
        status = _status_code(err)
        if status is None:
            raise err
        if status >= 500 or status in (409, 423):
            return _Abort(
                "retry",
                f"Zendesk failed while {doing} (HTTP {status}): {_description(err)}",
                _retry_after_of(err),
            )
        if status == 403:
            raise CrmError(f"Zendesk refused {doing} (HTTP 403): {_description(err)}") from None
        return _Abort("failed", f"Zendesk refused {doing} (HTTP {status}): {_description(err)}")

    def _deliver(
        self, batch: list[StatusUpdate], pending: dict[int, int], results: dict[int, UpdateResult]
    ) -> None:
        def settle(index: int, outcome: Outcome, error: str | None = None) -> None:
            results[index] = UpdateResult(batch[index].key, outcome, error)
            pending.pop(index, None)

        # 0. An earlier attempt's job may have finished after we stopped polling: ask it once.
        unsure: set[int] = set()
        for job_id in dict.fromkeys(
            (u.resume or "")[4:]
            for i, u in enumerate(batch)
            if i in pending and (u.resume or "").startswith("job:")
        ):
            indexes = [i for i in pending if batch[i].resume == f"job:{job_id}"]
            finished = self._finished_job(job_id)
            if finished is None:
                unsure.update(indexes)
                continue
            for index in indexes:
                outcome, error = self._ticket_outcome(
                    pending[index], finished.get(pending[index]), job_id
                )
                if outcome == "retry":
                    unsure.add(index)
                else:
                    settle(index, outcome, error)
        unsure.update(i for i in pending if batch[i].resume == "unknown")

        # 1. A delivery that may have reached Zendesk may have posted its note: look for markers.
        posted: dict[int, set[str]] = {}
        for ticket_id in dict.fromkeys(t for i, t in pending.items() if i in unsure):
            try:
                posted[ticket_id] = self._posted_markers(ticket_id)
            except Exception as err:  # noqa: BLE001 - classified
                abort = self._abort(err, f"reading ticket {ticket_id}'s comments")
                if _status_code(err) == 404:
                    outcome, error = "failed", f"Zendesk ticket {ticket_id} does not exist"
                elif abort.outcome == "retry" and abort.retry_after is None:
                    # One ticket's failed read holds back only that ticket, not the batch.
                    outcome, error = "retry", abort.error
                else:
                    raise abort from None
                for index in [i for i, t in pending.items() if t == ticket_id]:
                    settle(index, outcome, error)

        # 2. Upload the attachments of notes still to post; build each ticket's change.
        changes: dict[int, _TicketChange] = {}
        for index, ticket_id in list(pending.items()):
            update = batch[index]
            note: str | None = None
            token: str | None = None
            if marker(update.envelope_id, update.status) in posted.get(ticket_id, set()):
                log.info("note for %s already on ticket %s", update.key, ticket_id)
            else:
                note = note_text(
                    title=update.title,
                    status=update.status,
                    summary=update.summary,
                    envelope_url=update.envelope_url,
                    envelope_id=update.envelope_id,
                )
                if update.attachment is not None:
                    try:
                        token, _ = self._upload(update.attachment)
                    except Exception as err:  # noqa: BLE001 - classified
                        abort = self._abort(err, f"uploading {update.attachment.filename}")
                        if abort.outcome != "failed":
                            raise abort from None
                        settle(index, "failed", abort.error)
                        continue
            change = changes.setdefault(ticket_id, _TicketChange())
            change.indexes.append(index)
            change.tag(update.status)
            if update.status in STATUS_TAGS:
                change.status = update.status
            if note is not None:
                change.notes.append(note)
            if token is not None:
                change.tokens.append(token)
        changes = {t: c for t, c in changes.items() if c.indexes}
        if not changes:
            return

        # 3. One update_many for every ticket, then its job status.
        tickets = [self._ticket_object(ticket_id, change) for ticket_id, change in changes.items()]
        try:
            job = self._call(lambda: self.client.tickets.update(tickets))
        except Exception as err:  # noqa: BLE001 - classified
            abort = self._abort(err, f"updating {len(tickets)} tickets")
            if isinstance(err, requests.Timeout | requests.ConnectionError):
                abort.resume = "unknown"  # the request may have reached Zendesk
            raise abort from None
        job_results = self._job_results(str(job.id))

        # 4. Each ticket's result is the result of each of its updates.
        order = list(changes)
        by_id: dict[int, dict[str, Any]] = {}
        for position, entry in enumerate(job_results):
            result_id = entry.get("id")
            if not isinstance(result_id, int):
                index = entry.get("index", position)
                result_id = order[index] if isinstance(index, int) and index < len(order) else None
            if result_id is not None and (result_id not in by_id or entry.get("error")):
                by_id[result_id] = entry
        for ticket_id, change in changes.items():
            outcome, error = self._ticket_outcome(ticket_id, by_id.get(ticket_id), str(job.id))
            for index in change.indexes:
                settle(index, outcome, error)

    def _ticket_object(self, ticket_id: int, change: _TicketChange) -> Ticket:
        # zenpy serializes only the attributes set here; additional_tags / remove_tags leave the
        # ticket's other tags alone (assigning ``tags`` would replace them all).
        values: dict[str, Any] = {"id": ticket_id}
        if change.add:
            values["additional_tags"] = change.add
        if change.remove:
            values["remove_tags"] = change.remove
        if change.notes:
            values["comment"] = Comment(
                body="\n\n".join(change.notes), public=False, uploads=change.tokens or None
            )
        field_id = self.connection.settings.get("status_field_id")
        if field_id and change.status:
            value_map = self.connection.settings.get("status_field_values") or {}
            values["custom_fields"] = [
                {"id": int(field_id), "value": value_map.get(change.status, change.status)}
            ]
        return Ticket(**values)

    def _finished_job(self, job_id: str) -> dict[int, dict[str, Any]] | None:
        """Per-ticket results of a job that completed, or None if that cannot be known now."""
        try:
            status = self._get_json(self._url(f"job_statuses/{job_id}.json"))["job_status"]
        except Exception as err:  # noqa: BLE001 - classified
            abort = self._abort(err, f"reading job {job_id}")
            if abort.retry_after is not None:
                raise abort from None  # rate limited: stop calling for now
            return None
        if status.get("status") != "completed":
            return None
        return {e["id"]: e for e in status.get("results") or [] if isinstance(e.get("id"), int)}

    def _job_results(self, job_id: str) -> list[dict[str, Any]]:
        url = self._url(f"job_statuses/{job_id}.json")
        for delay in POLL_DELAYS:
            time.sleep(delay)  # short and bounded: the job usually finishes within a second
            try:
                status = self._get_json(url)["job_status"]
            except Exception as err:  # noqa: BLE001 - classified
                abort = self._abort(err, f"reading job {job_id}")
                raise _Abort(
                    "retry",
                    f"Zendesk took the update (job {job_id}) but its result is "
                    f"unknown: {abort.error}",
                    abort.retry_after,
                    resume=f"job:{job_id}",
                ) from None
            if status.get("status") == "completed":
                results: list[dict[str, Any]] = status.get("results") or []
                return results
            if status.get("status") in ("failed", "killed"):
                raise _Abort(
                    "retry",
                    f"Zendesk's job {job_id} {status['status']}: "
                    f"{status.get('message') or 'no reason given'}",
                    JOB_RETRY_AFTER,
                )
        raise _Abort(
            "retry",
            f"Zendesk is still applying the update (job {job_id})",
            JOB_RETRY_AFTER,
            resume=f"job:{job_id}",
        )

    @staticmethod
    def _ticket_outcome(
        ticket_id: int, entry: dict[str, Any] | None, job_id: str
    ) -> tuple[Outcome, str | None]:
        if entry is None:
            return "retry", f"Zendesk's job {job_id} reported nothing for ticket {ticket_id}"
        error = entry.get("error")
        if not error and (entry.get("success") or entry.get("status") in ("Updated", "Unchanged")):
            return "ok", None
        details = str(entry.get("details") or "")
        if error == "RecordNotFound" or "not found" in details.lower():
            return "failed", f"Zendesk ticket {ticket_id} does not exist (or was deleted)"
        text = f"Zendesk could not update ticket {ticket_id}: {error or 'failed'}" + (
            f" ({details})" if details else ""
        )
        if any(word in f"{error} {details}".lower() for word in TRANSIENT_ERRORS):
            return "retry", text
        return "failed", text

    def _posted_markers(self, ticket_id: int) -> set[str]:
        # The newest 100 comments: a note of an earlier attempt is among them unless a hundred
        # comments arrived since.
        body = self._get_json(
            self._url(f"tickets/{ticket_id}/comments.json"),
            {"sort_order": "desc", "page[size]": 100},
        )
        return markers_in(str(c.get("body") or "") for c in body.get("comments") or [])

    def _upload(self, attachment: Attachment) -> tuple[str, str]:
        """POST /uploads.json; returns (upload token, attachment id)."""
        uploads = self.client.attachments
        # zenpy puts target_name into the query string as is (no escaping): quote it, or a
        # "&" or "#" in a file name would cut the URL.
        upload = self._call(
            lambda: uploads.upload(
                io.BytesIO(attachment.content),
                target_name=quote(attachment.filename or "attachment", safe=""),
                content_type=attachment.content_type or "application/octet-stream",
            )
        )
        found = upload.attachment
        attachment_id = found.get("id") if isinstance(found, dict) else getattr(found, "id", None)
        return str(upload.token), str(attachment_id)

    def attach_file(self, record: RecordRef, attachment: Attachment) -> str:
        ticket_id = self._ticket_id(record.object, record.record_id)
        what = f"Zendesk ticket {ticket_id}"
        try:
            # Uploading first costs one call for a missing ticket, but checking first would cost
            # one for every present one.
            token, attachment_id = self._upload(attachment)
            note = Ticket(
                id=ticket_id,
                comment=Comment(
                    body=f"Countersign attached {attachment.filename}.",
                    public=False,
                    uploads=[token],
                ),
            )
            self._call(lambda: self.client.tickets.update(note))
        except Exception as err:  # noqa: BLE001 - every failure becomes the contract's errors
            self._raise_read_error(err, what)
        return attachment_id

    @classmethod
    def verify_webhook(
        cls, headers: Mapping[str, str], body: bytes, secret: str, *, now: datetime | None = None
    ) -> bool:
        return verify_signature(headers, body, secret, now=now)
