"""Local simulators of the Zendesk and Salesforce REST APIs, as a real HTTP(S) server.

One Flask app serves both (Zendesk under /api/v2, Salesforce under /services), with seeded demo
data, per-endpoint call counts, and fault injection (latency, 5xx, 429 with Retry-After,
Salesforce REQUEST_LIMIT_EXCEEDED) set by configuration. The embedded default runs it so the demo
works offline; tests start it on loopback and talk to it with the real zenpy and
simple-salesforce clients.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import random
import ssl
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class Faults:
    """Fault injection: each call fails with probability ``rate``, spread over the kinds."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("5xx", "429", "limit")  # limit = Salesforce REQUEST_LIMIT_EXCEEDED
    retry_after: int = 1
    latency_ms: int = 0
    seed: int | None = None


@dataclass
class SandboxState:
    """Everything the simulators hold, behind one lock."""

    faults: Faults = field(default_factory=Faults)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.RLock = field(default_factory=threading.RLock)
    data: dict[str, Any] = field(default_factory=dict)
    random: random.Random = field(default_factory=random.Random)

    def count(self, system: str) -> int:
        return sum(n for key, n in self.calls.items() if key.startswith(system))


def create_sandbox_app(faults: Faults | None = None, *, base_url: str = "") -> Flask:
    """The simulator app; ``base_url`` is the address clients use (for URLs in responses)."""
    from crm_adapters.sandbox import salesforce, zendesk

    app = Flask("countersign-sandbox")
    state = SandboxState(faults=faults or Faults())
    if state.faults.seed is not None:
        state.random.seed(state.faults.seed)
    app.extensions["sandbox"] = state
    app.config["SANDBOX_BASE_URL"] = base_url
    zendesk.seed(state)
    salesforce.seed(state)
    app.register_blueprint(zendesk.blueprint)
    app.register_blueprint(salesforce.blueprint)
    app.before_request(_count_and_inject_faults)
    app.add_url_rule("/_sandbox/faults", view_func=_set_faults, methods=["PUT"])
    app.add_url_rule("/_sandbox/calls", view_func=_calls, methods=["GET"])
    return app


def sandbox_state(app: Flask) -> SandboxState:
    state: SandboxState = app.extensions["sandbox"]
    return state


def _count_and_inject_faults() -> Response | None:
    from flask import current_app

    if request.path.startswith("/_sandbox/"):
        return None
    state = sandbox_state(current_app)
    system = "zendesk" if request.path.startswith("/api/v2") else "salesforce"
    if "/oauth" in request.path:
        system += ":oauth"
    with state.lock:
        state.calls[f"{system} {request.method} {request.path}"] += 1
        faults = state.faults
        roll = state.random.random()
        kind = state.random.choice(faults.kinds) if faults.kinds else "5xx"
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if roll >= faults.rate or system.endswith(":oauth"):
        return None
    if kind == "429" or (kind == "limit" and system == "zendesk"):
        response = jsonify({"error": "APIRateLimitExceeded", "description": "Rate limit exceeded"})
        response.status_code = 429
        response.headers["Retry-After"] = str(faults.retry_after)
        return response
    if kind == "limit":
        response = jsonify(
            [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        )
        response.status_code = 403
        return response
    response = jsonify({"error": "ServiceUnavailable", "description": "Try again later"})
    response.status_code = 503
    return response


def _set_faults() -> Response:
    from flask import current_app

    body = request.get_json(force=True) or {}
    state = sandbox_state(current_app)
    with state.lock:
        state.faults = Faults(
            **{
                **state.faults.__dict__,
                **body,
                "kinds": tuple(body.get("kinds", state.faults.kinds)),
            }
        )
    return jsonify(state.faults.__dict__)


def _calls() -> Response:
    from flask import current_app

    state = sandbox_state(current_app)
    with state.lock:
        return jsonify(dict(state.calls))


@dataclass
class Tls:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost."""

    ca_pem: bytes
    cert_file: Path
    key_file: Path


def make_tls(folder: Path) -> Tls:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Countersign sandbox CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / "sandbox.crt", folder / "sandbox.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Tls(ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file)


class SandboxServer:
    """The simulators on a real socket, in a background thread: ``with SandboxServer() as s:``."""

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        port: int = 0,
        tls: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="countersign-sandbox-"))
        self.tls = make_tls(self.folder) if tls else None
        context = None
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per simulated request
        self.app = create_sandbox_app(faults)
        self.server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, ssl_context=context
        )
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://{host}:{self.server.server_port}"
        self.app.config["SANDBOX_BASE_URL"] = self.url
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="crm-sandbox", daemon=True
        )

    @property
    def state(self) -> SandboxState:
        return sandbox_state(self.app)

    @property
    def ca_pem(self) -> str:
        return self.tls.ca_pem.decode() if self.tls else ""

    def set_faults(self, faults: Faults) -> None:
        with self.state.lock:
            self.state.faults = faults
            if faults.seed is not None:
                self.state.random.seed(faults.seed)

    def start(self) -> SandboxServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
