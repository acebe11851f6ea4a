"""A zenpy client per Zendesk connection: its own requests session (OAuth bearer token, TLS
trust, timeouts), its own API address, and a 429 that raises instead of sleeping.

How the client is pointed at a connection's API (sandbox, proxy) without touching the
process-wide ``ZENPY_FORCE_SCHEME`` / ``ZENPY_FORCE_NETLOC`` variables: zenpy keeps building
its usual ``https://{subdomain}.zendesk.com/api/v2/...`` URLs, and the session this module
hands it has a transport adapter mounted on exactly that origin which rewrites the prefix to
``connection.api_url`` before sending. The rewrite lives in the session, so each connection
(each tenant) has its own, nothing global changes, and every zenpy code path (endpoints,
uploads, job statuses) is covered without subclassing zenpy or patching its URL builder.

How a 429 never sleeps: zenpy's ``_call_api`` loops ``sleep(1)`` for as long as Retry-After
says. A response hook on the session raises :class:`~crm_adapters.base.RateLimited` (with the
Retry-After seconds) before zenpy ever sees the 429. ``ratelimit_budget=0`` is a second guard:
should a 429 ever reach zenpy, it raises ``RatelimitBudgetExceeded`` before its first sleep.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
from zenpy import Zenpy

from crm_adapters.base import (
    ConnectionInfo,
    CrmError,
    RateLimited,
    ca_bundle_file,
    parse_retry_after,
)

#: (connect, read) seconds; ``settings["timeout"]`` overrides the read timeout.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: When a 429 carries no usable Retry-After (Zendesk always sends one).
USER_AGENT = "Countersign (zenpy)"


# Shared with the other adapters (crm_adapters.base): ca_bundle_file, parse_retry_after.


def zendesk_host(base_url: str) -> tuple[str, str]:
    """``https://acme.zendesk.com`` → (``acme``, ``zendesk.com``): zenpy's subdomain and domain."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if "." not in host:
        raise CrmError(
            f"the Zendesk address {base_url!r} has no subdomain (https://acme.zendesk.com)"
        )
    subdomain, domain = host.split(".", 1)
    if parts.port:
        domain = f"{domain}:{parts.port}"
    return subdomain, domain


def zenpy_origin(base_url: str) -> str:
    """The scheme and host zenpy puts in front of every path, as its ``_build_url`` does."""
    subdomain, domain = zendesk_host(base_url)
    scheme = os.environ.get("ZENPY_FORCE_SCHEME", "https")
    netloc = os.environ.get("ZENPY_FORCE_NETLOC") or f"{subdomain}.{domain}"
    return f"{scheme}://{netloc}"


