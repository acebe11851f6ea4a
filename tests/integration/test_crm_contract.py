"""One contract, run over every CRM adapter against the local simulators (real HTTPS server,
real zenpy and simple-salesforce clients)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator

import pytest

from crm_adapters.base import (
    REGISTRY,
    Attachment,
    ConnectionInfo,
    CrmAdapter,
    CrmError,
    RecordRef,
    StatusUpdate,
    _load_adapters,
)
from crm_adapters.sandbox import Faults, SandboxServer

_load_adapters()
SYSTEMS = sorted(REGISTRY)
TOKENS = {"zendesk": "sandbox-zendesk-token", "salesforce": "sandbox-salesforce-token"}
BASES = {"zendesk": "https://acme.zendesk.com", "salesforce": "https://acme.my.salesforce.com"}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


@pytest.fixture(params=SYSTEMS)
def adapter(request: pytest.FixtureRequest, server: SandboxServer) -> CrmAdapter:
    system = request.param
    server.set_faults(Faults())
    return REGISTRY[system](
        ConnectionInfo(
            system=system,
            base_url=BASES[system],
            api_base_url=server.url,
            credentials={"access_token": TOKENS[system]},
            settings={"ca_bundle": server.ca_pem},
        )
    )


def a_record(adapter: CrmAdapter) -> RecordRef:
    if adapter.system == "zendesk":
        return RecordRef("zendesk", "ticket", "1")
    found = adapter.list_records("Opportunity", "Initech", limit=1)
    return RecordRef("salesforce", "Opportunity", str(found[0]["Opportunity.Id"]))


def an_update(record: RecordRef, **changes: object) -> StatusUpdate:
    values = {
        "key": str(uuid.uuid4()),
        "envelope_id": str(uuid.uuid4()),
        "record": record,
        "status": "sent",
        "title": "Contract",
        "summary": "Sent for signature.",
    } | changes
    return StatusUpdate(**values)  # type: ignore[arg-type]


def test_fetch_record_is_a_flat_mapping(adapter: CrmAdapter) -> None:
    record = a_record(adapter)
    values = adapter.fetch_record(record.object, record.record_id)
    assert values
    assert all(isinstance(k, str) and "." in k for k in values)
    assert not any(isinstance(v, dict) for v in values.values())


def test_a_hostile_id_is_refused_before_any_call(
    adapter: CrmAdapter, server: SandboxServer
) -> None:
    record = a_record(adapter)
    before = server.state.count(adapter.system)
    with pytest.raises(CrmError):
        adapter.fetch_record(record.object, "1' OR '1'='1")
    assert server.state.count(adapter.system) == before


def test_write_back_answers_once_per_update(adapter: CrmAdapter) -> None:
    record = a_record(adapter)
    batch = [an_update(record, status=s) for s in ("sent", "declined", "voided")]
    results = adapter.write_back(batch)
    assert sorted(r.key for r in results) == sorted(u.key for u in batch)
    assert {r.outcome for r in results} == {"ok"}


def test_rate_limits_come_back_as_retry_without_sleeping(
    adapter: CrmAdapter, server: SandboxServer
) -> None:
    record = a_record(adapter)
    kind = "429" if adapter.system == "zendesk" else "limit"
    server.set_faults(Faults(rate=1.0, kinds=(kind,), retry_after=30))
    started = time.monotonic()
    results = adapter.write_back([an_update(record)])
    assert time.monotonic() - started < 10
    assert [r.outcome for r in results] == ["retry"]
    assert results[0].retry_after is not None
    server.set_faults(Faults())


def test_attach_file_returns_an_id(adapter: CrmAdapter) -> None:
    attachment = Attachment("contract.pdf", "application/pdf", b"%PDF-1.7 test")
    assert adapter.attach_file(a_record(adapter), attachment)


def test_webhooks_need_the_secret(adapter: CrmAdapter) -> None:
    body = b'{"event": "test"}'
    timestamp = str(int(time.time()))
    headers_for = {
        "zendesk": lambda sig: {
            "X-Zendesk-Webhook-Signature": sig,
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        },
        "salesforce": lambda sig: {
            "X-Countersign-Signature": sig,
            "X-Countersign-Timestamp": timestamp,
        },
    }[adapter.system]
    separator = b"" if adapter.system == "zendesk" else b"."
    good = base64.b64encode(
        hmac.new(b"s3cret", timestamp.encode() + separator + body, hashlib.sha256).digest()
    )
    assert type(adapter).verify_webhook(headers_for(good.decode()), body, "s3cret")
    assert not type(adapter).verify_webhook(headers_for(good.decode()), body + b" ", "s3cret")
    assert not type(adapter).verify_webhook(headers_for(good.decode()), body, "other")
