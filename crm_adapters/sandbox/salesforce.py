"""A Salesforce REST API simulator (``/services``), shaped like recorded Salesforce responses.

Serves what the Salesforce adapter and simple-salesforce use: the versions list, sObject describe
(global and per object), a strict SOQL subset on ``query``, record reads, sObject Collections
inserts (``POST composite/sobjects``) and upserts by external id (``PATCH
composite/sobjects/{Object}/{Field}``) with per-record errors, and the OAuth 2.0 web-server flow
(``oauth2/authorize``, ``oauth2/token`` with authorization_code and refresh_token grants).

The SOQL subset: ``SELECT f1, Rel.f2 FROM Object [WHERE cond [AND cond...]] [ORDER BY f [ASC|DESC]]
[LIMIT n]`` where cond is ``Field = 'literal'`` (or ``true``/``false``/``null``/a number),
``Field LIKE 'literal'`` or ``Field IN ('a', 'b')``; string literals take Salesforce's escapes
(``\\' \\" \\\\ \\n \\r \\t \\b \\f \\uXXXX`` and, where ``%`` and ``_`` would be wildcards,
``\\%`` and ``\\_``). Anything else (``OR``, ``!=``, semicolons, comments, stray tokens, an
unterminated string) is a 400 ``MALFORMED_QUERY``, as Salesforce answers.

Every ``/services/data/vNN.0/...`` call needs ``Authorization: Bearer <token>``: the seeded
:data:`SANDBOX_TOKEN` or one the token endpoint issued and that is neither expired
(:func:`expire_token`) nor revoked. Tests read and arrange the data with :func:`records`,
:func:`insert`, :func:`delete`, :func:`lock`, :func:`content_versions_for` and
:func:`expire_token`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, current_app, request

from crm_adapters.sandbox import SandboxState, sandbox_state

#: The access token every sandbox accepts until it is expired.
SANDBOX_TOKEN = "sandbox-salesforce-token"  # noqa: S105 (a public test value)
#: A connected app the sandbox knows; other client ids are accepted without a secret check.
SANDBOX_CLIENT_ID = "countersign-sandbox-client"
SANDBOX_CLIENT_SECRET = "countersign-sandbox-secret"  # noqa: S105 (a public test value)

MAX_COLLECTION_RECORDS = 200
VERSIONS = [f"{n}.0" for n in range(52, 63)]
_RELEASES = {
    52: "Summer '21",
    53: "Winter '22",
    54: "Spring '22",
    55: "Summer '22",
    56: "Winter '23",
    57: "Spring '23",
    58: "Summer '23",
    59: "Winter '24",
    60: "Spring '24",
    61: "Summer '24",
    62: "Winter '25",
}

blueprint = Blueprint("sandbox_salesforce", __name__, url_prefix="/services")


# --- Schema ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: str
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    child: str | None = None  # the parent's child relationship name
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    filterable: bool = True
    external_id: bool = False
    unique: bool = False
    name_field: bool = False
    auto_number: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    custom: bool = False


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    label: str
    plural: str
    prefix: str
    fields: tuple[FieldSpec, ...]
    custom: bool = False
    createable: bool = True
    by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        self.by_name.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        return self.by_name.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        for f in self.fields:
            if f.relationship and f.relationship.lower() == name.lower():
                return f
        return None


_TEXT_TYPES = {"string", "textarea", "picklist", "email", "phone", "url", "id", "reference"}
_NUMBER_TYPES = {"int", "double", "currency", "percent"}
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "base64": "xsd:base64Binary",
    "address": "urn:address",
}


def _f(name: str, type_: str, label: str | None = None, **kw: Any) -> FieldSpec:
    if type_ in ("id", "reference"):
        kw.setdefault("length", 18)
    elif type_ == "string" and "length" not in kw:
        kw["length"] = 255
    elif type_ == "textarea" and "length" not in kw:
        kw["length"] = 32000
    elif type_ in ("email", "phone", "picklist") and "length" not in kw:
        kw["length"] = 80 if type_ == "email" else 40 if type_ == "phone" else 255
    elif type_ == "url" and "length" not in kw:
        kw["length"] = 255
    if type_ == "reference" and "relationship" not in kw and name.endswith("Id"):
        kw["relationship"] = name[:-2]
    if type_ == "reference" and name.endswith("__c") and "relationship" not in kw:
        kw["relationship"] = name[:-3] + "__r"
    return FieldSpec(name, type_, label or name, custom=name.endswith("__c"), **kw)


def _system(label: str, *, owner: bool = True) -> list[FieldSpec]:
    fields = [
        _f("Id", "id", f"{label} ID", createable=False, updateable=False, nillable=False),
        _f("IsDeleted", "boolean", "Deleted", createable=False, updateable=False, nillable=False),
    ]
    if owner:
        fields.append(
            _f("OwnerId", "reference", "Owner ID", reference_to=("User",), relationship="Owner")
        )
    return fields


def _audit() -> list[FieldSpec]:
    ro = {"createable": False, "updateable": False}
    return [
        _f("CreatedDate", "datetime", "Created Date", nillable=False, **ro),
        _f(
            "CreatedById",
            "reference",
            "Created By ID",
            reference_to=("User",),
            relationship="CreatedBy",
            nillable=False,
            **ro,
        ),
        _f("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, **ro),
        _f(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            reference_to=("User",),
            relationship="LastModifiedBy",
            nillable=False,
            **ro,
        ),
        _f("SystemModstamp", "datetime", "System Modstamp", nillable=False, **ro),
    ]


_RO = {"createable": False, "updateable": False}
_LINKABLE = ("Account", "Contact", "Opportunity", "Case", "Countersign_Envelope__c", "User")

SCHEMA: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in [
        ObjectSpec(
            "User",
            "User",
            "Users",
            "005",
            (
                *_system("User", owner=False),
                _f("Username", "string", "Username", length=80, nillable=False, unique=True),
                _f("FirstName", "string", "First Name", length=40),
                _f("LastName", "string", "Last Name", length=80, nillable=False),
                _f("Name", "string", "Full Name", length=121, name_field=True, **_RO),
                _f("Email", "email", "Email", length=128, nillable=False),
                _f("IsActive", "boolean", "Active", nillable=False),
                *_audit(),
            ),
        ),
        ObjectSpec(
            "Account",
            "Account",
            "Accounts",
            "001",
            (
                *_system("Account"),
                _f("Name", "string", "Account Name", nillable=False, name_field=True),
                _f(
                    "Type",
                    "picklist",
                    "Account Type",
                    picklist=("Prospect", "Customer - Direct", "Customer - Channel", "Partner"),
                ),
                _f(
                    "ParentId",
                    "reference",
                    "Parent Account ID",
                    reference_to=("Account",),
                    relationship="Parent",
                    child="ChildAccounts",
                ),
                _f("BillingStreet", "textarea", "Billing Street", length=255),
                _f("BillingCity", "string", "Billing City", length=40),
                _f("BillingState", "string", "Billing State/Province", length=80),
                _f("BillingPostalCode", "string", "Billing Zip/Postal Code", length=20),
                _f("BillingCountry", "string", "Billing Country", length=80),
                _f("BillingAddress", "address", "Billing Address", filterable=False, **_RO),
                _f("Phone", "phone", "Account Phone"),
                _f("Website", "url", "Website"),
                _f(
                    "Industry",
                    "picklist",
                    "Industry",
                    picklist=("Technology", "Manufacturing", "Energy", "Finance", "Other"),
                ),
                _f("AnnualRevenue", "currency", "Annual Revenue"),
                _f("NumberOfEmployees", "int", "Employees"),
                _f("Description", "textarea", "Account Description", filterable=False),
                *_audit(),
            ),
        ),
        ObjectSpec(
            "Contact",
            "Contact",
            "Contacts",
            "003",
            (
                *_system("Contact"),
                _f(
                    "AccountId",
                    "reference",
                    "Account ID",
                    reference_to=("Account",),
                    child="Contacts",
                ),
                _f("LastName", "string", "Last Name", length=80, nillable=False),
                _f("FirstName", "string", "First Name", length=40),
                _f(
                    "Salutation",
                    "picklist",
                    "Salutation",
                    picklist=("Mr.", "Ms.", "Mrs.", "Dr."),
                ),
                _f("Name", "string", "Full Name", length=121, name_field=True, **_RO),
                _f("Title", "string", "Title", length=128),
                _f("Email", "email", "Email"),
                _f("Phone", "phone", "Business Phone"),
                _f("MobilePhone", "phone", "Mobile Phone"),
                _f("MailingCity", "string", "Mailing City", length=40),
                _f("MailingCountry", "string", "Mailing Country", length=80),
                _f("Department", "string", "Department", length=80),
                _f("Description", "textarea", "Contact Description", filterable=False),
                *_audit(),
            ),
        ),
        ObjectSpec(
            "Opportunity",
            "Opportunity",
            "Opportunities",
            "006",
            (
                *_system("Opportunity"),
                _f(
                    "AccountId",
                    "reference",
                    "Account ID",
                    reference_to=("Account",),
                    child="Opportunities",
                ),
                _f("IsPrivate", "boolean", "Private", nillable=False),
                _f("Name", "string", "Name", length=120, nillable=False, name_field=True),
                _f("Description", "textarea", "Description", filterable=False),
                _f(
                    "StageName",
                    "picklist",
                    "Stage",
                    nillable=False,
                    picklist=(
                        "Prospecting",
                        "Qualification",
                        "Proposal/Price Quote",
                        "Negotiation/Review",
                        "Closed Won",
                        "Closed Lost",
                    ),
                ),
                _f("Amount", "currency", "Amount"),
                _f("Probability", "percent", "Probability (%)"),
                _f("CloseDate", "date", "Close Date", nillable=False),
                _f(
                    "Type",
                    "picklist",
                    "Opportunity Type",
                    picklist=("New Customer", "Existing Customer - Upgrade"),
                ),
                _f("NextStep", "string", "Next Step"),
                _f(
                    "LeadSource",
                    "picklist",
                    "Lead Source",
                    picklist=("Web", "Partner Referral"),
                ),
                _f("IsClosed", "boolean", "Closed", nillable=False, **_RO),
                _f("IsWon", "boolean", "Won", nillable=False, **_RO),
                _f("ContactId", "reference", "Contact ID", reference_to=("Contact",)),
                _f("Unit_Price__c", "currency", "Unit Price"),
                _f("Seats__c", "double", "Seats"),
                *_audit(),
            ),
        ),
        ObjectSpec(
            "OpportunityContactRole",
            "Opportunity Contact Role",
            "Opportunity Contact Roles",
            "00K",
            (
                *_system("Opportunity Contact Role", owner=False),
                _f(
                    "OpportunityId",
                    "reference",
                    "Opportunity ID",
                    reference_to=("Opportunity",),
                    child="OpportunityContactRoles",
                    nillable=False,
                    updateable=False,
                ),
                _f(
                    "ContactId",
                    "reference",
                    "Contact ID",
                    reference_to=("Contact",),
                    child="OpportunityContactRoles",
                    nillable=False,
                ),
                _f(
                    "Role",
                    "picklist",
                    "Role",
                    picklist=("Decision Maker", "Economic Buyer", "Technical Buyer", "Other"),
                ),
                _f("IsPrimary", "boolean", "Primary", nillable=False),
                *_audit(),
            ),
        ),
        ObjectSpec(
            "Case",
            "Case",
            "Cases",
            "500",
            (
                *_system("Case"),
                _f(
                    "CaseNumber",
                    "string",
                    "Case Number",
                    length=30,
                    name_field=True,
                    auto_number=True,
                    nillable=False,
                    **_RO,
                ),
                _f(
                    "ContactId",
                    "reference",
                    "Contact ID",
                    reference_to=("Contact",),
                    child="Cases",
                ),
                _f(
                    "AccountId",
                    "reference",
                    "Account ID",
                    reference_to=("Account",),
                    child="Cases",
                ),
                _f("SuppliedName", "string", "Name", length=80),
                _f("SuppliedEmail", "email", "Email"),
                _f("Type", "picklist", "Case Type", picklist=("Question", "Problem", "Feature")),
                _f(
                    "Status",
                    "picklist",
                    "Status",
                    picklist=("New", "Working", "Escalated", "Closed"),
                ),
                _f("Origin", "picklist", "Case Origin", picklist=("Phone", "Email", "Web")),
                _f("Subject", "string", "Subject"),
                _f("Priority", "picklist", "Priority", picklist=("High", "Medium", "Low")),
                _f("Description", "textarea", "Description", filterable=False),
                _f("IsClosed", "boolean", "Closed", nillable=False, **_RO),
                *_audit(),
            ),
        ),
        ObjectSpec(
            "ContentDocument",
            "Content Document",
            "Content Documents",
            "069",
            (
                *_system("ContentDocument"),
                _f("Title", "string", "Title", name_field=True, nillable=False),
                _f("FileType", "string", "File Type", length=20, **_RO),
                _f("FileExtension", "string", "File Extension", length=40, **_RO),
                _f("ContentSize", "int", "Size", **_RO),
                _f(
                    "LatestPublishedVersionId",
                    "reference",
                    "Latest Published Version ID",
                    reference_to=("ContentVersion",),
                    **_RO,
                ),
                _f("Description", "textarea", "Description", length=1000, filterable=False),
                *_audit(),
            ),
            createable=False,
        ),
        ObjectSpec(
            "ContentVersion",
            "Content Version",
            "Content Versions",
            "068",
            (
                *_system("ContentVersion"),
                _f(
                    "ContentDocumentId",
                    "reference",
                    "ContentDocument ID",
                    reference_to=("ContentDocument",),
                    updateable=False,
                ),
                _f("IsLatest", "boolean", "Is Latest", nillable=False, **_RO),
                _f("VersionNumber", "string", "Version Number", length=20, **_RO),
                _f("Title", "string", "Title", name_field=True, nillable=False),
                _f("Description", "textarea", "Description", length=1000),
                _f("ReasonForChange", "string", "Reason For Change", length=1000),
                _f("PathOnClient", "string", "Path On Client", length=500, updateable=False),
                _f("VersionData", "base64", "Version Data", filterable=False, updateable=False),
                _f("ContentSize", "int", "Size", **_RO),
                _f("FileType", "string", "File Type", length=20, **_RO),
                _f("FileExtension", "string", "File Extension", length=40, **_RO),
                _f("Checksum", "string", "Checksum", length=50, **_RO),
                _f(
                    "FirstPublishLocationId",
                    "reference",
                    "First Publish Location ID",
                    reference_to=_LINKABLE,
                    relationship="FirstPublishLocation",
                    updateable=False,
                ),
                *_audit(),
            ),
        ),
        ObjectSpec(
            "ContentDocumentLink",
            "Content Document Link",
            "Content Document Links",
            "06A",
            (
                *_system("ContentDocumentLink", owner=False),
                _f(
                    "LinkedEntityId",
                    "reference",
                    "Linked Entity ID",
                    reference_to=_LINKABLE,
                    relationship="LinkedEntity",
                    nillable=False,
                    updateable=False,
                ),
                _f(
                    "ContentDocumentId",
                    "reference",
                    "ContentDocument ID",
                    reference_to=("ContentDocument",),
                    child="ContentDocumentLinks",
                    nillable=False,
                    updateable=False,
                ),
                _f("ShareType", "picklist", "Share Type", picklist=("V", "C", "I")),
                _f(
                    "Visibility",
                    "picklist",
                    "Visibility",
                    picklist=("AllUsers", "InternalUsers", "SharedUsers"),
                ),
                _f("SystemModstamp", "datetime", "System Modstamp", nillable=False, **_RO),
            ),
        ),
        ObjectSpec(
            "Countersign_Envelope__c",
            "Countersign Envelope",
            "Countersign Envelopes",
            "a0X",
            (
                *_system("Record"),
                _f("Name", "string", "Envelope Name", length=80, name_field=True),
                _f(
                    "External_Id__c",
                    "string",
                    "Envelope ID",
                    length=64,
                    external_id=True,
                    unique=True,
                ),
                _f(
                    "Status__c",
                    "picklist",
                    "Status",
                    restricted=True,
                    picklist=("Sent", "Completed", "Declined", "Voided", "Expired"),
                ),
                _f("Sent_At__c", "datetime", "Sent At"),
                _f("Completed_At__c", "datetime", "Completed At"),
                _f("Document_URL__c", "url", "Document URL"),
                _f("Record_Id__c", "string", "Record ID", length=18),
                _f(
                    "Case__c",
                    "reference",
                    "Case",
                    reference_to=("Case",),
                    child="Countersign_Envelopes__r",
                ),
                _f(
                    "Account__c",
                    "reference",
                    "Account",
                    reference_to=("Account",),
                    child="Countersign_Envelopes__r",
                ),
                _f(
                    "Opportunity__c",
                    "reference",
                    "Opportunity",
                    reference_to=("Opportunity",),
                    child="Countersign_Envelopes__r",
                ),
                _f(
                    "Contact__c",
                    "reference",
                    "Contact",
                    reference_to=("Contact",),
                    child="Countersign_Envelopes__r",
                ),
                *_audit(),
            ),
            custom=True,
        ),
    ]
}
_BY_PREFIX = {spec.prefix: spec.name for spec in SCHEMA.values()}
_OBJECTS_LOWER = {name.lower(): name for name in SCHEMA}


def _object(name: str) -> ObjectSpec | None:
    canonical = _OBJECTS_LOWER.get(name.lower())
    return SCHEMA[canonical] if canonical else None


# --- Ids -------------------------------------------------------------------------------------

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def id_suffix(id15: str) -> str:
    """The three characters Salesforce appends to make an id case-insensitively unique."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")
        out += _SUFFIX[bits]
    return out


