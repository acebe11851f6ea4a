"""/demo: a mock helpdesk ticket page and a mock Salesforce record page that frame the real agent
panel exactly as the CRMs do (the ticket page POSTs a JWT signed by the CRM sandbox's app key;
the record page POSTs a valid signed_request). Only on the embedded default with the sandbox."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from connector.crm.connections import connection_for, credentials_of
from connector.db import request_session
from connector.embedding import sign_canvas_request
from connector.models import Org

bp = Blueprint("demo", __name__, url_prefix="/demo")


def _demo_org() -> Org:
    settings = current_app.extensions["countersign.settings"]
    if not settings.crm_sandbox or settings.production:
        abort(404)
    org = request_session().scalars(select(Org).where(Org.slug == "demo")).first()
    if org is None:
        abort(404)
    return org


def _sandbox_state():
    start = current_app.extensions.get("countersign.sandbox_start")
    if start is None:
        abort(404)
    return start()


@bp.get("")
def index() -> ResponseReturnValue:
    _demo_org()
    return render_template("demo_index.html")


@bp.get("/zendesk")
def zendesk_ticket() -> ResponseReturnValue:
    from crm_adapters.sandbox import zendesk as sandbox

    org = _demo_org()
    state = _sandbox_state()
    connection = connection_for(request_session(), org.id, "zendesk")
    if connection is None:
        abort(404)
    ticket_id = request.args.get("ticket", "1")
    ticket = sandbox.tickets(state).get(int(ticket_id)) if ticket_id.isdigit() else None
    if ticket is None:
        abort(404)
    token = sandbox.sign_app_jwt(
        state,
        subdomain_url=connection.base_url,
        installation_id=int(connection.settings.get("installation_id", 0)),
    )
    action = url_for("embed.zendesk_sidebar", ticket_id=ticket_id, origin=connection.base_url)
    return render_template(
        "demo_zendesk.html", ticket=ticket, ticket_id=ticket_id, token=token, action=action
    )


@bp.get("/salesforce")
def salesforce_record() -> ResponseReturnValue:
    from crm_adapters.sandbox import salesforce as sandbox

    org = _demo_org()
    state = _sandbox_state()
    connection = connection_for(request_session(), org.id, "salesforce")
    if connection is None:
        abort(404)
    opportunity = next(
        r for r in sandbox.records(state, "Opportunity") if r["Name"].startswith("Initech")
    )
    envelope = {
        "algorithm": "HMACSHA256",
        "issuedAt": int(time.time()),
        "userId": "0055g00014aEf46AAC",
        "client": {"instanceUrl": connection.base_url, "targetOrigin": connection.base_url},
        "context": {
            "user": {
                "userId": "0055g00014aEf46AAC",
                "fullName": "Sam Agent",
                "email": "agent@demo.countersign.test",
                "language": "en_US",
            },
            "environment": {
                "record": {"Id": opportunity["Id"], "attributes": {"type": "Opportunity"}},
                "parameters": {"recordId": opportunity["Id"]},
            },
        },
    }
    signed = sign_canvas_request(credentials_of(connection)["consumer_secret"], envelope)
    return render_template(
        "demo_salesforce.html",
        record=opportunity,
        signed_request=signed,
        action=url_for("embed.salesforce_canvas"),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
