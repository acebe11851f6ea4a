"""The Salesforce adapter against the sandbox simulator, over HTTPS, with real simple-salesforce.

The sandbox runs on loopback with a throw-away CA; the connection trusts that CA through its
``ca_bundle`` setting. Call counts come from the sandbox's own per-endpoint counter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from simple_salesforce import SalesforceMalformedRequest

from crm_adapters.base import (
    Attachment,
    ConnectionInfo,
    CrmError,
    RateLimited,
    RecordRef,
    StatusUpdate,
    adapter_for,
)
from crm_adapters.salesforce import client as sf_client
from crm_adapters.salesforce import mapping, webhooks
from crm_adapters.salesforce.adapter import SalesforceAdapter
from crm_adapters.sandbox import Faults, SandboxServer
from crm_adapters.sandbox import salesforce as sandbox

UPSERT = (
    "salesforce PATCH /services/data/v59.0/composite/sobjects/Countersign_Envelope__c/"
    "External_Id__c"
)
INSERT = "salesforce POST /services/data/v59.0/composite/sobjects"
QUERY = "salesforce GET /services/data/v59.0/query/"
PDF = b"%PDF-1.7\n% sealed by Countersign\n%%EOF\n"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults(server: SandboxServer) -> Iterator[None]:
    yield
    server.set_faults(Faults())


@pytest.fixture(scope="module")
def seeded(server: SandboxServer) -> dict[str, str]:
    def one(obj: str, **match: Any) -> str:
        for record in sandbox.records(server.state, obj):
            if all(record.get(k) == v for k, v in match.items()):
                return str(record["Id"])
        raise AssertionError(f"no seeded {obj} {match}")

    return {
        "initech": one("Account", Name="Initech"),
        "globex": one("Account", Name="Globex"),
        "peter": one("Contact", Email="peter@initech.test"),
        "opportunity": one("Opportunity", Name="Initech enterprise upgrade"),
        "case": one("Case", ContactId=one("Contact", Email="peter@initech.test")),
    }


def connect(server: SandboxServer, **credentials: Any) -> ConnectionInfo:
    return ConnectionInfo(
        system="salesforce",
        base_url="https://acme.my.salesforce.com",
        api_base_url=server.url,
        credentials=credentials or {"access_token": sandbox.SANDBOX_TOKEN},
        settings={"ca_bundle": server.ca_pem},
    )


@pytest.fixture
def connection(server: SandboxServer) -> ConnectionInfo:
    return connect(server)


@pytest.fixture
def adapter(connection: ConnectionInfo) -> SalesforceAdapter:
    made = adapter_for(connection)
    assert isinstance(made, SalesforceAdapter)
    return made


def calls(server: SandboxServer) -> Counter[str]:
    with server.state.lock:
        return Counter(server.state.calls)


def missing_id(prefix: str) -> str:
    id15 = f"{prefix}5g00000Zz9Qk"
    return id15 + sandbox.id_suffix(id15)


def update(
    record: RecordRef, status: str = "sent", *, envelope_id: str | None = None, **extra: Any
) -> StatusUpdate:
    envelope_id = envelope_id or f"env-{uuid.uuid4()}"
    extra.setdefault("sent_at", datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    return StatusUpdate(
        key=f"msg-{uuid.uuid4()}",
        envelope_id=envelope_id,
        record=record,
        status=status,
        title=f"Order form {envelope_id}",
        summary="Sent for signature.",
        envelope_url=f"https://sign.example.test/envelopes/{envelope_id}",
        **extra,
    )


def envelopes(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {
        str(r["External_Id__c"]): r
        for r in sandbox.records(server.state, "Countersign_Envelope__c")
    }


def ca_file(server: SandboxServer, tmp_path: Path) -> str:
    path = tmp_path / "sandbox-ca.pem"
    path.write_text(server.ca_pem)
    return str(path)


def oauth_tokens(server: SandboxServer, tmp_path: Path) -> dict[str, Any]:
    """The web-server flow: authorize (a redirect with the code), then the code exchange."""
    verify = ca_file(server, tmp_path)
    redirect_uri = "https://countersign.example.test/oauth/salesforce/callback"
    authorize = requests.get(
        f"{server.url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.SANDBOX_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": "csrf-123",
        },
        allow_redirects=False,
        verify=verify,
        timeout=10,
    )
    assert authorize.status_code == 302
    location = urlsplit(authorize.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == ["csrf-123"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "client_id": sandbox.SANDBOX_CLIENT_ID,
        "client_secret": sandbox.SANDBOX_CLIENT_SECRET,
        "redirect_uri": redirect_uri,
    }
    token = requests.post(
        f"{server.url}/services/oauth2/token", data=form, verify=verify, timeout=10
    )
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    again = requests.post(
        f"{server.url}/services/oauth2/token", data=form, verify=verify, timeout=10
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    return body


# --- Reads -----------------------------------------------------------------------------------


def test_fetch_opportunity_with_account_and_primary_contact(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    before = calls(server)

    values = adapter.fetch_record("Opportunity", seeded["opportunity"])

    assert values["Opportunity.Name"] == "Initech enterprise upgrade"
    assert values["Opportunity.Unit_Price__c"] == 49
    assert values["Opportunity.Seats__c"] == 12
    assert values["Opportunity.Amount"] == 7056
    assert values["Opportunity.Account.Name"] == "Initech"
    assert values["Account.Name"] == "Initech"
    assert values["Account.BillingCity"] == "Austin"
    # The primary contact role (Peter), not the other contact role (Michael).
    assert values["Contact.Email"] == "peter@initech.test"
    assert values["Contact.Name"] == "Peter Gibbons"
    assert not any(key.endswith("attributes") for key in values)
    assert mapping.apply_field_mappings(values) == {
        "customer_company": "Initech",
        "customer_name": "Peter Gibbons",
        "customer_email": "peter@initech.test",
        "unit_price": 49,
        "seats": 12,
    }
    made = calls(server) - before
    assert (
        sum(n for key, n in made.items() if "/describe" in key) == 3
    )  # Opportunity, Account, Contact
    assert made[QUERY] == 2  # the record (with Account.*), the primary contact role

    before = calls(server)
    adapter.fetch_record("Opportunity", seeded["opportunity"][:15])
    assert calls(server) - before == Counter({QUERY: 2})  # describes are cached


def test_fetch_case_with_its_account_and_contact(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    before = calls(server)

    values = adapter.fetch_record("Case", seeded["case"])

    assert values["Case.Subject"] == "New cover sheets for the TPS reports"
    assert values["Case.Account.Name"] == "Initech"
    assert values["Account.Name"] == "Initech"
    assert values["Case.Contact.Email"] == "peter@initech.test"
    assert values["Contact.Email"] == "peter@initech.test"
    assert (calls(server) - before)[QUERY] == 1  # the contact comes with the case


def test_fetch_contact_with_its_account(adapter: SalesforceAdapter, seeded: dict[str, str]) -> None:
    values = adapter.fetch_record("Contact", seeded["peter"])

    assert values["Contact.Email"] == "peter@initech.test"
    assert values["Contact.Account.Name"] == "Initech"
    assert values["Account.Name"] == "Initech"


def test_missing_record_and_unknown_object(adapter: SalesforceAdapter) -> None:
    absent = missing_id("006")
    with pytest.raises(CrmError, match=f"Salesforce Opportunity {absent} does not exist"):
        adapter.fetch_record("Opportunity", absent)
    with pytest.raises(CrmError, match="Salesforce object Invoice__c does not exist"):
        adapter.fetch_record("Invoice__c", missing_id("a0B"))


@pytest.mark.parametrize(
    ("obj", "record_id"),
    [
        ("Opportunity", "006' OR Name != '"),
        ("Opportunity", "0061x00000ABCDE; DELETE"),
        ("Opportunity", "0061x00000ABCDE\n"),
        ("Opportunity", "0061x00000ABCDEAAA"),  # 18 characters, wrong case-safe suffix
        ("Account WHERE", "0015g00000AbCdE"),
        ("Account; DELETE", "0015g00000AbCdE"),
        ("Account\n", "0015g00000AbCdE"),
        ("Account__", "0015g00000AbCdE"),
        ("Bad__Name__x", "0015g00000AbCdE"),
        ("", "0015g00000AbCdE"),
    ],
)
def test_bad_ids_and_object_names_are_refused_before_any_call(
    server: SandboxServer, connection: ConnectionInfo, obj: str, record_id: str
) -> None:
    adapter = SalesforceAdapter(connection)
    before = server.state.count("salesforce")

    with pytest.raises(CrmError, match="is not a Salesforce"):
        adapter.fetch_record(obj, record_id)
    if record_id == "0015g00000AbCdE":
        with pytest.raises(CrmError, match="is not a Salesforce object API name"):
            adapter.list_records(obj, "Initech")
    with pytest.raises(CrmError, match="is not a Salesforce"):
        adapter.attach_file(RecordRef("salesforce", obj, record_id), Attachment("a.pdf", "", PDF))
    [result] = adapter.write_back([update(RecordRef("salesforce", obj, record_id))])
    assert result.outcome == "failed"
    assert "is not a Salesforce" in (result.error or "")

    assert server.state.count("salesforce") == before


def test_search_terms_are_escaped_and_match_literally(
    server: SandboxServer, adapter: SalesforceAdapter
) -> None:
    tricky = "O'Brien \\ 100%_ Ltd"
    sandbox.insert(server.state, "Account", {"Name": tricky, "BillingCity": "Dublin"})
    sandbox.insert(server.state, "Account", {"Name": "O'Brien 1000 Ltd"})

    def names(term: str) -> list[str]:
        return [r["Account.Name"] for r in adapter.list_records("Account", term)]

    assert names("O'Brien \\ 100%_") == [tricky]
    assert names("o'brien \\") == [tricky]  # case-insensitive, like Salesforce
    assert names("%") == [tricky]  # a literal percent sign, not "everything"
    assert names("_") == [tricky]
    assert names("\\") == [tricky]
    assert names("100%") == [tricky]
    assert names("Initech") == ["Initech"]
    assert names("' OR Name LIKE '") == []
    assert names('quote " and newline \n') == []
    assert sorted(names("")) == sorted(names("  ")) != []
    [row] = adapter.list_records("Account", "O'Brien \\ 100%_", limit=1)
    assert row["Account.BillingCity"] == "Dublin"


def test_list_opportunities_brings_each_primary_contact(
    server: SandboxServer, adapter: SalesforceAdapter
) -> None:
    before = calls(server)
    [row] = adapter.list_records("Opportunity", "enterprise", limit=500)

    assert row["Opportunity.Name"] == "Initech enterprise upgrade"
    assert row["Account.Name"] == "Initech"
    assert row["Contact.Email"] == "peter@initech.test"
    assert (calls(server) - before)[QUERY] == 2


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Account WHERE Name = 'x' OR 1=1",
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "SELECT Id FROM Account; DELETE FROM Account",
        "SELECT Id FROM Account -- comment",
        "SELECT Id FROM Account /* comment */",
        "SELECT Id FROM Account WHERE Name = 'a' 'b'",
        "SELECT Id, FROM Account",
        "SELECT Id FROM Account WHERE Name != 'x'",
        "SELECT Id FROM Account LIMIT 5 5",
        "SELECT Id FROM Account WHERE Name = 'bad \\q escape'",
    ],
)
def test_the_sandbox_parser_is_strict(connection: ConnectionInfo, soql: str) -> None:
    sf = sf_client.make_client(connection, sf_client.make_session(connection))

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)

    content: Any = refused.value.content  # simple-salesforce keeps the parsed JSON body
    [error] = content
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"]


def test_the_sandbox_answers_like_salesforce(
    server: SandboxServer, connection: ConnectionInfo
) -> None:
    sf = sf_client.make_client(connection, sf_client.make_session(connection))

    result = sf.query(
        "SELECT Name, Account.Name FROM Opportunity WHERE Account.Name LIKE 'init%' "
        "AND IsClosed = false ORDER BY Name LIMIT 10"
    )
    assert result["totalSize"] == 1
    assert result["done"] is True
    [record] = result["records"]
    assert record["attributes"]["type"] == "Opportunity"
    assert record["attributes"]["url"].startswith("/services/data/v59.0/sobjects/Opportunity/006")
    assert record["Account"]["attributes"]["type"] == "Account"
    assert record["Account"]["Name"] == "Initech"

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful(
            "composite/sobjects",
            method="POST",
            json={"allOrNone": False, "records": [{"attributes": {"type": "Account"}}] * 201},
        )
    content: Any = refused.value.content
    assert content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"

    bad_token = connect(server, access_token="nope")
    with pytest.raises(CrmError, match="INVALID_SESSION_ID"):
        SalesforceAdapter(bad_token).fetch_record("Account", missing_id("001"))


def test_the_sandbox_records_describes_and_per_record_errors(
    connection: ConnectionInfo, seeded: dict[str, str]
) -> None:
    sf = sf_client.make_client(connection, sf_client.make_session(connection))

    account: Any = sf.restful(f"sobjects/Account/{seeded['initech']}")
    assert account["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{seeded['initech']}",
    }
    assert account["Name"] == "Initech"
    assert account["BillingAddress"]["city"] == "Austin"

    describe: Any = sf.restful("sobjects/Countersign_Envelope__c/describe")
    assert describe["keyPrefix"] == "a0X"
    assert describe["custom"] is True
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["External_Id__c"]["externalId"] is True
    assert fields["Case__c"]["type"] == "reference"
    assert fields["Case__c"]["referenceTo"] == ["Case"]
    assert fields["Case__c"]["relationshipName"] == "Case__r"
    assert fields["Status__c"]["label"] == "Status"

    answer = sf.restful(
        "composite/sobjects/Countersign_Envelope__c/External_Id__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "Countersign_Envelope__c"},
                    "External_Id__c": "x-1",
                    "Case__c": missing_id("500"),
                },
                {
                    "attributes": {"type": "Countersign_Envelope__c"},
                    "External_Id__c": "x-2",
                    "Status__c": "Signed",
                },
                {
                    "attributes": {"type": "Countersign_Envelope__c"},
                    "External_Id__c": "x-3",
                    "Status__c": "Sent",
                },
            ],
        },
    )
    assert isinstance(answer, list)
    missing, bad_value, created = answer
    assert missing == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_CROSS_REFERENCE_KEY",
                "message": "invalid cross reference id",
                "fields": ["Case__c"],
            }
        ],
    }
    assert bad_value["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert set(created) == {"id", "success", "errors", "created"}
    assert created["id"].startswith("a0X")
    assert (created["success"], created["errors"], created["created"]) == (True, [], True)


def test_plain_http_loopback_sandbox(seeded: dict[str, str]) -> None:
    with SandboxServer(tls=False) as plain:
        assert plain.url.startswith("http://127.0.0.1:")
        connection = ConnectionInfo(
            system="salesforce",
            base_url="https://acme.my.salesforce.com",
            api_base_url=plain.url,
            credentials={"access_token": sandbox.SANDBOX_TOKEN},
        )
        opportunity = sandbox.records(plain.state, "Opportunity")[0]["Id"]

        values = SalesforceAdapter(connection).fetch_record("Opportunity", opportunity)

    assert values["Contact.Email"] == "peter@initech.test"
    remote = ConnectionInfo(
        system="salesforce",
        base_url="http://acme.my.salesforce.com",
        credentials={"access_token": sandbox.SANDBOX_TOKEN},
    )
    with pytest.raises(CrmError, match="must use https"):
        SalesforceAdapter(remote).fetch_record("Opportunity", seeded["opportunity"])


def test_the_connection_ca_wins_over_requests_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, connection: ConnectionInfo, seeded: dict[str, str]
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", requests.certs.where())

    values = SalesforceAdapter(connection).fetch_record("Account", seeded["initech"])

    assert values["Account.Name"] == "Initech"


# --- Writes ----------------------------------------------------------------------------------


def test_write_back_450_updates_in_three_upserts(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    record = RecordRef("salesforce", "Opportunity", seeded["opportunity"])
    updates = [update(record) for _ in range(450)]
    before = calls(server)

    results = adapter.write_back(updates)

    assert calls(server) - before == Counter({UPSERT: 3})
    assert [r.key for r in results] == [u.key for u in updates]
    assert {r.outcome for r in results} == {"ok"}
    stored = envelopes(server)
    for sent in updates:
        envelope = stored[sent.envelope_id]
        assert envelope["Status__c"] == "Sent"
        assert envelope["Opportunity__c"] == seeded["opportunity"]
        assert envelope["Record_Id__c"] == seeded["opportunity"]
        assert envelope["Name"] == sent.title[:80]
        assert envelope["Sent_At__c"].startswith("2026-11-30T09:00:00")
        assert envelope["Document_URL__c"] == sent.envelope_url


def test_1000_updates_take_five_calls(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    record = RecordRef("salesforce", "Case", seeded["case"])
    before = calls(server)

    results = adapter.write_back([update(record, "voided") for _ in range(1000)])

    made = calls(server) - before
    assert made == Counter({UPSERT: 5})
    assert sum(made.values()) <= 10
    assert {r.outcome for r in results} == {"ok"}


def test_updates_of_one_envelope_are_merged_and_rewritten(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    record = RecordRef("salesforce", "Account", seeded["globex"])
    envelope_id = f"env-{uuid.uuid4()}"
    sent = update(record, envelope_id=envelope_id)
    declined = update(record, "declined", envelope_id=envelope_id, sent_at=None)

    results = adapter.write_back([sent, declined])

    assert [r.outcome for r in results] == ["ok", "ok"]
    envelope = envelopes(server)[envelope_id]
    assert envelope["Status__c"] == "Declined"
    assert envelope["Sent_At__c"].startswith("2026-11-30T09:00:00")  # not blanked
    assert envelope["Account__c"] == seeded["globex"]

    [again] = adapter.write_back([update(record, "expired", envelope_id=envelope_id)])
    assert again.outcome == "ok"
    assert envelopes(server)[envelope_id]["Status__c"] == "Expired"
    assert sum(1 for e in envelopes(server) if e == envelope_id) == 1


def test_completed_pdf_is_attached_once_even_when_retried(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    record = RecordRef("salesforce", "Case", seeded["case"])
    envelope_id = f"env-{uuid.uuid4()}"
    completed = update(
        record,
        "completed",
        envelope_id=envelope_id,
        completed_at=datetime(2026, 11, 30, 10, 30, tzinfo=UTC),
        attachment=Attachment("Order form - signed.pdf", "application/pdf", PDF),
    )
    others = [update(record) for _ in range(3)]

    def ours() -> list[dict[str, Any]]:
        return [
            v
            for v in sandbox.content_versions_for(server.state, seeded["case"])
            if v.get("Description") == f"countersign:{envelope_id}"
        ]

    before = calls(server)
    results = adapter.write_back([*others, completed])

    assert {r.outcome for r in results} == {"ok"}
    assert calls(server) - before == Counter({UPSERT: 1, INSERT: 1})
    [version] = ours()
    assert base64.b64decode(version["VersionData"]) == PDF
    assert version["Title"] == "Order form - signed"
    assert version["PathOnClient"] == "Order form - signed.pdf"
    assert version["FirstPublishLocationId"] == seeded["case"]
    assert envelopes(server)[envelope_id]["Status__c"] == "Completed"
    assert envelopes(server)[envelope_id]["Completed_At__c"].startswith("2026-11-30T10:30:00")

    before = calls(server)
    [retried] = adapter.write_back(
        [
            update(
                record,
                "completed",
                envelope_id=envelope_id,
                attachment=completed.attachment,
                attempt=2,
            )
        ]
    )

    assert retried.outcome == "ok"
    assert calls(server) - before == Counter({UPSERT: 1, QUERY: 1})  # looked, did not insert
    assert len(ours()) == 1


def test_a_per_record_error_fails_only_that_update(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    gone = sandbox.insert(server.state, "Contact", {"LastName": "Lumbergh"})
    sandbox.delete(server.state, "Contact", gone)
    updates = [
        update(RecordRef("salesforce", "Opportunity", seeded["opportunity"])),
        update(RecordRef("salesforce", "Case", missing_id("500"))),
        update(RecordRef("salesforce", "Contact", gone)),
        update(RecordRef("salesforce", "Account", seeded["initech"])),
    ]
    before = calls(server)

    ok, missing, deleted, also_ok = adapter.write_back(updates)

    assert calls(server) - before == Counter({UPSERT: 1})
    assert (ok.outcome, also_ok.outcome) == ("ok", "ok")
    assert missing.outcome == "failed"
    assert "INVALID_CROSS_REFERENCE_KEY" in (missing.error or "")
    assert "Case__c" in (missing.error or "")
    assert deleted.outcome == "failed"
    assert "ENTITY_IS_DELETED" in (deleted.error or "")
    stored = envelopes(server)
    assert updates[0].envelope_id in stored
    assert updates[1].envelope_id not in stored


def test_a_locked_row_is_retried(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    sandbox.lock(server.state, seeded["globex"])
    try:
        [result] = adapter.write_back(
            [update(RecordRef("salesforce", "Account", seeded["globex"]))]
        )
    finally:
        sandbox.lock(server.state, seeded["globex"], locked=False)

    assert result.outcome == "retry"
    assert "UNABLE_TO_LOCK_ROW" in (result.error or "")


@pytest.mark.parametrize(("kind", "retry_after"), [("limit", 60.0), ("429", 7.0)])
def test_rate_limits_make_every_result_a_retry_without_sleeping(
    server: SandboxServer,
    adapter: SalesforceAdapter,
    seeded: dict[str, str],
    kind: str,
    retry_after: float,
) -> None:
    record = RecordRef("salesforce", "Opportunity", seeded["opportunity"])
    updates = [update(record) for _ in range(450)]
    updates[-1] = update(record, "completed", attachment=Attachment("s.pdf", "", PDF))
    server.set_faults(Faults(rate=1.0, kinds=(kind,), retry_after=7))
    before = calls(server)
    started = time.monotonic()

    results = adapter.write_back(updates)

    assert time.monotonic() - started < 5
    assert {r.outcome for r in results} == {"retry"}
    assert {r.retry_after for r in results} == {retry_after}
    assert calls(server) - before == Counter({UPSERT: 1})  # no more calls once limited
    with pytest.raises(RateLimited) as limited:
        adapter.fetch_record("Opportunity", seeded["opportunity"])
    assert limited.value.retry_after == retry_after


def test_server_errors_make_results_retries(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    server.set_faults(Faults(rate=1.0, kinds=("5xx",)))

    results = adapter.write_back(
        [update(RecordRef("salesforce", "Case", seeded["case"])) for _ in range(3)]
    )

    assert {(r.outcome, r.retry_after) for r in results} == {("retry", None)}


def test_attach_file(
    server: SandboxServer, adapter: SalesforceAdapter, seeded: dict[str, str]
) -> None:
    before = calls(server)

    file_id = adapter.attach_file(
        RecordRef("salesforce", "Account", seeded["globex"]),
        Attachment("NDA.pdf", "application/pdf", PDF),
    )

    assert file_id.startswith("068")
    assert calls(server) - before == Counter(
        {"salesforce POST /services/data/v59.0/sobjects/ContentVersion": 1}
    )
    [version] = [
        v
        for v in sandbox.content_versions_for(server.state, seeded["globex"])
        if v["Id"] == file_id
    ]
    assert version["Title"] == "NDA"
    assert base64.b64decode(version["VersionData"]) == PDF


# --- Sessions and OAuth ----------------------------------------------------------------------


def test_oauth_authorization_code_exchange(
    server: SandboxServer, tmp_path: Path, seeded: dict[str, str]
) -> None:
    tokens = oauth_tokens(server, tmp_path)

    assert tokens["token_type"] == "Bearer"
    assert tokens["instance_url"] == server.url
    assert tokens["refresh_token"]
    assert tokens["id"].startswith("https://login.salesforce.com/id/00D")
    expected = hmac.new(
        sandbox.SANDBOX_CLIENT_SECRET.encode(),
        (tokens["id"] + tokens["issued_at"]).encode(),
        hashlib.sha256,
    ).digest()
    assert base64.b64decode(tokens["signature"]) == expected
    adapter = SalesforceAdapter(connect(server, access_token=tokens["access_token"]))
    assert adapter.fetch_record("Account", seeded["initech"])["Account.Name"] == "Initech"


def test_authlib_code_exchange_with_http_basic_client_auth(
    server: SandboxServer, tmp_path: Path
) -> None:
    from authlib.integrations.requests_client import OAuth2Session

    redirect_uri = "https://countersign.example.test/crm/oauth/callback"
    oauth = OAuth2Session(
        sandbox.SANDBOX_CLIENT_ID,
        sandbox.SANDBOX_CLIENT_SECRET,
        redirect_uri=redirect_uri,
        scope="api refresh_token",
    )
    url, state = oauth.create_authorization_url(f"{server.url}/services/oauth2/authorize")
    verify = ca_file(server, tmp_path)
    redirect = requests.get(url, allow_redirects=False, verify=verify, timeout=10)
    callback = redirect.headers["Location"]
    assert parse_qs(urlsplit(callback).query)["state"] == [state]

    token = oauth.fetch_token(
        f"{server.url}/services/oauth2/token",
        authorization_response=callback,
        verify=verify,
        timeout=10,
    )

    assert token["instance_url"] == server.url
    assert token["refresh_token"]
    wrong = OAuth2Session(sandbox.SANDBOX_CLIENT_ID, "wrong-secret", redirect_uri=redirect_uri)
    url, _ = wrong.create_authorization_url(f"{server.url}/services/oauth2/authorize")
    callback = requests.get(url, allow_redirects=False, verify=verify, timeout=10).headers[
        "Location"
    ]
    with pytest.raises(Exception, match="invalid_client"):
        wrong.fetch_token(
            f"{server.url}/services/oauth2/token",
            authorization_response=callback,
            verify=verify,
            timeout=10,
        )


def test_an_expired_session_is_refreshed_once(
    server: SandboxServer, tmp_path: Path, seeded: dict[str, str]
) -> None:
    tokens = oauth_tokens(server, tmp_path)
    sandbox.expire_token(server.state, tokens["access_token"])
    stored: list[dict[str, Any]] = []
    connection = connect(
        server,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_id=sandbox.SANDBOX_CLIENT_ID,
        client_secret=sandbox.SANDBOX_CLIENT_SECRET,
        token_url=f"{server.url}/services/oauth2/token",  # as the connector stores it
    )
    connection.on_credentials = stored.append
    adapter = SalesforceAdapter(connection)
    before = calls(server)

    values = adapter.fetch_record("Case", seeded["case"])

    assert values["Account.Name"] == "Initech"
    assert (calls(server) - before)["salesforce:oauth POST /services/oauth2/token"] == 1
    [new] = stored
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] == tokens["refresh_token"]
    assert new["client_secret"] == sandbox.SANDBOX_CLIENT_SECRET
    assert connection.credentials == new
    [result] = adapter.write_back([update(RecordRef("salesforce", "Case", seeded["case"]))])
    assert result.outcome == "ok"
    assert len(stored) == 1  # the new token keeps working


def test_a_failed_refresh_is_a_crm_error(
    server: SandboxServer, tmp_path: Path, seeded: dict[str, str]
) -> None:
    tokens = oauth_tokens(server, tmp_path)
    sandbox.expire_token(server.state, tokens["access_token"])
    stored: list[dict[str, Any]] = []
    bad_refresh = connect(
        server,
        access_token=tokens["access_token"],
        refresh_token="not-a-refresh-token",
        client_id=sandbox.SANDBOX_CLIENT_ID,
        client_secret=sandbox.SANDBOX_CLIENT_SECRET,
    )
    bad_refresh.on_credentials = stored.append

    with pytest.raises(CrmError, match="refused to refresh"):
        SalesforceAdapter(bad_refresh).fetch_record("Case", seeded["case"])
    with pytest.raises(CrmError, match="no refresh token"):
        SalesforceAdapter(connect(server, access_token=tokens["access_token"])).write_back(
            [update(RecordRef("salesforce", "Case", seeded["case"]))]
        )
    assert stored == []


# --- Webhooks --------------------------------------------------------------------------------


def test_webhook_signatures() -> None:
    secret = "whsec-apex-callout"
    body = b'{"event":"opportunity.closed","recordId":"0065g00000AbCdE"}'
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    headers = webhooks.signed_headers(body, secret, now=now)

    assert SalesforceAdapter.verify_webhook(headers, body, secret, now=now)
    assert SalesforceAdapter.verify_webhook(
        {k.lower(): v for k, v in headers.items()}, body, secret, now=now + timedelta(minutes=4)
    )
    assert not SalesforceAdapter.verify_webhook(headers, body + b" ", secret, now=now)
    assert not SalesforceAdapter.verify_webhook(headers, body, "another-secret", now=now)
    assert not SalesforceAdapter.verify_webhook(
        headers, body, secret, now=now + timedelta(minutes=6)
    )
    assert not SalesforceAdapter.verify_webhook(
        headers, body, secret, now=now - timedelta(minutes=6)
    )
    tampered = dict(headers)
    tampered[webhooks.TIMESTAMP_HEADER] = str(int(now.timestamp()) + 1)
    assert not SalesforceAdapter.verify_webhook(tampered, body, secret, now=now)
    assert not SalesforceAdapter.verify_webhook(
        {webhooks.SIGNATURE_HEADER: headers[webhooks.SIGNATURE_HEADER]}, body, secret, now=now
    )
    assert not SalesforceAdapter.verify_webhook({}, body, secret, now=now)
    assert not SalesforceAdapter.verify_webhook(headers, body, "", now=now)
