"""The Salesforce adapter, on simple-salesforce.

Reads: one describe per object (cached on the adapter), then one SOQL query for the record with
its own fields, its account's (``AccountId``) and its contact's (``ContactId``) through
relationship fields; an Opportunity's primary contact comes from one more query on
OpportunityContactRole. Object names and ids are checked before any call and every value goes
into SOQL through ``format_soql`` (quoted and escaped; ``:like`` also escapes ``%`` and ``_``).

Writes: every envelope is a ``Countersign_Envelope__c`` record keyed by ``External_Id__c`` (the
envelope id), upserted 200 at a time in one sObject Collections call; sealed PDFs are inserted
as ContentVersions (published to the record, which links them) 200 at a time in one more call.
A retried delivery first looks for the PDFs already there (by their Description) and skips
them. Per-record errors fail or retry that update only; REQUEST_LIMIT_EXCEEDED and 429 make
every remaining update a retry with the delay Salesforce gave (60 s when it gave none): the
adapter never sleeps. An expired session is refreshed once with the refresh token and the call
repeated; the new credentials go to ``connection.on_credentials``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceError

from crm_adapters.base import (
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
from crm_adapters.salesforce import client as sf_client
from crm_adapters.salesforce import mapping, webhooks

T = TypeVar("T")

#: The most records one sObject Collections call takes.
COLLECTION_LIMIT = 200
#: The most base64 characters of files sent in one insert call (several files are grouped up
#: to this; a larger single file goes alone).
MAX_INSERT_CHARS = 6_000_000
#: Field caps for one record's SELECT: its own fields, and each related record's.
MAX_OWN_FIELDS = 100
MAX_RELATED_FIELDS = 50
#: Field types a SELECT leaves out: file bodies and compound values.
SKIPPED_FIELD_TYPES = frozenset({"base64", "address", "location", "complexvalue", "json"})

_NAME_PART = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
_API_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_STANDARD_NAME_RE = re.compile(_NAME_PART)
_CUSTOM_NAME_RE = re.compile(rf"(?:{_NAME_PART}__)?{_NAME_PART}__c")
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_ID_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class SalesforceUnavailable(Exception):
    """Salesforce did not answer, or answered 5xx: a later attempt may succeed."""


class SalesforceApiError(CrmError):
    """Salesforce refused a call (4xx other than a rate limit or an expired session)."""

    def __init__(self, message: str, *, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def is_api_name(name: object) -> bool:
    """An sObject or field API name: ``Account``, ``Countersign_Envelope__c``, ``ns__Obj__c``."""
    if not isinstance(name, str) or not _API_NAME_RE.fullmatch(name):
        return False
    if "__" in name:
        return _CUSTOM_NAME_RE.fullmatch(name) is not None
    return _STANDARD_NAME_RE.fullmatch(name) is not None


def is_record_id(value: object) -> bool:
    """A 15- or 18-character Salesforce id (with the right case-safe suffix when 18)."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        return False
    if len(value) == 15:
        return True
    suffix = ""
    for chunk in (value[0:5], value[5:10], value[10:15]):
        suffix += _ID_SUFFIX[sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")]
    return suffix == value[15:]


def check_object(name: object) -> str:
    if not is_api_name(name):
        raise CrmError(f"{name!r} is not a Salesforce object API name")
    return str(name)


def check_record_id(value: object) -> str:
    if not is_record_id(value):
        raise CrmError(f"{value!r} is not a Salesforce record id")
    return str(value)


def _error_detail(content: Any) -> tuple[str | None, str]:
    """(errorCode, message) from a Salesforce error body."""
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        first = content[0]
        return first.get("errorCode"), str(first.get("message", "")).strip()
    if isinstance(content, Mapping):
        code = content.get("errorCode") or content.get("error")
        return code, str(content.get("message") or content.get("error_description") or "")
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return None, str(content)[:500]


def _record_errors(result: Mapping[str, Any]) -> tuple[list[str], str]:
    """The statusCodes of a per-record result and one line describing them."""
    errors = [e for e in result.get("errors") or [] if isinstance(e, Mapping)]
    codes = [str(e.get("statusCode")) for e in errors]
    parts = []
    for error in errors:
        text = f"{error.get('statusCode')}: {error.get('message')}"
        if error.get("fields"):
            text += f" ({', '.join(map(str, error['fields']))})"
        parts.append(text)
    return codes, "; ".join(parts) or "Salesforce did not save the record"


def _classify(result: Any) -> tuple[Outcome, str | None]:
    if not isinstance(result, Mapping):
        return "retry", "Salesforce gave no result for the record"
    if result.get("success"):
        return "ok", None
    codes, text = _record_errors(result)
    transient = mapping.TRANSIENT_ERRORS | {"ALL_OR_NONE_OPERATION_ROLLED_BACK"}
    if codes and all(code in transient for code in codes):
        return "retry", text
    return "failed", text


def _restful(path: str, method: str, body: Mapping[str, Any]) -> Callable[[Salesforce], Any]:
    """A call of ``sf.restful`` with a JSON body, for :meth:`SalesforceAdapter._call`."""

    def run(sf: Salesforce) -> Any:
        return sf.restful(path, method=method, json=body)

    return run


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _flatten_into(out: dict[str, Any], prefix: str, record: Mapping[str, Any]) -> None:
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            if "attributes" in value:  # a related record
                _flatten_into(out, f"{prefix}.{key}", value)
            continue  # a compound value (address, location)
        out[f"{prefix}.{key}"] = value


@dataclass
class _SelectPlan:
    """How one object's records are read and flattened."""

    object: str
    fields: list[str]
    account: str | None  # the relationship to the account, usually "Account"
    contact: str | None  # the relationship to the contact, usually "Contact"
    search_field: str | None
    contact_fields: list[str]


@dataclass
class _Envelope:
    """The updates of one envelope in a batch, merged into one record."""

    keys: list[str]
    envelope_id: str
    record_id: str
    fields: dict[str, Any]
    attachment: Attachment | None
    attempt: int
    outcome: tuple[Outcome, str | None, float | None] | None = None


@register
class SalesforceAdapter(CrmAdapter):
    system = "salesforce"
    max_batch = COLLECTION_LIMIT

    def __init__(self, connection: ConnectionInfo) -> None:
        super().__init__(connection)
        self._session: sf_client.SalesforceSession | None = None
        self._client: Salesforce | None = None
        self._describes: dict[str, dict[str, Any]] = {}
        self._plans: dict[str, _SelectPlan] = {}

    # --- Plumbing ----------------------------------------------------------------------------

    def _http(self) -> sf_client.SalesforceSession:
        if self._session is None:
            self._session = sf_client.make_session(self.connection)
        return self._session

    def _sf(self) -> Salesforce:
        if self._client is None:
            credentials = self.connection.credentials
            if not credentials.get("access_token") and credentials.get("refresh_token"):
                self._refresh()
            self._client = sf_client.make_client(self.connection, self._http())
        return self._client

    def _call(self, what: str, operation: Callable[[Salesforce], T]) -> T:
        """Run one API call; an expired session is refreshed once and the call repeated."""
        refreshed = False
        while True:
            try:
                return operation(self._sf())
            except SalesforceError as exc:
                code, message = _error_detail(exc.content)
                if exc.status == 401 and code == "INVALID_SESSION_ID" and not refreshed:
                    if not self._can_refresh():
                        raise CrmError(
                            f"Salesforce {what}: 401 {code} {message} (the connection has no "
                            "refresh token and client id to renew the session; connect it again)"
                        ) from exc
                    self._refresh()
                    refreshed = True
                    continue
                self._raise(what, exc.status, code, message, exc)
            except requests.RequestException as exc:
                raise SalesforceUnavailable(f"Salesforce {what}: {exc}") from exc

    def _raise(
        self, what: str, status: int, code: str | None, message: str, exc: Exception
    ) -> NoReturn:
        text = f"Salesforce {what}: {status} {code or ''} {message}".replace("  ", " ").strip()
        if status == 429 or (status == 403 and code == "REQUEST_LIMIT_EXCEEDED"):
            raise RateLimited(text, self._http().retry_after()) from exc
        if status >= 500:
            raise SalesforceUnavailable(text) from exc
        if status == 401:
            raise CrmError(f"{text} (the session could not be refreshed; connect again)") from exc
        raise SalesforceApiError(text, status=status, code=code) from exc

    def _can_refresh(self) -> bool:
        credentials = self.connection.credentials
        return bool(credentials.get("refresh_token") and credentials.get("client_id"))

    def _refresh(self) -> None:
        """Trade the refresh token for a new access token and hand the credentials back."""
        credentials = self.connection.credentials
        refresh_token, client_id = credentials.get("refresh_token"), credentials.get("client_id")
        if not refresh_token or not client_id:
            raise CrmError(
                "the Salesforce session expired and the connection has no refresh token "
                "and client id; connect it again"
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        }
        if credentials.get("client_secret"):
            form["client_secret"] = credentials["client_secret"]
        try:
            response = self._http().post(
                sf_client.token_url(self.connection),
                data=form,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            raise SalesforceUnavailable(f"Salesforce token refresh: {exc}") from exc
        if response.status_code >= 500:
            raise SalesforceUnavailable(f"Salesforce token refresh: {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if (
            response.status_code != 200
            or not isinstance(body, dict)
            or not body.get("access_token")
        ):
            error = body.get("error") if isinstance(body, dict) else None
            detail = body.get("error_description") if isinstance(body, dict) else None
            raise CrmError(
                f"Salesforce refused to refresh the session ({response.status_code} "
                f"{error or ''} {detail or ''}); connect it again".replace("  ", " ")
            )
        updated = dict(credentials)
        for key in ("access_token", "refresh_token", "instance_url", "issued_at", "signature"):
            if body.get(key):
                updated[key] = body[key]
        self.connection.credentials = updated
        self._client = None
        if self.connection.on_credentials is not None:
            self.connection.on_credentials(dict(updated))

    def _query(self, what: str, soql: str) -> list[dict[str, Any]]:
        result = self._call(what, lambda sf: sf.query_all(soql))
        return list(result.get("records") or [])

    def _describe(self, obj: str) -> dict[str, Any]:
        if obj not in self._describes:
            try:
                result = self._call(
                    f"describe {obj}", lambda sf: sf.restful(f"sobjects/{obj}/describe")
                )
            except SalesforceApiError as exc:
                if exc.status == 404:
                    raise CrmError(f"Salesforce object {obj} does not exist") from exc
                raise
            self._describes[obj] = dict(result or {})
        return self._describes[obj]

    # --- Reads -------------------------------------------------------------------------------

    @staticmethod
    def _selectable(describe: Mapping[str, Any], cap: int) -> list[str]:
        names = ["Id"]
        for f in describe.get("fields") or []:
            name = f.get("name")
            if name == "Id" or f.get("type") in SKIPPED_FIELD_TYPES or not is_api_name(name):
                continue
            names.append(name)
            if len(names) >= cap:
                break
        return names

    @staticmethod
    def _relationship(describe: Mapping[str, Any], field_name: str, target: str) -> str | None:
        for f in describe.get("fields") or []:
            if (
                f.get("name") == field_name
                and f.get("type") == "reference"
                and list(f.get("referenceTo") or []) == [target]
                and is_api_name(f.get("relationshipName"))
            ):
                return str(f["relationshipName"])
        return None

    def _plan(self, obj: str) -> _SelectPlan:
        if obj in self._plans:
            return self._plans[obj]
        describe = self._describe(obj)
        fields = self._selectable(describe, MAX_OWN_FIELDS)
        account = self._relationship(describe, "AccountId", "Account") if obj != "Account" else None
        contact = self._relationship(describe, "ContactId", "Contact") if obj != "Contact" else None
        if account:
            related = self._selectable(self._describe("Account"), MAX_RELATED_FIELDS)
            fields += [f"{account}.{name}" for name in related]
        contact_fields: list[str] = []
        if contact or obj == "Opportunity":
            contact_fields = self._selectable(self._describe("Contact"), MAX_RELATED_FIELDS)
        if contact:
            fields += [f"{contact}.{name}" for name in contact_fields]
        search = None
        for f in describe.get("fields") or []:
            name = f.get("name")
            if f.get("nameField") and f.get("type") == "string" and not f.get("autoNumber"):
                search = name if is_api_name(name) else None
        if search is None:
            names = {f.get("name") for f in describe.get("fields") or []}
            search = next((n for n in ("Subject", "Name") if n in names), None)
        plan = _SelectPlan(obj, fields, account, contact, search, contact_fields)
        self._plans[obj] = plan
        return plan

    def _flatten(self, plan: _SelectPlan, row: Mapping[str, Any]) -> dict[str, Any]:
        own = {k: v for k, v in row.items() if k not in (plan.account, plan.contact)}
        out: dict[str, Any] = {}
        _flatten_into(out, plan.object, own)
        for relationship, alias in ((plan.account, "Account"), (plan.contact, "Contact")):
            related = row.get(relationship) if relationship else None
            if isinstance(related, Mapping):
                _flatten_into(out, f"{plan.object}.{relationship}", related)
                _flatten_into(out, alias, related)
        return out

    def _primary_contacts(
        self, plan: _SelectPlan, opportunity_ids: list[str]
    ) -> dict[str, Mapping[str, Any]]:
        """Opportunity id (15 characters) → its primary contact (OpportunityContactRole)."""
        if plan.object != "Opportunity" or not opportunity_ids:
            return {}
        select = ", ".join(["OpportunityId"] + [f"Contact.{n}" for n in plan.contact_fields])
        soql = format_soql(
            "SELECT {:literal} FROM OpportunityContactRole "
            "WHERE IsPrimary = true AND OpportunityId IN {}",
            select,
            opportunity_ids,
        )
        contacts: dict[str, Mapping[str, Any]] = {}
        for row in self._query("primary contact query", soql):
            contact = row.get("Contact")
            if isinstance(contact, Mapping) and row.get("OpportunityId"):
                contacts[str(row["OpportunityId"])[:15]] = contact
        return contacts

    def _rows_to_values(
        self, plan: _SelectPlan, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        values = [self._flatten(plan, row) for row in rows]
        ids = [str(row["Id"]) for row in rows if row.get("Id")]
        contacts = self._primary_contacts(plan, ids)
        for row, flat in zip(rows, values, strict=True):
            contact = contacts.get(str(row.get("Id", ""))[:15])
            if contact is not None:
                for key in [k for k in flat if k.startswith("Contact.")]:
                    del flat[key]
                _flatten_into(flat, "Contact", contact)
        return values

    def fetch_record(self, object: str, record_id: str) -> dict[str, Any]:
        obj, record_id = check_object(object), check_record_id(record_id)
        plan = self._plan(obj)
        soql = format_soql(
            "SELECT {:literal} FROM {:literal} WHERE Id = {} LIMIT 1",
            ", ".join(plan.fields),
            obj,
            record_id,
        )
        rows = self._query(f"{obj} query", soql)
        if not rows:
            raise CrmError(f"Salesforce {obj} {record_id} does not exist")
        return self._rows_to_values(plan, rows)[0]

    def list_records(
        self, object: str, query: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        obj = check_object(object)
        limit_text = str(max(1, min(int(limit), COLLECTION_LIMIT)))
        plan = self._plan(obj)
        term = (query or "").strip()
        select = ", ".join(plan.fields)
        order = plan.search_field or "Id"
        if term:
            if plan.search_field is None:
                raise CrmError(f"Salesforce {obj} records have no name to search")
            soql = format_soql(
                "SELECT {:literal} FROM {:literal} WHERE {:literal} LIKE '%{:like}%' "
                "ORDER BY {:literal} LIMIT {:literal}",
                select,
                obj,
                plan.search_field,
                term,
                order,
                limit_text,
            )
        else:
            soql = format_soql(
                "SELECT {:literal} FROM {:literal} ORDER BY {:literal} LIMIT {:literal}",
                select,
                obj,
                order,
                limit_text,
            )
        return self._rows_to_values(plan, self._query(f"{obj} query", soql))

    # --- Writes ------------------------------------------------------------------------------

    @staticmethod
    def _update_error(update: StatusUpdate) -> str | None:
        record = update.record
        if record.system != "salesforce":
            return f"the record is in {record.system!r}, not Salesforce"
        if not is_api_name(record.object):
            return f"{record.object!r} is not a Salesforce object API name"
        if not is_record_id(record.record_id):
            return f"{record.record_id!r} is not a Salesforce record id"
        if update.status not in mapping.STATUS_LABELS:
            return f"unknown envelope status {update.status!r}"
        if not update.envelope_id:
            return "the update has no envelope id"
        return None

    def _envelopes(
        self, updates: Sequence[StatusUpdate], results: dict[str, UpdateResult]
    ) -> list[_Envelope]:
        """One record per envelope: several updates of one envelope in a batch are merged (in
        order), as one upsert cannot name the same external id twice."""
        envelopes: dict[str, _Envelope] = {}
        for update in updates:
            error = self._update_error(update)
            if error:
                results[update.key] = UpdateResult(update.key, "failed", error)
                continue
            fields = mapping.envelope_record(update)
            envelope = envelopes.get(update.envelope_id)
            if envelope is None:
                envelopes[update.envelope_id] = _Envelope(
                    [update.key],
                    update.envelope_id,
                    update.record.record_id,
                    fields,
                    update.attachment,
                    update.attempt,
                )
                continue
            envelope.keys.append(update.key)
            envelope.fields.update(fields)
            envelope.record_id = update.record.record_id
            envelope.attachment = update.attachment or envelope.attachment
            envelope.attempt = max(envelope.attempt, update.attempt)
        return list(envelopes.values())

    def write_back(self, updates: Sequence[StatusUpdate]) -> list[UpdateResult]:
        results: dict[str, UpdateResult] = {}
        envelopes = self._envelopes(updates, results)
        upsert_path = f"composite/sobjects/{mapping.ENVELOPE_OBJECT}/{mapping.EXTERNAL_ID_FIELD}"
        limited: RateLimited | None = None
        to_attach: list[_Envelope] = []
        for chunk in _chunks(envelopes, COLLECTION_LIMIT):
            if limited is not None:
                self._settle(chunk, "retry", str(limited), limited.retry_after)
                continue
            body = {"allOrNone": False, "records": [e.fields for e in chunk]}
            try:
                answer = self._call("envelope upsert", _restful(upsert_path, "PATCH", body))
            except RateLimited as exc:
                limited = exc
                self._settle(chunk, "retry", str(exc), exc.retry_after)
                continue
            except SalesforceUnavailable as exc:
                self._settle(chunk, "retry", str(exc))
                continue
            except SalesforceApiError as exc:
                self._settle(chunk, "failed", str(exc))
                continue
            answers = list(answer) if isinstance(answer, list) else []
            if len(answers) != len(chunk):
                self._settle(chunk, "retry", "Salesforce answered the upsert unexpectedly")
                continue
            for envelope, result in zip(chunk, answers, strict=True):
                outcome, error = _classify(result)
                if outcome == "ok" and envelope.attachment is not None:
                    to_attach.append(envelope)
                else:
                    envelope.outcome = (outcome, error, None)
        if to_attach:
            if limited is not None:
                self._settle(to_attach, "retry", str(limited), limited.retry_after)
            else:
                self._attach_pdfs(to_attach)
        for envelope in envelopes:
            outcome, error, retry_after = envelope.outcome or ("retry", "not written", None)
            for key in envelope.keys:
                results[key] = UpdateResult(key, outcome, error, retry_after)
        return [results[update.key] for update in updates]

    @staticmethod
    def _settle(
        envelopes: Sequence[_Envelope],
        outcome: Outcome,
        error: str | None,
        retry_after: float | None = None,
    ) -> None:
        for envelope in envelopes:
            envelope.outcome = (outcome, error, retry_after)

    def _attach_pdfs(self, envelopes: list[_Envelope]) -> None:
        """Insert the sealed PDFs as ContentVersions, skipping (on a retry) those already in."""
        pending = envelopes
        retried = [e for e in envelopes if e.attempt > 1]
        if retried:
            try:
                present = self._attached(
                    [mapping.attachment_description(e.envelope_id) for e in retried]
                )
            except RateLimited as exc:
                self._settle(envelopes, "retry", str(exc), exc.retry_after)
                return
            except SalesforceUnavailable as exc:
                self._settle(envelopes, "retry", str(exc))
                return
            except SalesforceApiError as exc:
                self._settle(envelopes, "failed", f"looking for PDFs already attached: {exc}")
                return
            pending = []
            for envelope in envelopes:
                if mapping.attachment_description(envelope.envelope_id).lower() in present:
                    envelope.outcome = ("ok", None, None)
                else:
                    pending.append(envelope)
        limited: RateLimited | None = None
        for group in self._insert_groups(pending):
            if limited is not None:
                self._settle(group, "retry", str(limited), limited.retry_after)
                continue
            body = {
                "allOrNone": False,
                "records": [
                    mapping.content_version_record(
                        e.record_id,
                        e.attachment,
                        mapping.attachment_description(e.envelope_id),
                    )
                    for e in group
                    if e.attachment is not None
                ],
            }
            try:
                answer = self._call("PDF insert", _restful("composite/sobjects", "POST", body))
            except RateLimited as exc:
                limited = exc
                self._settle(group, "retry", str(exc), exc.retry_after)
                continue
            except SalesforceUnavailable as exc:
                self._settle(group, "retry", str(exc))
                continue
            except SalesforceApiError as exc:
                self._settle(group, "failed", f"attaching the PDF: {exc}")
                continue
            answers = list(answer) if isinstance(answer, list) else []
            if len(answers) != len(group):
                self._settle(group, "retry", "Salesforce answered the PDF insert unexpectedly")
                continue
            for envelope, result in zip(group, answers, strict=True):
                outcome, error = _classify(result)
                envelope.outcome = (outcome, f"attaching the PDF: {error}" if error else None, None)

    def _attached(self, descriptions: list[str]) -> set[str]:
        """The descriptions (lower-cased) of ContentVersions already in Salesforce."""
        present: set[str] = set()
        for chunk in _chunks(descriptions, COLLECTION_LIMIT):
            soql = format_soql(
                "SELECT Id, Description FROM ContentVersion WHERE Description IN {}", list(chunk)
            )
            for row in self._query("attached PDF query", soql):
                if row.get("Description"):
                    present.add(str(row["Description"]).lower())
        return present

    @staticmethod
    def _insert_groups(envelopes: list[_Envelope]) -> Iterator[list[_Envelope]]:
        group: list[_Envelope] = []
        size = 0
        for envelope in envelopes:
            length = (len(envelope.attachment.content) + 2) // 3 * 4 if envelope.attachment else 0
            if group and (len(group) >= COLLECTION_LIMIT or size + length > MAX_INSERT_CHARS):
                yield group
                group, size = [], 0
            group.append(envelope)
            size += length
        if group:
            yield group

    def attach_file(self, record: RecordRef, attachment: Attachment) -> str:
        check_object(record.object)
        record_id = check_record_id(record.record_id)
        body = mapping.content_version_record(record_id, attachment)
        body.pop("attributes")
        answer = self._call("file upload", _restful("sobjects/ContentVersion", "POST", body))
        if not isinstance(answer, Mapping) or not answer.get("id"):
            raise CrmError(f"Salesforce did not store the file: {answer!r}")
        return str(answer["id"])

    # --- Webhooks ----------------------------------------------------------------------------

    @classmethod
    def verify_webhook(
        cls, headers: Mapping[str, str], body: bytes, secret: str, *, now: datetime | None = None
    ) -> bool:
        return webhooks.verify(headers, body, secret, now=now)