def valid_id(value: object) -> bool:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        return False
    return len(value) == 15 or id_suffix(value[:15]) == value[15:]


def _new_id(data: dict[str, Any], prefix: str) -> str:
    counters = data["counters"]
    counters["ids"] = n = counters.get("ids", 0) + 1
    body, x = "", 61_000_000_000 + n * 104_729  # spread the ids a little, like real ones
    for _ in range(9):
        body = _B62[x % 62] + body
        x //= 62
    id15 = f"{prefix}5g0{body}"
    return id15 + id_suffix(id15)


# --- Storage ---------------------------------------------------------------------------------


def _data(state: SandboxState) -> dict[str, Any]:
    data: dict[str, Any] = state.data["salesforce"]
    return data


def _find(data: dict[str, Any], record_id: str | None) -> tuple[str, dict[str, Any]] | None:
    """(object, record) for a live record id (15 or 18 characters)."""
    if not record_id or not valid_id(record_id):
        return None
    obj = _BY_PREFIX.get(record_id[:3])
    if obj is None:
        return None
    record = data["records"][obj].get(record_id[:15])
    return (obj, record) if record is not None else None


def _now() -> str:
    return _sf_datetime(dt.datetime.now(dt.UTC))


def _sf_datetime(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _apply_create(data: dict[str, Any], obj: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Store a new record (fields already validated), with system and derived fields."""
    spec = SCHEMA[obj]
    record_id = _new_id(data, spec.prefix)
    now = _now()
    user = data.get("user_id")
    record: dict[str, Any] = {"Id": record_id, "IsDeleted": False}
    for name, value in fields.items():
        f = spec.field(name)
        if f is not None:
            record[f.name] = value
    for f in spec.fields:
        if f.name == "OwnerId" and record.get("OwnerId") is None:
            record["OwnerId"] = user
        elif f.name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            record[f.name] = now
        elif f.name in ("CreatedById", "LastModifiedById"):
            record[f.name] = user
        elif f.type == "boolean" and record.get(f.name) is None:
            record[f.name] = False
    if obj == "Case":
        data["counters"]["case_number"] = data["counters"].get("case_number", 1000) + 1
        record["CaseNumber"] = f"{data['counters']['case_number']:08d}"
    _derive(obj, record)
    data["records"][obj][record_id[:15]] = record
    return record


def _apply_update(
    data: dict[str, Any], obj: str, record: dict[str, Any], fields: dict[str, Any]
) -> None:
    spec = SCHEMA[obj]
    for name, value in fields.items():
        f = spec.field(name)
        if f is not None and f.name != "Id":
            record[f.name] = value
    record["LastModifiedDate"] = record["SystemModstamp"] = _now()
    if "LastModifiedById" in record:
        record["LastModifiedById"] = data.get("user_id")
    _derive(obj, record)


def _derive(obj: str, record: dict[str, Any]) -> None:
    if obj in ("Contact", "User"):
        record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
    elif obj == "Opportunity":
        stage = record.get("StageName") or ""
        record["IsClosed"] = stage.startswith("Closed")
        record["IsWon"] = stage == "Closed Won"
    elif obj == "Case":
        record["IsClosed"] = record.get("Status") == "Closed"


# --- Test helpers ----------------------------------------------------------------------------


def records(state: SandboxState, obj: str) -> list[dict[str, Any]]:
    """Copies of the live records of an object."""
    with state.lock:
        return [copy.deepcopy(r) for r in _data(state)["records"][obj].values()]


def insert(state: SandboxState, obj: str, fields: dict[str, Any]) -> str:
    """Store a record directly (no validation); returns its 18-character id."""
    with state.lock:
        record_id: str = _apply_create(_data(state), obj, dict(fields))["Id"]
        return record_id


def delete(state: SandboxState, obj: str, record_id: str) -> None:
    """Delete a record: later references to it fail with ENTITY_IS_DELETED."""
    with state.lock:
        data = _data(state)
        record = data["records"][obj].pop(record_id[:15])
        record["IsDeleted"] = True
        data["deleted"][record_id[:15]] = obj


def lock(state: SandboxState, record_id: str, locked: bool = True) -> None:
    """Writes touching the record fail with UNABLE_TO_LOCK_ROW while it is locked."""
    with state.lock:
        target = _data(state)["locked"]
        if locked:
            target.add(record_id[:15])
        else:
            target.discard(record_id[:15])


def content_versions_for(state: SandboxState, record_id: str) -> list[dict[str, Any]]:
    """The ContentVersions of every file linked (ContentDocumentLink) to the record."""
    with state.lock:
        data = _data(state)
        documents = {
            link["ContentDocumentId"][:15]
            for link in data["records"]["ContentDocumentLink"].values()
            if (link.get("LinkedEntityId") or "")[:15] == record_id[:15]
        }
        return [
            copy.deepcopy(version)
            for version in data["records"]["ContentVersion"].values()
            if (version.get("ContentDocumentId") or "")[:15] in documents
        ]


def expire_token(state: SandboxState, token: str) -> None:
    """Make an access token answer 401 INVALID_SESSION_ID from now on (to test refresh)."""
    with state.lock:
        _data(state)["expired_tokens"].add(token)


def issue_token(state: SandboxState, client_id: str = SANDBOX_CLIENT_ID) -> dict[str, str]:
    """An access and a refresh token, as the authorization-code exchange would issue them."""
    with state.lock:
        return _issue(_data(state), client_id, with_refresh=True)


# --- Seed ------------------------------------------------------------------------------------


def seed(state: SandboxState) -> None:
    """Initech (an opportunity with a primary contact, a case) and Globex."""
    with state.lock:
        data: dict[str, Any] = {
            "records": {name: {} for name in SCHEMA},
            "deleted": {},
            "locked": set(),
            "counters": {},
            "tokens": {SANDBOX_TOKEN: {"client_id": SANDBOX_CLIENT_ID}},
            "expired_tokens": set(),
            "refresh_tokens": {},
            "codes": {},
            "clients": {SANDBOX_CLIENT_ID: SANDBOX_CLIENT_SECRET},
        }
        state.data["salesforce"] = data
        data["org_id"] = _new_id(data, "00D")
        admin = _apply_create(
            data,
            "User",
            {
                "Username": "admin@countersign.sandbox",
                "FirstName": "Sandbox",
                "LastName": "Admin",
                "Email": "admin@countersign.sandbox",
                "IsActive": True,
            },
        )
        data["user_id"] = admin["Id"]
        initech = _apply_create(
            data,
            "Account",
            {
                "Name": "Initech",
                "Type": "Customer - Direct",
                "Industry": "Technology",
                "BillingStreet": "4120 Freidrich Lane",
                "BillingCity": "Austin",
                "BillingState": "TX",
                "BillingPostalCode": "78744",
                "BillingCountry": "United States",
                "Phone": "+1 512 555 0100",
                "Website": "https://initech.test",
                "AnnualRevenue": 12500000.0,
                "NumberOfEmployees": 320,
                "Description": "Makes TPS reports.",
            },
        )
        globex = _apply_create(
            data,
            "Account",
            {
                "Name": "Globex",
                "Type": "Prospect",
                "Industry": "Energy",
                "BillingStreet": "1 Globex Way",
                "BillingCity": "Cypress Creek",
                "BillingState": "OR",
                "BillingCountry": "United States",
                "Website": "https://globex.test",
                "NumberOfEmployees": 5000,
            },
        )
        peter = _apply_create(
            data,
            "Contact",
            {
                "AccountId": initech["Id"],
                "FirstName": "Peter",
                "LastName": "Gibbons",
                "Salutation": "Mr.",
                "Title": "Software Engineer",
                "Email": "peter@initech.test",
                "Phone": "+1 512 555 0142",
                "MailingCity": "Austin",
                "Department": "Engineering",
            },
        )
        michael = _apply_create(
            data,
            "Contact",
            {
                "AccountId": initech["Id"],
                "FirstName": "Michael",
                "LastName": "Bolton",
                "Title": "Software Engineer",
                "Email": "michael@initech.test",
                "MailingCity": "Austin",
                "Department": "Engineering",
            },
        )
        _apply_create(
            data,
            "Contact",
            {
                "AccountId": globex["Id"],
                "FirstName": "Hank",
                "LastName": "Scorpio",
                "Title": "CEO",
                "Email": "hank@globex.test",
                "MailingCity": "Cypress Creek",
            },
        )
        opportunity = _apply_create(
            data,
            "Opportunity",
            {
                "AccountId": initech["Id"],
                "Name": "Initech enterprise upgrade",
                "StageName": "Proposal/Price Quote",
                "Amount": 7056.0,
                "Probability": 75.0,
                "CloseDate": "2026-12-31",
                "Type": "Existing Customer - Upgrade",
                "NextStep": "Send the order form",
                "Unit_Price__c": 49.0,
                "Seats__c": 12.0,
            },
        )
        _apply_create(
            data,
            "OpportunityContactRole",
            {
                "OpportunityId": opportunity["Id"],
                "ContactId": michael["Id"],
                "Role": "Technical Buyer",
                "IsPrimary": False,
            },
        )
        _apply_create(
            data,
            "OpportunityContactRole",
            {
                "OpportunityId": opportunity["Id"],
                "ContactId": peter["Id"],
                "Role": "Decision Maker",
                "IsPrimary": True,
            },
        )
        _apply_create(
            data,
            "Case",
            {
                "AccountId": initech["Id"],
                "ContactId": peter["Id"],
                "Status": "New",
                "Origin": "Web",
                "Priority": "Medium",
                "Type": "Problem",
                "Subject": "New cover sheets for the TPS reports",
                "Description": "Did you get the memo?",
            },
        )


# --- Responses -------------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        mimetype="application/json",
        content_type="application/json;charset=UTF-8",
    )


def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return _json([body], status)


def _not_found() -> Response:
    return _error(404, "NOT_FOUND", "The requested resource does not exist")


def _state() -> SandboxState:
    return sandbox_state(current_app)


def _base_url() -> str:
    return str(current_app.config.get("SANDBOX_BASE_URL") or request.host_url).rstrip("/")


@blueprint.before_request
def _authenticate() -> Response | None:
    path = request.path
    if not path.startswith("/services/data/v"):
        return None
    version = path.split("/")[3][1:]
    if version not in VERSIONS:
        return _not_found()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    with _state().lock:
        data = _data(_state())
        known = token in data["tokens"] and token not in data["expired_tokens"]
    if scheme.lower() not in ("bearer", "oauth") or not known:
        response = _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        response.headers["WWW-Authenticate"] = 'Token realm="Salesforce"'
        return response
    return None


@blueprint.get("/data")
@blueprint.get("/data/")
def versions() -> Response:
    return _json(
        [
            {"label": _RELEASES[int(v[:-2])], "url": f"/services/data/v{v}", "version": v}
            for v in VERSIONS
        ]
    )


@blueprint.get("/data/v<version>")
@blueprint.get("/data/v<version>/")
def resources(version: str) -> Response:
    base = f"/services/data/v{version}"
    return _json(
        {
            name: f"{base}/{name}"
            for name in ("sobjects", "query", "queryAll", "composite", "limits", "search")
        }
    )


def _object_urls(version: str, name: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


@blueprint.get("/data/v<version>/sobjects")
@blueprint.get("/data/v<version>/sobjects/")
def describe_global(version: str) -> Response:
    return _json(
        {
            "encoding": "UTF-8",
            "maxBatchSize": MAX_COLLECTION_RECORDS,
            "sobjects": [
                {
                    "activateable": False,
                    "createable": spec.createable,
                    "custom": spec.custom,
                    "customSetting": False,
                    "deletable": True,
                    "deprecatedAndHidden": False,
                    "feedEnabled": False,
                    "hasSubtypes": False,
                    "isInterface": False,
                    "isSubtype": False,
                    "keyPrefix": spec.prefix,
                    "label": spec.label,
                    "labelPlural": spec.plural,
                    "layoutable": True,
                    "mergeable": False,
                    "mruEnabled": True,
                    "name": spec.name,
                    "queryable": True,
                    "replicateable": True,
                    "retrieveable": True,
                    "searchable": True,
                    "triggerable": True,
                    "undeletable": True,
                    "updateable": True,
                    "urls": _object_urls(version, spec.name),
                }
                for spec in SCHEMA.values()
            ],
        }
    )


def _field_describe(f: FieldSpec) -> dict[str, Any]:
    text = f.type in _TEXT_TYPES or f.type == "base64"
    picklist = [
        {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
        for v in f.picklist
    ]
    return {
        "aggregatable": f.type not in ("textarea", "base64", "address"),
        "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": f.length * 3 if text else 0,
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": False if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.type == "boolean" or f.name in ("Id", "OwnerId"),
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 9 if f.type == "int" else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": None,
        "filterable": f.filterable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.type not in ("textarea", "base64", "address", "double", "currency"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.type == "id" or f.external_id or (f.name_field and f.type == "string"),
        "inlineHelpText": None,
        "label": f.label,
        "length": f.length if text and f.type != "base64" else 0,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": len(f.reference_to) > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable and f.createable,
        "picklistValues": picklist,
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": 18 if f.type in ("double", "currency", "percent") else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted,
        "scale": 2 if f.type == "currency" else 0,
        "searchPrefilterable": f.type == "reference",
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": f.type not in ("textarea", "base64", "address") or f.length <= 255,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def _child_relationships(name: str) -> list[dict[str, Any]]:
    return [
        {
            "cascadeDelete": False,
            "childSObject": spec.name,
            "deprecatedAndHidden": False,
            "field": f.name,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": f.child,
            "restrictedDelete": False,
        }
        for spec in SCHEMA.values()
        for f in spec.fields
        if name in f.reference_to and f.name not in ("OwnerId", "CreatedById", "LastModifiedById")
    ]


@blueprint.get("/data/v<version>/sobjects/<obj>/describe")
@blueprint.get("/data/v<version>/sobjects/<obj>/describe/")
def describe(version: str, obj: str) -> Response:
    spec = _object(obj)
    if spec is None:
        return _not_found()
    urls = _object_urls(version, spec.name) | {
        "compactLayouts": f"/services/data/v{version}/sobjects/{spec.name}/describe/compactLayouts",
        "layouts": f"/services/data/v{version}/sobjects/{spec.name}/describe/layouts",
        "quickActions": f"/services/data/v{version}/sobjects/{spec.name}/quickActions",
        "uiDetailTemplate": f"{_base_url()}/{{ID}}",
    }
    return _json(
        {
            "actionOverrides": [],
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "childRelationships": _child_relationships(spec.name),
            "compactLayoutable": True,
            "createable": spec.createable,
            "custom": spec.custom,
            "customSetting": False,
            "deepCloneable": False,
            "defaultImplementation": None,
            "deletable": True,
            "deprecatedAndHidden": False,
            "extendedBy": None,
            "extendsInterfaces": None,
            "feedEnabled": not spec.custom,
            "fields": [_field_describe(f) for f in spec.fields],
            "hasSubtypes": False,
            "implementedBy": None,
            "implementsInterfaces": None,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": spec.prefix,
            "label": spec.label,
            "labelPlural": spec.plural,
            "layoutable": True,
            "listviewable": None,
            "lookupLayoutable": None,
            "mergeable": False,
            "mruEnabled": True,
            "name": spec.name,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "queryable": True,
            "recordTypeInfos": [
                {
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "developerName": "Master",
                    "master": True,
                    "name": "Master",
                    "recordTypeId": "012000000000000AAA",
                    "urls": {
                        "layout": f"/services/data/v{version}/sobjects/{spec.name}/describe/"
                        "layouts/012000000000000AAA"
                    },
                }
            ],
            "replicateable": True,
            "retrieveable": True,
            "searchLayoutable": True,
            "searchable": True,
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [{"label": "All records", "name": "everything"}],
            "triggerable": True,
            "undeletable": True,
            "updateable": True,
            "urls": urls,
        }
    )


def _attributes(version: str, obj: str, record_id: str) -> dict[str, str]:
    return {"type": obj, "url": f"/services/data/v{version}/sobjects/{obj}/{record_id}"}


def _output(version: str, obj: str, record: dict[str, Any], f: FieldSpec) -> Any:
    if f.type == "base64":
        if record.get(f.name) is None:
            return None
        return f"/services/data/v{version}/sobjects/{obj}/{record['Id']}/{f.name}"
    if f.type == "address":
        prefix = f.name[: -len("Address")]
        return {
            "city": record.get(f"{prefix}City"),
            "country": record.get(f"{prefix}Country"),
            "geocodeAccuracy": None,
            "latitude": None,
            "longitude": None,
            "postalCode": record.get(f"{prefix}PostalCode"),
            "state": record.get(f"{prefix}State"),
            "street": record.get(f"{prefix}Street"),
        }
    return record.get(f.name)


@blueprint.get("/data/v<version>/sobjects/<obj>/<record_id>")
def get_record(version: str, obj: str, record_id: str) -> Response:
    spec = _object(obj)
    if spec is None:
        return _not_found()
    if not valid_id(record_id):
        return _error(
            400, "MALFORMED_ID", f"{spec.label} ID: id value of incorrect type: {record_id}"
        )
    wanted = [n.strip() for n in request.args.get("fields", "").split(",") if n.strip()]
    with _state().lock:
        found = _find(_data(_state()), record_id)
        if found is None or found[0] != spec.name:
            return _not_found()
        record = found[1]
        fields = spec.fields
        if wanted:
            missing = [n for n in wanted if spec.field(n) is None]
            if missing:
                return _error(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{missing[0]}' on sobject of type {spec.name}",
                )
            fields = tuple(f for f in spec.fields if f.name.lower() in {w.lower() for w in wanted})
        body: dict[str, Any] = {"attributes": _attributes(version, spec.name, record["Id"])}
        body |= {f.name: _output(version, spec.name, record, f) for f in fields}
    return _json(body)


@blueprint.get("/data/v<version>/sobjects/<obj>/<record_id>/<field_name>")
def get_blob(version: str, obj: str, record_id: str, field_name: str) -> Response:
    spec = _object(obj)
    f = spec.field(field_name) if spec else None
    if spec is None or f is None or f.type != "base64":
        return _not_found()
    with _state().lock:
        found = _find(_data(_state()), record_id)
        if found is None or found[0] != spec.name or found[1].get(f.name) is None:
            return _not_found()
        content = base64.b64decode(found[1][f.name])
    return Response(content, mimetype="application/octet-stream")


# --- SOQL ------------------------------------------------------------------------------------


class SoqlError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Token:
    kind: str  # ident | string | number | punct | eof
    text: str
    pos: int
    chars: list[tuple[str, bool]] = field(default_factory=list)  # string: (char, is_wildcard)

    @property
    def string(self) -> str:
        return "".join(c for c, _ in self.chars)


_STRING_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
}
_PATH_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_RESERVED = {
    "AND",
    "AS",
    "ASC",
    "BY",
    "DESC",
    "EXCLUDES",
    "FALSE",
    "FIRST",
    "FOR",
    "FROM",
    "GROUP",
    "HAVING",
    "IN",
    "INCLUDES",
    "LAST",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "OR",
    "ORDER",
    "SELECT",
    "TRUE",
    "TYPEOF",
    "UPDATE",
    "USING",
    "WHERE",
    "WITH",
}


def _tokenize(q: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c in " \t\r\n":
            i += 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and q[j].isascii() and (q[j].isalnum() or q[j] in "_."):
                j += 1
            tokens.append(Token("ident", q[i:j], i))
            i = j
        elif c.isascii() and c.isdigit():
            j = i
            while j < n and q[j].isascii() and (q[j].isdigit() or q[j] == "."):
                j += 1
            tokens.append(Token("number", q[i:j], i))
            i = j
        elif c == "'":
            token = Token("string", "", i)
            j = i + 1
            while True:
                if j >= n:
                    raise SoqlError(
                        "MALFORMED_QUERY", f"line 1:{n} mismatched character '<EOF>' expecting '''"
                    )
                ch = q[j]
                if ch == "'":
                    j += 1
                    break
                if ch == "\\":
                    esc = q[j + 1] if j + 1 < n else ""
                    if esc in ("%", "_"):
                        token.chars.append((esc, False))
                        j += 2
                    elif esc in _STRING_ESCAPES:
                        token.chars.append((_STRING_ESCAPES[esc], False))
                        j += 2
                    elif esc == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", q[j + 2 : j + 6]):
                        token.chars.append((chr(int(q[j + 2 : j + 6], 16)), False))
                        j += 6
                    else:
                        raise SoqlError(
                            "MALFORMED_QUERY",
                            f"Invalid string literal '{q[i : j + 2]}"
                            f"...'. Illegal character sequence '\\{esc}' in string "
                            "literal.",
                        )
                else:
                    token.chars.append((ch, ch in "%_"))
                    j += 1
            token.text = q[i:j]
            tokens.append(token)
            i = j
        elif c in "!<>" and q[i + 1 : i + 2] == "=":
            tokens.append(Token("punct", q[i : i + 2], i))
            i += 2
        else:
            tokens.append(Token("punct", c, i))
            i += 1
    tokens.append(Token("eof", "<EOF>", n))
    return tokens


@dataclass
class Condition:
    op: str  # eq | like | in
    path: Token
    values: list[Token]


@dataclass
class Query:
    fields: list[Token]
    obj: Token
    where: list[Condition]
    order: Token | None
    descending: bool
    limit: int | None


class SoqlParser:
    def __init__(self, q: str) -> None:
        self.q = q
        self.tokens = _tokenize(q)
        self.i = 0

    def _next(self) -> Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def _peek(self) -> Token:
        return self.tokens[self.i]

    def _is(self, token: Token, keyword: str) -> bool:
        return token.kind == "ident" and token.text.upper() == keyword

    def context(self, pos: int) -> str:
        start = self.q.rfind("\n", 0, pos) + 1
        end = self.q.find("\n", pos)
        end = len(self.q) if end == -1 else end
        row, col = self.q.count("\n", 0, pos) + 1, pos - start + 1
        return f"\n{self.q[start:end]}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n"

    def _unexpected(self, token: Token) -> SoqlError:
        return SoqlError(
            "MALFORMED_QUERY", f"{self.context(token.pos)}unexpected token: '{token.text}'"
        )

    def _expect(self, keyword: str) -> None:
        token = self._next()
        if not self._is(token, keyword):
            raise self._unexpected(token)

    def _path(self, *, dotted: bool = True) -> Token:
        token = self._next()
        if token.kind != "ident" or token.text.upper() in _RESERVED:
            raise self._unexpected(token)
        if not _PATH_RE.fullmatch(token.text) or (not dotted and "." in token.text):
            raise self._unexpected(token)
        return token

    def parse(self) -> Query:
        self._expect("SELECT")
        fields = [self._path()]
        while self._peek().text == ",":
            self._next()
            fields.append(self._path())
        self._expect("FROM")
        obj = self._path(dotted=False)
        where: list[Condition] = []
        if self._is(self._peek(), "WHERE"):
            self._next()
            where.append(self._condition())
            while self._is(self._peek(), "AND"):
                self._next()
                where.append(self._condition())
        order, descending = None, False
        if self._is(self._peek(), "ORDER"):
            self._next()
            self._expect("BY")
            order = self._path()
            if self._is(self._peek(), "ASC") or self._is(self._peek(), "DESC"):
                descending = self._next().text.upper() == "DESC"
        limit = None
        if self._is(self._peek(), "LIMIT"):
            self._next()
            token = self._next()
            if token.kind != "number" or not token.text.isdigit():
                raise self._unexpected(token)
            limit = int(token.text)
        if self._peek().kind != "eof":
            raise self._unexpected(self._peek())
        return Query(fields, obj, where, order, descending, limit)

    def _value(self) -> Token:
        token = self._next()
        if token.kind == "string" or (
            token.kind == "number" and re.fullmatch(r"\d+(?:\.\d+)?", token.text)
        ):
            return token
        if token.kind == "ident" and token.text.upper() in ("TRUE", "FALSE", "NULL"):
            return token
        raise self._unexpected(token)

    def _condition(self) -> Condition:
        path = self._path()
        token = self._next()
        if token.text == "=":
            return Condition("eq", path, [self._value()])
        if self._is(token, "LIKE"):
            value = self._next()
            if value.kind != "string":
                raise self._unexpected(value)
            return Condition("like", path, [value])
        if self._is(token, "IN"):
            opening = self._next()
            if opening.text != "(":
                raise self._unexpected(opening)
            values = [self._in_value()]
            while self._peek().text == ",":
                self._next()
                values.append(self._in_value())
            closing = self._next()
            if closing.text != ")":
                raise self._unexpected(closing)
            return Condition("in", path, values)
        raise self._unexpected(token)

    def _in_value(self) -> Token:
        token = self._next()
        if token.kind != "string":
            raise self._unexpected(token)
        return token


def _resolve(parser: SoqlParser, spec: ObjectSpec, token: Token) -> list[FieldSpec]:
    """The chain of fields a path walks: relationships, then the field."""
    chain: list[FieldSpec] = []
    current = spec
    *relationships, last = token.text.split(".")
    for name in relationships:
        rel = current.relationship(name)
        target = _object(rel.reference_to[0]) if rel and len(rel.reference_to) == 1 else None
        if rel is None or target is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"{parser.context(token.pos)}Didn't understand "
                f"relationship '{name}' in field path. If you are attempting to use "
                "a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call "
                "for the appropriate names.",
            )
        chain.append(rel)
        current = target
    f = current.field(last)
    if f is None:
        raise SoqlError(
            "INVALID_FIELD",
            f"{parser.context(token.pos)}No such column '{last}' on "
            f"entity '{current.name}'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
        )
    chain.append(f)
    return chain


def _walk(
    data: dict[str, Any], record: dict[str, Any] | None, chain: list[FieldSpec]
) -> tuple[str, dict[str, Any]] | None:
    """Follow the relationships of a chain (all but its last field)."""
    obj = ""
    for rel in chain[:-1]:
        if record is None:
            return None
        found = _find(data, record.get(rel.name))
        if found is None:
            return None
        obj, record = found
    return (obj, record) if record is not None else None


def _like_regex(token: Token) -> re.Pattern[str]:
    pattern = "".join(
        (".*" if c == "%" else ".") if wild else re.escape(c) for c, wild in token.chars
    )
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


def _matcher(parser: SoqlParser, cond: Condition, f: FieldSpec) -> Any:
    """A predicate on a field value, after checking the literal against the field's type."""
    where = parser.context(cond.path.pos)
    if not f.filterable:
        raise SoqlError(
            "INVALID_FIELD", f"{where}field '{f.name}' can not be filtered in a query call"
        )
    if cond.op == "like":
        if f.type not in _TEXT_TYPES - {"id", "reference"}:
            raise SoqlError("INVALID_FIELD", f"{where}invalid operator on {f.type} field")
        regex = _like_regex(cond.values[0])
        return lambda v: v is not None and regex.fullmatch(str(v)) is not None

    expected: list[Any] = []
    for token in cond.values:
        literal = token.text.upper()
        if token.kind == "ident" and literal == "NULL":
            expected.append(None)
        elif token.kind == "ident":  # TRUE / FALSE
            if f.type != "boolean":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"{where}value of filter criterion for field "
                    f"'{f.name}' must be of type {f.type} and should be enclosed in "
                    "quotes",
                )
            expected.append(literal == "TRUE")
        elif f.type == "boolean":
            raise SoqlError(
                "INVALID_FIELD",
                f"{where}value of filter criterion for field "
                f"'{f.name}' must be of type boolean and should not be enclosed in "
                "quotes",
            )
        elif token.kind == "number":
            if f.type not in _NUMBER_TYPES:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"{where}value of filter criterion for field "
                    f"'{f.name}' must be of type {f.type} and should be enclosed "
                    "in quotes",
                )
            expected.append(float(token.text))
        elif f.type in _NUMBER_TYPES:
            raise SoqlError(
                "INVALID_FIELD",
                f"{where}value of filter criterion for field "
                f"'{f.name}' must be of type double and should not be enclosed in "
                "quotes",
            )
        elif f.type in ("id", "reference"):
            if not valid_id(token.string):
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR", f"{where}invalid ID field: {token.string}"
                )
            expected.append(token.string[:15])
        else:
            expected.append(token.string.casefold())

    def match(value: Any) -> bool:
        if value is None:
            return None in expected
        if f.type in ("id", "reference"):
            return str(value)[:15] in expected
        if f.type in _NUMBER_TYPES:
            return float(value) in expected
        if f.type == "boolean":
            return value in expected
        return str(value).casefold() in expected

    return match


