"""A simple-salesforce client per Salesforce connection.

simple-salesforce always builds ``https://{host[:port]}/services/data/v{version}/...`` from the
``instance_url`` it is given, and sends everything through the ``requests.Session`` passed in.
So the session carries what the connection needs:

- TLS trust: ``settings["ca_bundle"]`` (a PEM string, e.g. the sandbox's throw-away CA) is
  written once per process to a private temporary folder, keyed by its hash, and becomes
  ``session.verify`` and every request's ``verify`` (requests would otherwise let
  ``REQUESTS_CA_BUNDLE`` in the environment override the session); without it the default
  trust store is used.
- Timeouts: simple-salesforce passes no timeout to most calls, so the session supplies a
  default (connect, read) to every request that does not set one.
- The API address: ``connection.api_url`` is the instance URL. When it is plain ``http`` (a
  loopback sandbox without TLS) or carries a path (a proxy), a transport adapter mounted on the
  ``https://host:port`` origin simple-salesforce uses rewrites the prefix to the real address.
- Retry-After: a response hook remembers, per thread, the last response, so a 429 or
  REQUEST_LIMIT_EXCEEDED can be turned into a retry delay (simple-salesforce's exceptions keep
  only the status and body).
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from crm_adapters.base import (
    ConnectionInfo,
    CrmError,
    ca_bundle_file,
    parse_retry_after,
)

API_VERSION = "59.0"
#: (connect, read) seconds; ``settings["timeout"]`` overrides the read timeout.
DEFAULT_TIMEOUT = (5.0, 60.0)
#: When a rate-limit answer carries no usable Retry-After (Salesforce's 403 never does).
USER_AGENT = "Countersign (simple-salesforce)"


# Shared with the other adapters (crm_adapters.base): ca_bundle_file, parse_retry_after.


class ApiAddressAdapter(HTTPAdapter):
    """Sends requests for ``origin`` to ``target`` instead (same path and query)."""

    def __init__(self, origin: str, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.origin, self.target = origin.rstrip("/"), target.rstrip("/")

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        if url.lower().startswith(self.origin.lower() + "/"):
            request.url = self.target + url[len(self.origin) :]
        return super().send(request, *args, **kwargs)


class SalesforceSession(requests.Session):
    """A session with a default timeout and a per-thread memory of the last response."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self._last = threading.local()
        self.headers["User-Agent"] = USER_AGENT
        self.hooks["response"].append(self._remember)

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) <= 6:  # timeout is request()'s ninth positional parameter
            kwargs.setdefault("timeout", self.timeout)
        if self.verify is not True and len(args) <= 11:  # verify is the fourteenth
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify; a
            # per-request verify is the one setting the environment does not replace.
            kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = response

    @property
    def last_response(self) -> requests.Response | None:
        response: requests.Response | None = getattr(self._last, "response", None)
        return response

    def retry_after(self) -> float:
        response = self.last_response
        # (not ``if response``: a Response is falsy when its status is an error)
        header = response.headers.get("Retry-After") if response is not None else None
        return parse_retry_after(header)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def instance_origin(connection: ConnectionInfo) -> str:
    """The ``https://host[:port]`` simple-salesforce will build its URLs on."""
    parts = urlsplit(connection.api_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CrmError(f"the Salesforce API address {connection.api_url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise CrmError(f"the Salesforce API address {connection.api_url!r} must use https")
    port = f":{parts.port}" if parts.port not in (None, 443) else ""
    return f"https://{parts.hostname}{port}"


def make_session(connection: ConnectionInfo) -> SalesforceSession:
    settings = connection.settings
    read_timeout = float(settings.get("timeout") or DEFAULT_TIMEOUT[1])
    session = SalesforceSession((DEFAULT_TIMEOUT[0], read_timeout))
    pem = settings.get("ca_bundle")
    if pem:
        session.verify = ca_bundle_file(str(pem))
    origin = instance_origin(connection)
    if origin != connection.api_url:
        session.mount(origin + "/", ApiAddressAdapter(origin, connection.api_url))
    return session


def make_client(connection: ConnectionInfo, session: SalesforceSession) -> Salesforce:
    """simple-salesforce on the connection's instance with its access token."""
    token = connection.credentials.get("access_token")
    if not token:
        raise CrmError("the Salesforce connection has no access token; connect it again")
    return Salesforce(
        instance_url=connection.api_url,
        session_id=str(token),
        session=session,
        version=str(connection.settings.get("api_version") or API_VERSION),
    )


def token_url(connection: ConnectionInfo) -> str:
    """Where a refresh token is exchanged: the token endpoint the connection was made with
    (``credentials["token_url"]``, e.g. https://login.salesforce.com/services/oauth2/token),
    else the instance's own."""
    stored = connection.credentials.get("token_url")
    if isinstance(stored, str) and stored:
        parts = urlsplit(stored)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and _is_loopback(parts.hostname or "")
        )
        if not secure or not parts.hostname:
            raise CrmError(f"the Salesforce token URL {stored!r} must use https")
        return stored
    return f"{connection.api_url}/services/oauth2/token"
