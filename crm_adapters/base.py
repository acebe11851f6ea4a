"""The one contract every CRM adapter keeps, and the registry that finds an adapter by system.

An adapter reads a record (with its related records) as a flat mapping of values for templates,
lists records for bulk send, writes back a batch of envelope status changes, attaches a file to
a record, and verifies the CRM's inbound webhooks. Adapters never sleep: a rate limit comes back
as a result with ``retry_after`` so the outbox reschedules the delivery.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

Outcome = Literal["ok", "retry", "failed"]


@dataclass(frozen=True)
class RecordRef:
    system: str  # zendesk | salesforce
    object: str  # ticket; Case, Account, Contact, Opportunity, a custom object...
    record_id: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class StatusUpdate:
    """One envelope's new state, to be shown on its CRM record."""

    key: str  # the outbox message id; results refer to it
    envelope_id: str
    record: RecordRef
    status: str  # sent | completed | declined | voided | expired
    title: str
    summary: str  # one human sentence for a note, e.g. "Signed by everyone on 2026-11-30."
    envelope_url: str | None = None
    sent_at: datetime | None = None
    completed_at: datetime | None = None
    attachment: Attachment | None = None  # the sealed PDF, on completion
    attempt: int = 1  # > 1 when an earlier attempt may have partly happened
    #: What an earlier attempt left to resume from (an UpdateResult's ``resume``), if anything.
    resume: str | None = None


@dataclass(frozen=True)
class UpdateResult:
    key: str
    outcome: Outcome
    error: str | None = None
    retry_after: float | None = None  # seconds, when the CRM said how long to wait
    #: For a retry the CRM may already have applied: how to find out next time (adapter-defined,
    #: e.g. "job:123"); None when the CRM certainly did not apply it.
    resume: str | None = None


@dataclass
class ConnectionInfo:
    """What an adapter needs to talk to one org's CRM; secrets already decrypted."""

    system: str
    base_url: str  # https://acme.zendesk.com, https://acme.my.salesforce.com
    api_base_url: str | None = None  # an override (sandboxes, proxies, tests)
    credentials: dict[str, Any] = field(default_factory=dict)  # access_token, refresh_token...
    settings: dict[str, Any] = field(default_factory=dict)  # ca_bundle (PEM), field ids...
    #: Called with new credentials after a token refresh, so they are stored (encrypted).
    on_credentials: Callable[[dict[str, Any]], None] | None = None

    @property
    def api_url(self) -> str:
        return (self.api_base_url or self.base_url).rstrip("/")


class CrmError(Exception):
    """The CRM refused in a way retrying will not fix (bad credentials, missing record...)."""


class RateLimited(Exception):
    """The CRM asked us to wait; ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmAdapter(ABC):
    system: ClassVar[str]
    #: The most status updates one ``write_back`` call takes.
    max_batch: ClassVar[int]

    def __init__(self, connection: ConnectionInfo) -> None:
        self.connection = connection

    @abstractmethod
    def fetch_record(self, object: str, record_id: str) -> dict[str, Any]:
        """The record and its related records as a flat mapping: ``{"ticket.requester.name":
        "Jane"}`` (Zendesk), ``{"Opportunity.Account.Name": "Acme"}`` (Salesforce).
        Raises CrmError when the record does not exist."""

    @abstractmethod
    def list_records(
        self, object: str, query: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Records for bulk send: each a flat mapping as :meth:`fetch_record` returns."""

    @abstractmethod
    def write_back(self, updates: Sequence[StatusUpdate]) -> list[UpdateResult]:
        """Show each update on its record, in as few calls as the CRM allows; one result per
        update (per-record errors do not fail the others). Idempotent per ``key``."""

    @abstractmethod
    def attach_file(self, record: RecordRef, attachment: Attachment) -> str:
        """Attach a file to the record; returns the CRM's id for it."""

    @classmethod
    @abstractmethod
    def verify_webhook(
        cls, headers: Mapping[str, str], body: bytes, secret: str, *, now: datetime | None = None
    ) -> bool:
        """True when an inbound webhook was signed with ``secret`` and is fresh."""


REGISTRY: dict[str, type[CrmAdapter]] = {}


def register(adapter: type[CrmAdapter]) -> type[CrmAdapter]:
    REGISTRY[adapter.system] = adapter
    return adapter


def adapter_for(connection: ConnectionInfo) -> CrmAdapter:
    _load_adapters()
    try:
        return REGISTRY[connection.system](connection)
    except KeyError:
        raise CrmError(f"no adapter for CRM system {connection.system!r}") from None


def _load_adapters() -> None:
    # Imported on first use, not at import time, so the core never imports vendor libraries eagerly.
    import crm_adapters.salesforce.adapter
    import crm_adapters.zendesk.adapter  # noqa: F401


def default_field_mappings(system: str) -> dict[str, str]:
    """The system's default CRM path → template field mappings (each vendor's mapping.py)."""
    if system == "zendesk":
        from crm_adapters.zendesk.mapping import DEFAULT_FIELD_MAPPINGS
    elif system == "salesforce":
        from crm_adapters.salesforce.mapping import DEFAULT_FIELD_MAPPINGS
    else:
        return {}
    return dict(DEFAULT_FIELD_MAPPINGS)


DEFAULT_RETRY_AFTER = 60.0
_ca_lock = threading.Lock()
_ca_folder: Path | None = None


def ca_bundle_file(pem: str) -> str:
    """A file holding ``pem`` (requests verifies TLS against a path), written once per process."""
    global _ca_folder
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise CrmError("the connection's ca_bundle is not a PEM certificate bundle")
    digest = hashlib.sha256(pem.encode()).hexdigest()
    with _ca_lock:
        if _ca_folder is None:
            _ca_folder = Path(tempfile.mkdtemp(prefix="countersign-ca-"))
            atexit.register(shutil.rmtree, _ca_folder, True)
        path = _ca_folder / f"{digest}.pem"
        if not path.exists():
            partial = path.with_suffix(".partial")
            partial.write_text(pem)
            os.replace(partial, path)
        return str(path)


def tls_verify(ca_bundle: str | None) -> bool | str:
    """What requests' ``verify`` takes: the connection's CA bundle file, or the system's CAs."""
    return ca_bundle_file(ca_bundle) if ca_bundle else True


def parse_retry_after(value: str | None) -> float:
    """Retry-After as seconds: a number or an HTTP date; the default when absent or unusable."""
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
