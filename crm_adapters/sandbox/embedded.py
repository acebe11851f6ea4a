"""The sandbox inside the embedded default: served over HTTPS beside the app, started with the
app's first request, with TLS material kept in instance/sandbox so stored connections trust it.
Also `flask --app wsgi crm sandbox` to run it on its own."""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

import click
from flask import Flask
from werkzeug.serving import make_server

from crm_adapters.sandbox import SandboxState, Tls, create_sandbox_app, make_tls, sandbox_state

log = logging.getLogger(__name__)
EXTENSION = "countersign.sandbox"


def load_or_make_tls(folder: Path) -> Tls:
    ca, cert, key = folder / "ca.pem", folder / "sandbox.crt", folder / "sandbox.key"
    if ca.exists() and cert.exists() and key.exists():
        return Tls(ca.read_bytes(), cert, key)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    tls = make_tls(folder)
    ca.write_bytes(tls.ca_pem)
    return tls


class EmbeddedSandbox:
    def __init__(self, app: Flask, port: int) -> None:
        settings = app.extensions["countersign.settings"]
        self.tls = load_or_make_tls(settings.instance_path / "sandbox")
        self.port = port
        self.url = f"https://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.started = False
        self.state: SandboxState | None = None

    def start(self) -> SandboxState | None:
        """Serve the simulators (once); returns their state, for the demo pages."""
        with self.lock:
            if self.started:
                return self.state
            self.started = True
            try:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
                sandbox = create_sandbox_app(base_url=self.url)
                server = make_server(
                    "127.0.0.1", self.port, sandbox, threaded=True, ssl_context=context
                )
            except Exception as err:  # noqa: BLE001 - the demo simulators must never break the app
                log.warning("CRM sandbox not started on port %s: %s", self.port, err)
                return None
            self.state = sandbox_state(sandbox)
            threading.Thread(target=server.serve_forever, name="crm-sandbox", daemon=True).start()
            log.info("CRM sandbox (Zendesk and Salesforce simulators) at %s", self.url)
            return self.state


def init_app(app: Flask) -> None:
    crm_group = app.cli.commands.get("crm")
    if isinstance(crm_group, click.Group):
        crm_group.add_command(run_sandbox)
    settings = app.extensions["countersign.settings"]
    if not settings.crm_sandbox:
        return
    sandbox = EmbeddedSandbox(app, settings.port + 1)
    app.extensions[EXTENSION] = {"url": sandbox.url, "ca_pem": sandbox.tls.ca_pem.decode()}
    app.extensions["countersign.sandbox_url"] = sandbox.url
    app.extensions["countersign.sandbox_start"] = sandbox.start
    if not app.config["TESTING"]:

        def start_with_first_request() -> None:
            sandbox.start()  # a before_request hook must return None, not the state

        app.before_request(start_with_first_request)


@click.command("sandbox")
@click.option("--port", type=int, default=5001, show_default=True)
def run_sandbox(port: int) -> None:
    """Serve the Zendesk and Salesforce simulators over HTTPS (CA in instance/sandbox/ca.pem)."""
    from flask import current_app

    tls = load_or_make_tls(current_app.extensions["countersign.settings"].instance_path / "sandbox")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    url = f"https://127.0.0.1:{port}"
    click.echo(f"CRM sandbox at {url} (trust {tls.cert_file.parent / 'ca.pem'})")
    make_server(
        "127.0.0.1", port, create_sandbox_app(base_url=url), threaded=True, ssl_context=context
    ).serve_forever()
