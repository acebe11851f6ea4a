"""/crm/oauth/callback: where Zendesk or Salesforce sends the admin back after authorizing."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue

from connector.crm import oauth
from connector.db import request_session
from connector.problems import Problem

bp = Blueprint("crm_oauth", __name__)
NAMES = {"zendesk": "Zendesk", "salesforce": "Salesforce"}


@bp.get("/crm/oauth/callback")
def callback() -> ResponseReturnValue:
    if request.args.get("error"):
        message = request.args.get("error_description") or request.args["error"]
        return render_template("crm_connected.html", error=f"The CRM refused: {message}"), 400
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if not code or not state:
        return render_template(
            "crm_connected.html", error="The CRM sent no authorization code."
        ), 400
    try:
        connection = oauth.complete(request_session(), code=code, state=state)
    except Problem as problem:
        return render_template("crm_connected.html", error=problem.detail), problem.status
    return render_template(
        "crm_connected.html",
        system=NAMES.get(connection.system, connection.system),
        base_url=connection.base_url,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
