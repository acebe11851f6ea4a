"""Pages people use: the home page, the signer panel, the local mailbox; CRM entry points next."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template
from flask.typing import ResponseReturnValue

from connector import __version__

bp = Blueprint(
    "embed_ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@bp.get("/")
def home() -> ResponseReturnValue:
    settings = current_app.extensions["countersign.settings"]
    return render_template(
        "home.html",
        version=__version__,
        settings=settings.describe(),
        base_url=settings.base_url,
        demo=settings.crm_sandbox and not settings.production,
    )


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    return bp.send_static_file("favicon.svg")


def init_app(app: Flask) -> None:
    from embed_ui import crm_oauth, demo, devmail, embed, signing

    app.register_blueprint(bp)
    for module in (signing, devmail, crm_oauth, embed, demo):
        module.init_app(app)
