"""`make run` on a fresh copy with no environment: it migrates, seeds, serves and is ready."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser

from tests.support import free_port

pytestmark = pytest.mark.e2e
READY_WITHIN_SECONDS = 60  # the bound of the wait, not a timing assertion


def fresh_copy(project_root: Path, destination: Path) -> Path:
    """The files a clone has (tracked and new, not ignored), with their modification times."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=project_root,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = project_root / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> Iterator[dict]:
    checkout = fresh_copy(project_root, tmp_path_factory.mktemp("clone"))
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    }
    log = (checkout / "make-run.log").open("w+")
    process = subprocess.Popen(
        ["make", "run", f"VENV={sys.prefix}", f"PORT={port}"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = wait_until_ready(base, process)
        log.seek(0)
        yield {"base": base, "ready": ready, "output": log.read(), "checkout": checkout}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def wait_until_ready(base: str, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode}")
        try:
            response = requests.get(f"{base}/readyz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    pytest.fail(f"/readyz did not answer 200 within {READY_WITHIN_SECONDS} s")


def test_make_run_is_ready_with_every_check_ok(served: dict) -> None:
    assert served["ready"]["status"] == "ok"
    assert {name: c["status"] for name, c in served["ready"]["checks"].items()} == {
        "database": "ok",
        "storage": "ok",
    }
    instance = served["checkout"] / "instance"
    assert (instance / "countersign.db").is_file()
    assert stat.S_IMODE((instance / "master_key").stat().st_mode) == 0o600


def test_make_run_prints_how_to_sign_in_and_the_key_works(served: dict) -> None:
    output = served["output"]
    assert "Demo organization 'demo' (Demo Company) is ready." in output
    key = output.split("admin: admin@demo.countersign.test  API key: ")[1].split()[0]

    me = requests.get(
        f"{served['base']}/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=5
    )

    assert me.status_code == 200
    assert me.json()["org"]["slug"] == "demo"


def test_the_home_page_in_a_browser(served: dict, browser: Browser) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )

    page.goto(served["base"] + "/")

    assert page.locator("h1").inner_text() == "Countersign"
    facts = page.locator("dl.facts").inner_text()
    assert "inline" in facts
    assert "sqlite" in facts
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(246, 247, 250)", "the stylesheet loaded under the CSP"
    page.get_by_role("link", name="Readiness checks").click()
    assert '"status":"ok"' in page.locator("body").inner_text().replace(" ", "")
    assert problems == []
    page.close()


def test_sent_mail_is_readable_at_dev_mail(served: dict, browser: Browser) -> None:
    output = served["output"]
    key = output.split("admin: admin@demo.countersign.test  API key: ")[1].split()[0]
    auth = {"Authorization": f"Bearer {key}"}
    base = served["base"]
    templates = requests.get(f"{base}/api/v1/templates", headers=auth, timeout=10).json()["items"]
    saas = next(t for t in templates if t["name"].startswith("SaaS"))
    sent = requests.post(
        f"{base}/api/v1/envelopes",
        headers=auth,
        timeout=30,
        json={
            "template_id": saas["id"],
            "fields": {
                "plan": "pro",
                "seats": 5,
                "customer_company": "Initech",
                "customer_name": "Peter",
                "customer_email": "peter@initech.test",
                "effective_date": "2026-12-01",
            },
            "recipients": [
                {"name": "Peter Gibbons", "email": "peter@initech.test", "role": "customer"},
                {
                    "name": "Ada Admin",
                    "email": "admin@demo.countersign.test",
                    "role": "provider",
                    "routing_order": 2,
                },
            ],
        },
    )
    assert sent.status_code == 201, sent.text

    page = browser.new_page()
    page.goto(f"{base}/dev/mail")
    page.get_by_role("link", name=re.compile("SaaS subscription upgrade amendment")).first.click()
    assert "peter@initech.test" in page.locator("dl.facts").inner_text()
    signing_link = page.locator(".mail-links a").first
    assert "/s/" in signing_link.get_attribute("href")
    signing_link.click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/s/")
    page.close()


def test_the_demo_works_offline_with_the_crm_sandbox(served: dict) -> None:
    """`make run` serves the Zendesk and Salesforce simulators and connects the demo org to them."""
    key = served["output"].split("admin: admin@demo.countersign.test  API key: ")[1].split()[0]
    auth = {"Authorization": f"Bearer {key}"}
    base = served["base"]
    templates = requests.get(f"{base}/api/v1/templates", headers=auth, timeout=10).json()["items"]
    saas = next(t for t in templates if t["name"].startswith("SaaS"))
    prefill = requests.post(
        f"{base}/api/v1/templates/{saas['id']}/prefill",
        headers=auth,
        timeout=30,
        json={"crm": {"system": "zendesk", "object": "ticket", "record_id": "1"}},
    )
    assert prefill.status_code == 200, prefill.text
    assert prefill.json()["fields"]["customer_name"]["value"] == "Peter Gibbons"
    connections = requests.get(f"{base}/api/v1/crm-connections", headers=auth, timeout=10).json()[
        "items"
    ]
    assert {c["system"] for c in connections} == {"zendesk", "salesforce"}
