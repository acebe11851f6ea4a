"""CRM API calls per 1,000 envelope status updates, batched versus one call per update.

Both adapters talk to the local simulators over HTTPS (the same server the tests use); the
simulator counts every request. The batched run hands the adapter its largest batch each time;
the baseline delivers the same updates one at a time, in the same run.
The one-call-per-update baseline runs on a sample (--baseline, default 100) and is scaled to
1,000. Usage: python bench/crm_writeback.py [--updates N] [--baseline N]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_adapters.base import ConnectionInfo, RecordRef, StatusUpdate, adapter_for
from crm_adapters.sandbox import SandboxServer

TARGETS = {"salesforce": 10, "zendesk": 20}


def connection(system: str, server: SandboxServer) -> ConnectionInfo:
    token = {"zendesk": "sandbox-zendesk-token", "salesforce": "sandbox-salesforce-token"}[system]
    base = {"zendesk": "https://acme.zendesk.com", "salesforce": "https://acme.my.salesforce.com"}[
        system
    ]
    return ConnectionInfo(
        system=system,
        base_url=base,
        api_base_url=server.url,
        credentials={"access_token": token},
        settings={"ca_bundle": server.ca_pem},
    )


def record_for(system: str, server: SandboxServer) -> RecordRef:
    if system == "zendesk":
        return RecordRef("zendesk", "ticket", "1")
    opportunity = adapter_for(connection(system, server)).list_records(
        "Opportunity", "Initech", limit=1
    )[0]
    return RecordRef("salesforce", "Opportunity", str(opportunity["Opportunity.Id"]))


def updates(record: RecordRef, count: int) -> list[StatusUpdate]:
    statuses = ("sent", "completed", "declined", "voided")
    return [
        StatusUpdate(
            key=str(uuid.uuid4()),
            envelope_id=str(uuid.uuid4()),
            record=record,
            status=statuses[i % len(statuses)],
            title=f"Bench envelope {i}",
            summary="Benchmark.",
        )
        for i in range(count)
    ]


def calls(server: SandboxServer, system: str, run: callable) -> tuple[int, float]:  # type: ignore[valid-type]
    before = server.state.count(system)
    started = time.perf_counter()
    run()
    return server.state.count(system) - before, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=100)
    args = parser.parse_args()
    print(f"{args.updates} status updates per CRM, local simulators over HTTPS")
    header = ("CRM", "batched calls", "one per update", "target", "batched s", "sample s")
    print(
        f"{header[0]:<12}{header[1]:>15}{header[2]:>16}{header[3]:>8}{header[4]:>11}{header[5]:>10}"
    )
    with SandboxServer() as server:
        for system in ("salesforce", "zendesk"):
            adapter = adapter_for(connection(system, server))
            record = record_for(system, server)
            batch = updates(record, args.updates)

            def batched(adapter=adapter, batch=batch) -> None:
                for start in range(0, len(batch), adapter.max_batch):
                    results = adapter.write_back(batch[start : start + adapter.max_batch])
                    assert all(r.outcome == "ok" for r in results), results[:3]

            def single(adapter=adapter, record=record) -> None:
                for update in updates(record, args.baseline):
                    adapter.write_back([update])

            batched_calls, batched_seconds = calls(server, system, batched)
            single_calls, single_seconds = calls(server, system, single)
            scale, baseline_scale = 1000 / args.updates, 1000 / args.baseline
            print(
                f"{system:<12}{batched_calls * scale:>15.0f}{single_calls * baseline_scale:>16.0f}"
                f"{TARGETS[system]:>8}{batched_seconds:>11.2f}{single_seconds:>10.2f}"
            )


if __name__ == "__main__":
    main()