def _place(
    version: str,
    data: dict[str, Any],
    out: dict[str, Any],
    obj: str,
    record: dict[str, Any],
    chain: list[FieldSpec],
) -> None:
    if len(chain) == 1:
        out[chain[0].name] = _output(version, obj, record, chain[0])
        return
    rel = chain[0]
    key = rel.relationship or rel.name
    if key in out and out[key] is None:
        return
    found = _find(data, record.get(rel.name))
    if found is None:
        out[key] = None
        return
    target_obj, target = found
    nested = out.setdefault(key, {"attributes": _attributes(version, target_obj, target["Id"])})
    _place(version, data, nested, target_obj, target, chain[1:])


def run_query(data: dict[str, Any], q: str, version: str) -> dict[str, Any]:
    parser = SoqlParser(q)
    query = parser.parse()
    spec = _object(query.obj.text)
    if spec is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"{parser.context(query.obj.pos)}sObject type "
            f"'{query.obj.text}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name. "
            "Please reference your WSDL or the describe call for the appropriate "
            "names.",
        )
    selected = [_resolve(parser, spec, token) for token in query.fields]
    seen: set[str] = set()
    for token, chain in zip(query.fields, selected, strict=True):
        key = ".".join(f.name for f in chain).lower()
        if key in seen:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"{parser.context(token.pos)}duplicate field selected: {token.text}",
            )
        seen.add(key)
    filters = []
    for cond in query.where:
        chain = _resolve(parser, spec, cond.path)
        filters.append((chain, _matcher(parser, cond, chain[-1])))
    rows = []
    for record in data["records"][spec.name].values():
        ok = True
        for chain, match in filters:
            found = _walk(data, record, chain)
            if not match(found[1].get(chain[-1].name) if found else None):
                ok = False
                break
        if ok:
            rows.append(record)
    if query.order is not None:
        chain = _resolve(parser, spec, query.order)

        def sort_key(record: dict[str, Any]) -> tuple[bool, Any]:
            found = _walk(data, record, chain)
            value = found[1].get(chain[-1].name) if found else None
            return (value is not None, value.casefold() if isinstance(value, str) else value)

        present = [r for r in rows if sort_key(r)[0]]
        missing = [r for r in rows if not sort_key(r)[0]]
        present.sort(key=sort_key, reverse=query.descending)
        rows = missing + present if not query.descending else present + missing
    if query.limit is not None:
        rows = rows[: query.limit]
    out = []
    for record in rows:
        row: dict[str, Any] = {"attributes": _attributes(version, spec.name, record["Id"])}
        for chain in selected:
            _place(version, data, row, spec.name, record, chain)
        out.append(row)
    return {"totalSize": len(out), "done": True, "records": out}