class ConnectionAdapter(HTTPAdapter):
    """The transport for one connection: sends requests for ``origin`` to ``target`` (same
    path and query), e.g. https://acme.zendesk.com/api/v2/tickets/1.json →
    https://127.0.0.1:5001/api/v2/tickets/1.json, and verifies TLS against ``verify``.

    ``verify`` is forced here because requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the
    environment override ``session.verify`` (psf/requests#3829), and zenpy passes no
    per-request ``verify``: a connection's own CA bundle must win.
    """

    def __init__(
        self, origin: str | None, target: str | None, verify: str | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.origin = origin.rstrip("/") if origin else None
        self.target = target.rstrip("/") if target else None
        self.verify = verify

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        sent = request
        if self.origin and self.target and url.lower().startswith(self.origin.lower() + "/"):
            sent = request.copy()
            sent.url = self.target + url[len(self.origin) :]
        if self.verify is not None:
            kwargs["verify"] = self.verify
        response: requests.Response = super().send(sent, *args, **kwargs)
        # zenpy picks its response handler by ``api.base_url in response.request.url``: it must
        # see the URL it built, so the rewrite stays invisible (response.url is the real one).
        response.request = request
        return response


def _no_sleep_retry() -> Retry:
    # Only a failed connect (nothing was sent) is retried, once, with no backoff sleep; 5xx and
    # read timeouts come back to the adapter, whose outbox reschedules the delivery. (zenpy's
    # own adapter would retry 5xx three times; it is not used because we pass our own session.)
    return Retry(
        total=1,
        connect=1,
        read=0,
        status=0,
        other=0,
        redirect=0,
        backoff_factor=0,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


def _refuse_rate_limit(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    if response.status_code == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        try:
            response.content  # noqa: B018 - read the small body so the connection is reused
        finally:
            response.close()
        raise RateLimited(f"Zendesk rate limit: retry after {retry_after:g} s", retry_after)
    return response


def build_session(
    connection: ConnectionInfo, on_response: Callable[[requests.Response], None] | None = None
) -> requests.Session:
    """A session for one connection: TLS trust, the API address rewrite, 429 → RateLimited."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    ca_bundle = connection.settings.get("ca_bundle")
    verify = ca_bundle_file(ca_bundle) if ca_bundle else None
    session.verify = verify or True
    origin, target = zenpy_origin(connection.base_url), connection.api_url
    plain = ConnectionAdapter(None, None, verify, max_retries=_no_sleep_retry())
    session.mount("https://", plain)
    session.mount("http://", plain)
    if target.rstrip("/").lower() != origin.lower():
        # requests picks the adapter with the longest matching prefix, so only this origin
        # (with its trailing slash: never acme.zendesk.com.evil.test) is rewritten.
        rewrite = ConnectionAdapter(origin, target, verify, max_retries=_no_sleep_retry())
        session.mount(f"{origin}/", rewrite)
    hooks: list[Callable[..., Any]] = []
    if on_response is not None:

        def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            on_response(response)

        hooks.append(count)
    hooks.append(_refuse_rate_limit)
    session.hooks["response"] = hooks
    return session


def timeout_of(connection: ConnectionInfo) -> tuple[float, float]:
    read = connection.settings.get("timeout")
    return (DEFAULT_TIMEOUT[0], float(read)) if read else DEFAULT_TIMEOUT


def build_client(
    connection: ConnectionInfo, on_response: Callable[[requests.Response], None] | None = None
) -> Zenpy:
    """A zenpy client for the connection (its own session; nothing shared between tenants)."""
    token = connection.credentials.get("access_token")
    if not token:
        raise CrmError("the Zendesk connection has no access token")
    subdomain, domain = zendesk_host(connection.base_url)
    return Zenpy(
        subdomain=subdomain,
        domain=domain,
        oauth_token=token,  # zenpy sets "Authorization: Bearer ..." on the session we pass
        session=build_session(connection, on_response),
        # zenpy hands this straight to requests, so a (connect, read) tuple works.
        timeout=timeout_of(connection),
        # Raise RatelimitBudgetExceeded instead of the first sleep(1) (see the module docstring).
        ratelimit_budget=0,
        # zenpy's cache is per client but would serve stale tickets and job statuses by id.
        disable_cache=True,
    )


def set_access_token(client: Zenpy, token: str) -> None:
    """All of a zenpy client's APIs share one session; its header carries the token."""
    client.tickets.session.headers["Authorization"] = f"Bearer {token}"


# --- OAuth --------------------------------------------------------------------------------------


def authorize_url(
    connection: ConnectionInfo,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    scope: str = "read write",
) -> str:
    """Where to send the admin's browser to grant access (Zendesk's authorization code flow)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
        }
    )
    return f"{connection.api_url}/oauth/authorizations/new?{query}"


def token_url(connection: ConnectionInfo) -> str:
    return str(
        connection.credentials.get("token_url")
        or connection.settings.get("token_url")
        or f"{connection.api_url}/oauth/tokens"
    )


def exchange_code(
    connection: ConnectionInfo,
    *,
    code: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    scope: str = "read write",
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """The tokens for an authorization code: access_token, refresh_token, expires_in..."""
    return _token_request(
        connection,
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "scope": scope,
        },
        session,
    )


def refresh_tokens(
    connection: ConnectionInfo, session: requests.Session | None = None
) -> dict[str, Any]:
    """New tokens for the connection's refresh token (Zendesk rotates the refresh token too)."""
    credentials = connection.credentials
    return _token_request(
        connection,
        {
            "grant_type": "refresh_token",
            "refresh_token": credentials["refresh_token"],
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
        session,
    )


def _token_request(
    connection: ConnectionInfo, body: dict[str, Any], session: requests.Session | None
) -> dict[str, Any]:
    session = session or build_session(connection)
    try:
        response = session.post(token_url(connection), json=body, timeout=timeout_of(connection))
    except requests.RequestException as err:
        raise CrmError(f"Zendesk's token endpoint did not answer: {type(err).__name__}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if (
        response.status_code != 200
        or not isinstance(answer, dict)
        or not answer.get("access_token")
    ):
        reason = (
            answer.get("error_description") or answer.get("error")
            if isinstance(answer, dict)
            else None
        )
        raise CrmError(
            f"Zendesk refused the token request (HTTP {response.status_code}): "
            f"{reason or 'no access token'}"
        )
    return answer
