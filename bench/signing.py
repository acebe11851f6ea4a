"""Median latency of `complete` for the last signer, including sealing, against a bare pyHanko
seal of the same PDF in the same run.

The app runs in-process on a throw-away SQLite instance with inline jobs, so the last signer's
request renders the document, stamps both signatures, appends the certificate, seals it and stores
it before it answers. Usage: python bench/signing.py [--envelopes N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from connector import migrate
from connector.app import create_app
from connector.db import unit_of_work
from connector.envelopes import completion
from connector.envelopes.documents import evaluation_of, render_document
from connector.envelopes.service import recipients_of
from connector.evidence.certificate import append_pages, certificate_pdf
from connector.evidence.keys import seal_identity
from connector.evidence.seal import seal_pdf
from connector.evidence.stamp import stamp_signatures
from connector.models import Envelope, Org
from tests.signing_flow import SAAS, SAAS_FIELDS, sign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envelopes", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        database = f"sqlite:///{instance}/bench.db"
        migrate.upgrade(database)
        app = create_app(
            {"INSTANCE_PATH": instance, "DATABASE_URL": database, "LOG_LEVEL": "WARNING"}
        )
        runner = app.test_cli_runner()
        runner.invoke(args=["org", "create", "--slug", "bench", "--name", "Bench Inc."])
        key = runner.invoke(
            args=["apikey", "create", "--org", "bench", "--role", "admin"]
        ).stdout.strip()
        auth = {"Authorization": f"Bearer {key}"}
        client = app.test_client()
        template = client.post(
            "/api/v1/templates", json={"name": "Bench", "definition": SAAS}, headers=auth
        ).json
        timings, last_envelope = [], ""
        for _ in range(args.envelopes + 1):  # the first one warms caches and makes the seal key
            envelope = client.post(
                "/api/v1/envelopes",
                headers=auth,
                json={
                    "template_id": template["id"],
                    "fields": SAAS_FIELDS,
                    "recipients": [
                        {
                            "name": "Peter Gibbons",
                            "email": "p@x.test",
                            "role": "customer",
                            "delivery": "embedded",
                        },
                        {
                            "name": "Ada Admin",
                            "email": "a@x.test",
                            "role": "provider",
                            "delivery": "embedded",
                        },
                    ],
                },
            ).json
            sessions = []
            for recipient in envelope["recipients"]:
                url = client.post(
                    f"/api/v1/envelopes/{envelope['id']}/recipients/{recipient['id']}/signing-url",
                    json={},
                    headers=auth,
                ).json["url"]
                sessions.append(
                    client.get(f"/api/v1/signing/{url.split('/s/')[1]}").json["session_token"]
                )
            sign(client, sessions[0], fields={"po_number": "PO-1"})
            client.post(f"/api/v1/signing/{sessions[1]}/consent", json={})
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/signing/{sessions[1]}/complete",
                json={"signature": {"kind": "typed", "value": "Ada Admin"}},
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert response.json["envelope_status"] == "completed", response.json
            last_envelope = envelope["id"]
        timings = timings[1:]

        with app.app_context(), unit_of_work() as session:
            envelope = session.scalars(
                select(Envelope).where(Envelope.id == uuid.UUID(last_envelope))
            ).one()
            org = session.get_one(Org, envelope.org_id)
            recipients = recipients_of(session, envelope.id)
            rendered = render_document(
                session, envelope, draft=False, evaluation=evaluation_of(session, envelope)
            )
            stamped = stamp_signatures(
                rendered.pdf,
                completion._manifestations(session, envelope, recipients, rendered.signature_boxes),
            )
            data = completion._certificate_data(
                session,
                envelope,
                org,
                recipients,
                None,
                "0" * 64,
                completion.audit.verify_chain(session, f"envelope:{envelope.id}"),
            )
            unsealed = append_pages(stamped, certificate_pdf(data))
            identity = seal_identity(session, org)
            seal_pdf(unsealed, identity, reason="warm-up")
            bare = []
            for _ in range(args.envelopes):
                started = time.perf_counter()
                seal_pdf(unsealed, identity, reason="bench")
                bare.append((time.perf_counter() - started) * 1000)

        ours, baseline = statistics.median(timings), statistics.median(bare)
        print(f"{args.envelopes} envelopes, in-process, SQLite, inline jobs; medians")
        print(
            f"complete (last signer, render + stamp + certificate + seal + store): {ours:8.1f} ms"
        )
        size = f"{len(unsealed) // 1024} KB"
        print(f"bare pyHanko seal of the same {size} PDF:{'':>18}{baseline:8.1f} ms")
        print(f"ratio: {ours / baseline:.1f}x")


if __name__ == "__main__":
    main()