@blueprint.get("/data/v<version>/query")
@blueprint.get("/data/v<version>/query/")
def query(version: str) -> Response:
    q = request.args.get("q")
    if q is None:
        return _error(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        with _state().lock:
            result = run_query(_data(_state()), q, version)
    except SoqlError as exc:
        return _error(exc.status, exc.code, exc.message)
    return _json(result)


# --- Writes ----------------------------------------------------------------------------------


def _err(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields or []}


def _coerce(data: dict[str, Any], f: FieldSpec, value: Any) -> tuple[Any, dict[str, Any] | None]:
    """The stored form of a written value, or an error."""
    if value is None:
        return None, None
    bad = _err(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.label}: value not of required type: {value}",
        [f.name],
    )
    if f.type == "boolean":
        return (value, None) if isinstance(value, bool) else (None, bad)
    if f.type in _NUMBER_TYPES:
        if isinstance(value, bool):
            return None, bad
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None, bad
        return (int(number) if f.type == "int" else number), None
    if not isinstance(value, str):
        return None, bad
    if f.type == "date":
        try:
            return dt.date.fromisoformat(value).isoformat(), None
        except ValueError:
            return None, bad
    if f.type == "datetime":
        try:
            parsed = dt.datetime.fromisoformat(value.replace("+0000", "+00:00"))
        except ValueError:
            return None, bad
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return _sf_datetime(parsed), None
    if f.type == "base64":
        try:
            return base64.b64encode(base64.b64decode(value, validate=True)).decode(), None
        except (binascii.Error, ValueError):
            return None, bad
    if f.type == "reference":
        if not valid_id(value):
            return None, _err(
                "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
            )
        obj = _BY_PREFIX.get(value[:3])
        if obj not in f.reference_to:
            return None, _err(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{f.label}: id value of incorrect type: {value}",
                [f.name],
            )
        if value[:15] in data["deleted"]:
            return None, _err("ENTITY_IS_DELETED", "entity is deleted")
        if _find(data, value) is None:
            return None, _err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        return data["records"][obj][value[:15]]["Id"], None
    if f.length and len(value) > f.length:
        return None, _err(
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {value[:50]} (max length={f.length})",
            [f.name],
        )
    if f.type == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return None, _err(
            "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name]
        )
    if f.type == "picklist" and f.restricted and value not in f.picklist:
        return None, _err(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.label}: bad value for restricted picklist field: {value}",
            [f.name],
        )
    return value, None


