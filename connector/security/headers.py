"""Security headers on every response; embedded pages widen frame-ancestors per org."""

from __future__ import annotations

from flask import Flask, Response, g

DEFAULT_FRAME_ANCESTORS = "'none'"


def content_security_policy(frame_ancestors: str = DEFAULT_FRAME_ANCESTORS) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


def allow_framing_by(origins: list[str]) -> None:
    """Let this response be framed by ``origins`` only (an org's Zendesk or Salesforce hosts)."""
    g.frame_ancestors = " ".join(origins) or DEFAULT_FRAME_ANCESTORS


def _add_headers(response: Response) -> Response:
    frame_ancestors = g.get("frame_ancestors", DEFAULT_FRAME_ANCESTORS)
    response.headers.setdefault("Content-Security-Policy", content_security_policy(frame_ancestors))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if frame_ancestors == DEFAULT_FRAME_ANCESTORS:
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
