"""Two `complete` calls racing for the same recipient: exactly one wins.

A real threaded HTTP server over the suite's own database (PostgreSQL when configured), so the
two requests run in two threads with two connections, as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from connector import migrate
from connector.app import create_app
from tests.conftest import TEST_DATABASE_URL
from tests.databases import created_postgres_database
from tests.signing_flow import SAAS, SAAS_FIELDS, drawn_signature
from tests.support import free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("race")
    if TEST_DATABASE_URL:
        database = created_postgres_database(TEST_DATABASE_URL)
        url = database.__enter__()
    else:
        database, url = None, f"sqlite:///{folder / 'race.db'}"
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder), "TESTING": True})
    result = app.test_cli_runner().invoke(
        args=["org", "create", "--slug", "race", "--name", "Race"]
    )
    assert result.exit_code == 0
    key = (
        app.test_cli_runner()
        .invoke(args=["apikey", "create", "--org", "race", "--role", "admin"])
        .stdout.strip()
    )
    port = free_port()
    http = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", key
    http.shutdown()
    if database is not None:
        app.extensions["countersign.db"].engine.dispose()
        database.__exit__(None, None, None)


def _ready_signer(base: str, key: str) -> str:
    auth = {"Authorization": f"Bearer {key}"}
    template = requests.post(
        f"{base}/api/v1/templates",
        json={"name": "Race", "definition": SAAS},
        headers=auth,
        timeout=30,
    ).json()
    envelope = requests.post(
        f"{base}/api/v1/envelopes",
        headers=auth,
        timeout=30,
        json={
            "template_id": template["id"],
            "fields": SAAS_FIELDS,
            "recipients": [
                {"name": "P", "email": "p@x.test", "role": "customer", "delivery": "embedded"},
                {
                    "name": "Q",
                    "email": "q@x.test",
                    "role": "provider",
                    "routing_order": 2,
                    "delivery": "embedded",
                },
            ],
        },
    ).json()
    rid = envelope["recipients"][0]["id"]
    url = requests.post(
        f"{base}/api/v1/envelopes/{envelope['id']}/recipients/{rid}/signing-url",
        json={},
        headers=auth,
        timeout=30,
    ).json()["url"]
    session = requests.get(f"{base}/api/v1/signing/{url.split('/s/')[1]}", timeout=30).json()[
        "session_token"
    ]
    requests.post(f"{base}/api/v1/signing/{session}/consent", json={}, timeout=30)
    return str(session)


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_completes_one_succeeds(server: tuple[str, str], attempt: int) -> None:
    base, key = server
    session = _ready_signer(base, key)
    barrier = threading.Barrier(2)
    codes: list[int] = []
    body: dict[str, Any] = {
        "fields": {"po_number": f"PO-{attempt}"},
        "signature": {"kind": "drawn", "value": drawn_signature()},
    }

    def complete() -> None:
        barrier.wait()
        codes.append(
            requests.post(
                f"{base}/api/v1/signing/{session}/complete", json=body, timeout=60
            ).status_code
        )

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert sorted(codes) == [200, 409]