@dataclass
class _Plan:
    obj: str
    fields: dict[str, Any]
    existing: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


_REQUIRED_ON_CREATE = {"ContentVersion": ("Title", "PathOnClient", "VersionData")}


def _plan(
    data: dict[str, Any],
    spec: ObjectSpec,
    raw: dict[str, Any],
    existing: dict[str, Any] | None,
    *,
    allowed: Iterable[str] = (),
) -> _Plan:
    plan = _Plan(spec.name, {}, existing)
    if existing is None and not spec.createable:
        plan.errors.append(
            _err("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {spec.label}")
        )
        return plan
    allowed_lower = {a.lower() for a in allowed}
    readonly: list[str] = []
    for name, value in raw.items():
        if name == "attributes" or name.lower() in allowed_lower:
            continue
        f = spec.field(name)
        if f is None:
            plan.errors.append(
                _err("INVALID_FIELD", f"No such column '{name}' on sobject of type {spec.name}")
            )
            continue
        if (existing is None and not f.createable) or (existing is not None and not f.updateable):
            readonly.append(f.name)
            continue
        stored, error = _coerce(data, f, value)
        if error:
            plan.errors.append(error)
        plan.fields[f.name] = stored
        if f.type == "reference" and isinstance(value, str) and value[:15] in data["locked"]:
            plan.errors.append(
                _err(
                    "UNABLE_TO_LOCK_ROW",
                    f"unable to obtain exclusive access to this record or 1 records: {value}",
                )
            )
    if readonly:
        plan.errors.append(
            _err(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(readonly)}. Please "
                "check the security settings of this field and verify that it "
                "is read/write for your profile or permission set.",
                readonly,
            )
        )
    if existing is None:
        required = [
            f.name
            for f in spec.fields
            if not f.nillable and f.createable and f.type != "boolean" and f.name != "OwnerId"
        ]
        required += _REQUIRED_ON_CREATE.get(spec.name, ())
        missing = [n for n in required if plan.fields.get(n) is None]
        if missing:
            plan.errors.append(
                _err(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            )
    elif existing["Id"][:15] in data["locked"]:
        plan.errors.append(
            _err(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: {existing['Id']}",
            )
        )
    return plan


def _apply(data: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    if plan.existing is not None:
        _apply_update(data, plan.obj, plan.existing, plan.fields)
        return plan.existing
    if plan.obj == "ContentVersion":
        return _create_content_version(data, plan.fields)
    return _apply_create(data, plan.obj, plan.fields)


def _create_content_version(data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    content = base64.b64decode(fields["VersionData"])
    path = fields.get("PathOnClient") or ""
    extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    derived = {
        "ContentSize": len(content),
        "FileExtension": extension or None,
        "FileType": (extension or "UNKNOWN").upper(),
        "Checksum": hashlib.md5(content, usedforsecurity=False).hexdigest(),
    }
    document_id = fields.get("ContentDocumentId")
    if document_id:
        document = data["records"]["ContentDocument"][document_id[:15]]
        versions = [
            v
            for v in data["records"]["ContentVersion"].values()
            if v["ContentDocumentId"][:15] == document_id[:15]
        ]
        for v in versions:
            v["IsLatest"] = False
        number = str(len(versions) + 1)
    else:
        document = _apply_create(data, "ContentDocument", {"Title": fields["Title"]})
        number = "1"
    version = _apply_create(
        data,
        "ContentVersion",
        fields
        | derived
        | {"ContentDocumentId": document["Id"], "IsLatest": True, "VersionNumber": number},
    )
    document.update(
        {
            "Title": fields["Title"],
            "LatestPublishedVersionId": version["Id"],
            "ContentSize": len(content),
            "FileExtension": derived["FileExtension"],
            "FileType": derived["FileType"],
        }
    )
    location = fields.get("FirstPublishLocationId")
    if location and not document_id:
        _apply_create(
            data,
            "ContentDocumentLink",
            {
                "LinkedEntityId": location,
                "ContentDocumentId": document["Id"],
                "ShareType": "V",
                "Visibility": "AllUsers",
            },
        )
    return version


def _collection_body() -> tuple[list[dict[str, Any]], bool] | Response:
    body = request.get_json(silent=True)
    records_ = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records_, list) or not all(isinstance(r, dict) for r in records_):
        return _error(400, "JSON_PARSER_ERROR", "The request body is either invalid or incomplete.")
    if len(records_) > MAX_COLLECTION_RECORDS:
        return _error(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than "
            f"{MAX_COLLECTION_RECORDS} records into this call",
        )
    return records_, bool(isinstance(body, dict) and body.get("allOrNone", False))


def _results(
    data: dict[str, Any], plans: list[_Plan], all_or_none: bool, *, upsert: bool
) -> list[dict[str, Any]]:
    if all_or_none and any(p.errors for p in plans):
        rolled_back = _err(
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not "
            "all records were valid and the request was using AllOrNone header",
        )
        return [{"success": False, "errors": p.errors or [rolled_back]} for p in plans]
    results = []
    for plan in plans:
        if plan.errors:
            results.append({"success": False, "errors": plan.errors})
            continue
        created = plan.existing is None
        record = _apply(data, plan)
        result: dict[str, Any] = {"id": record["Id"], "success": True, "errors": []}
        if upsert:
            result["created"] = created
        results.append(result)
    return results


@blueprint.post("/data/v<version>/composite/sobjects")
@blueprint.post("/data/v<version>/composite/sobjects/")
def collection_insert(version: str) -> Response:
    parsed = _collection_body()
    if isinstance(parsed, Response):
        return parsed
    raws, all_or_none = parsed
    with _state().lock:
        data = _data(_state())
        plans = []
        for raw in raws:
            type_ = (raw.get("attributes") or {}).get("type")
            spec = _object(type_) if isinstance(type_, str) else None
            if spec is None:
                plan = _Plan(str(type_), {})
                plan.errors.append(
                    _err("INVALID_TYPE", f"sObject type '{type_}' is not supported.")
                )
            elif "Id" in raw:
                plan = _Plan(spec.name, {})
                plan.errors.append(
                    _err(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "cannot specify Id in an insert call",
                        ["Id"],
                    )
                )
            else:
                plan = _plan(data, spec, raw, None)
            plans.append(plan)
        return _json(_results(data, plans, all_or_none, upsert=False))


@blueprint.patch("/data/v<version>/composite/sobjects/<obj>/<external_field>")
def collection_upsert(version: str, obj: str, external_field: str) -> Response:
    spec = _object(obj)
    if spec is None:
        return _not_found()
    key = spec.field(external_field)
    if key is None or not (key.external_id or key.type == "id"):
        return _error(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {external_field}",
        )
    parsed = _collection_body()
    if isinstance(parsed, Response):
        return parsed
    raws, all_or_none = parsed
    with _state().lock:
        data = _data(_state())
        values = [raw.get(key.name, raw.get(external_field)) for raw in raws]
        counts: dict[str, int] = {}
        for value in values:
            if isinstance(value, str):
                counts[value.casefold()] = counts.get(value.casefold(), 0) + 1
        index = {
            r[key.name].casefold(): r
            for r in data["records"][spec.name].values()
            if isinstance(r.get(key.name), str)
        }
        plans = []
        for raw, value in zip(raws, values, strict=True):
            type_ = (raw.get("attributes") or {}).get("type", spec.name)
            if type_ != spec.name:
                plan = _Plan(spec.name, {})
                plan.errors.append(
                    _err("INVALID_TYPE", f"sObject type '{type_}' does not match {spec.name}")
                )
            elif value is None and key.type != "id":
                plan = _Plan(spec.name, {})
                plan.errors.append(_err("MISSING_ARGUMENT", f"{key.name} not specified"))
            elif isinstance(value, str) and counts[value.casefold()] > 1:
                plan = _Plan(spec.name, {})
                plan.errors.append(
                    _err(
                        "DUPLICATE_EXTERNAL_ID",
                        f"Duplicate external id specified: {value}",
                        [key.name],
                    )
                )
            else:
                existing = None
                if key.type == "id" and value is not None:
                    found = _find(data, value)
                    existing = found[1] if found and found[0] == spec.name else None
                    if existing is None:
                        plan = _Plan(spec.name, {})
                        plan.errors.append(
                            _err(
                                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"]
                            )
                        )
                        plans.append(plan)
                        continue
                elif value is not None:
                    existing = index.get(str(value).casefold())
                create = (
                    raw
                    if existing is None
                    else {k: v for k, v in raw.items() if k.lower() != key.name.lower()}
                )
                allowed = ("Id",) if key.type == "id" else ()
                plan = _plan(data, spec, create, existing, allowed=allowed)
            plans.append(plan)
        return _json(_results(data, plans, all_or_none, upsert=True))


@blueprint.post("/data/v<version>/sobjects/<obj>")
@blueprint.post("/data/v<version>/sobjects/<obj>/")
def create_record(version: str, obj: str) -> Response:
    spec = _object(obj)
    if spec is None:
        return _not_found()
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        return _error(400, "JSON_PARSER_ERROR", "The request body is either invalid or incomplete.")
    with _state().lock:
        data = _data(_state())
        plan = _plan(data, spec, raw, None)
        if plan.errors:
            return _json(
                [
                    {"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]}
                    for e in plan.errors
                ],
                400,
            )
        record = _apply(data, plan)
    return _json({"id": record["Id"], "success": True, "errors": []}, 201)


# --- OAuth -----------------------------------------------------------------------------------


def _issue(data: dict[str, Any], client_id: str, *, with_refresh: bool) -> dict[str, str]:
    access = f"{data['org_id'][:15]}!AQ{secrets.token_urlsafe(64)}"
    data["tokens"][access] = {"client_id": client_id}
    tokens = {"access_token": access}
    if with_refresh:
        refresh = f"5Aep861{secrets.token_urlsafe(60)}"
        data["refresh_tokens"][refresh] = {"client_id": client_id}
        tokens["refresh_token"] = refresh
    return tokens


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@blueprint.get("/oauth2/authorize")
def authorize() -> Response:
    args = request.args
    client_id, redirect_uri = args.get("client_id"), args.get("redirect_uri", "")
    if not client_id:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    extra = {"state": args["state"]} if "state" in args else {}
    if args.get("response_type") != "code":
        error = {
            "error": "unsupported_response_type",
            "error_description": "response type not supported",
        }
        return Response(status=302, headers={"Location": _with_query(redirect_uri, error | extra)})
    code = f"aPrx{secrets.token_urlsafe(40)}"
    with _state().lock:
        _data(_state())["codes"][code] = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "expires": time.time() + 900,
            "challenge": args.get("code_challenge"),
            "method": args.get("code_challenge_method", "plain"),
        }
    return Response(
        status=302, headers={"Location": _with_query(redirect_uri, {"code": code} | extra)}
    )


def _pkce_ok(grant: dict[str, Any], verifier: str | None) -> bool:
    challenge = grant.get("challenge")
    if not challenge:
        return True
    if not verifier:
        return False
    if grant.get("method") == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


@blueprint.post("/oauth2/token")
def token() -> Response:
    form = request.form if request.form else request.args
    grant_type = form.get("grant_type")
    # The client authenticates in the form (client_id, client_secret) or with HTTP Basic.
    auth = request.authorization
    basic = auth if auth is not None and auth.type == "basic" else None
    client_id = form.get("client_id") or (basic.username if basic else None) or ""
    client_secret = form.get("client_secret") or (basic.password if basic else None) or ""
    with _state().lock:
        data = _data(_state())
        known_secret = data["clients"].get(client_id)
        if not client_id:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if known_secret is not None and not hmac.compare_digest(client_secret, known_secret):
            return _oauth_error("invalid_client", "invalid client credentials")
        if grant_type == "authorization_code":
            grant = data["codes"].pop(form.get("code", ""), None)
            if (
                grant is None
                or grant["expires"] < time.time()
                or grant["client_id"] != client_id
                or grant["redirect_uri"] != form.get("redirect_uri")
                or not _pkce_ok(grant, form.get("code_verifier"))
            ):
                return _oauth_error("invalid_grant", "authentication failure")
            tokens = _issue(data, client_id, with_refresh=True)
        elif grant_type == "refresh_token":
            refresh = data["refresh_tokens"].get(form.get("refresh_token", ""))
            if refresh is None or refresh["client_id"] != client_id:
                return _oauth_error("invalid_grant", "expired access/refresh token")
            tokens = _issue(data, client_id, with_refresh=False)
        else:
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        identity = f"https://login.salesforce.com/id/{data['org_id']}/{data['user_id']}"
    issued_at = str(int(time.time() * 1000))
    secret = (known_secret or client_secret).encode()
    signature = base64.b64encode(
        hmac.new(secret, (identity + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    return _json(
        tokens
        | {
            "signature": signature,
            "scope": "refresh_token api",
            "instance_url": _base_url(),
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )


@blueprint.post("/oauth2/revoke")
def revoke() -> Response:
    value = (request.form or request.args).get("token", "")
    with _state().lock:
        data = _data(_state())
        data["refresh_tokens"].pop(value, None)
        data["tokens"].pop(value, None)
    return Response(status=200)
