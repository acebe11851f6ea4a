"""The signer panel at /s/<token> and the embed script at /embed.js.

The panel is a shell: its script (static/sign.js) reads the token from the page and talks to the
public signing API (docs/signing.md). Framing is allowed only by the org's embed origins.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Flask, make_response, render_template, send_from_directory
from flask.typing import ResponseReturnValue

from connector.db import request_session
from connector.security.headers import allow_framing_by

STATIC = Path(__file__).resolve().parent / "static"
EMBED_SCRIPT = "countersign-embed.js"
MAX_TOKEN_LENGTH = 2048

log = logging.getLogger(__name__)

bp = Blueprint("signing_ui", __name__, template_folder="templates")


@bp.get("/s/<token>")
def signer_panel(token: str) -> ResponseReturnValue:
    """The panel shell; the org's embed origins (none for a bad token) may frame it."""
    allow_framing_by(_embed_origins(token) if len(token) <= MAX_TOKEN_LENGTH else [])
    response = make_response(render_template("sign.html", token=token))
    response.headers["Cache-Control"] = "no-store"
    # Links out of the panel carry the origin at most, never the token in the path.
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/embed.js")
def embed_script() -> ResponseReturnValue:
    """The script a host page loads to open the panel in a modal: ``Countersign.open(url)``."""
    response = send_from_directory(STATIC, EMBED_SCRIPT, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    # Host pages on other origins load it; let pages with COEP load it too.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _embed_origins(token: str) -> list[str]:
    try:
        from connector.signing.service import embed_origins_for_token
    except ImportError:  # the signing backend is not installed: nobody may frame the panel
        log.warning("connector.signing.service is missing; the signer panel cannot be framed")
        return []
    return list(embed_origins_for_token(request_session(), token))


def init_app(app: Flask) -> None:
    """Registers the signer panel's routes."""
    app.register_blueprint(bp)
