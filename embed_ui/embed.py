"""The CRM entry points: Zendesk's ticket sidebar (signed URL) and Salesforce's canvas app.

Each verifies that the request comes from one of our orgs' CRMs, then renders the agent panel
with a short-lived panel token; anything else gets a 403 page.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue

from connector.db import request_session
from connector.embedding import (
    EmbedContext,
    NotFromTheCrm,
    frame_origins,
    issue_panel_token,
    org_name,
    panel_user,
)
from connector.security.headers import allow_framing_by

bp = Blueprint("embed", __name__, url_prefix="/embed")
log = logging.getLogger(__name__)
#: Where a refusal may be shown: any Zendesk or Salesforce page (it reveals nothing).
CRM_FRAMES = ["https://*.zendesk.com", "https://*.force.com", "https://*.salesforce.com", "'self'"]


@bp.route("/zendesk/sidebar", methods=["GET", "POST"])
def zendesk_sidebar() -> ResponseReturnValue:
    from connector.embedding import verify_zendesk

    token = request.form.get("token", "")
    ticket_id = request.args.get("ticket_id") or request.form.get("ticket_id")
    return _open_panel(lambda: verify_zendesk(request_session(), token, ticket_id=ticket_id))


@bp.route("/salesforce/canvas", methods=["GET", "POST"])
def salesforce_canvas() -> ResponseReturnValue:
    from connector.embedding import verify_canvas

    signed_request = request.form.get("signed_request", "")
    return _open_panel(lambda: verify_canvas(request_session(), signed_request))


def _open_panel(verify) -> ResponseReturnValue:
    if request.method != "POST":
        return _refuse("Open Countersign from a Zendesk ticket or a Salesforce record.")
    try:
        context: EmbedContext = verify()
    except NotFromTheCrm as err:
        log.warning("embedded entry refused: %s", err)
        return _refuse("This page only opens inside your Zendesk or Salesforce.")
    session = request_session()
    user = panel_user(session, context.org_id, email=context.user_email, name=context.user_name)
    token, expires_at = issue_panel_token(org_id=context.org_id, user_id=user.id, role=user.role)
    allow_framing_by(frame_origins(session, context.org_id))
    requester, label = _record_summary(context)
    page_context = {
        "system": context.system,
        "object": context.object,
        "record_id": context.record_id,
        "record_label": label,
        "requester": requester,
        "user": {"name": user.name, "email": user.email, "role": user.role},
        "org_name": org_name(session, context.org_id),
        "locale": context.locale if context.locale in ("en", "es") else "en",
        "expires_at": expires_at,
    }
    response = render_template("panel.html", token=token, context=page_context)
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _record_summary(context: EmbedContext) -> tuple[dict[str, str], str]:
    """The default recipient (the ticket's requester, the record's primary contact) and a label
    for the record, read through the CRM adapter."""
    from connector.crm.connections import connection_info
    from crm_adapters.base import CrmError, RateLimited, adapter_for

    zendesk = context.system == "zendesk"
    label = f"#{context.record_id}" if zendesk else f"{context.object} {context.record_id}"
    if not context.record_id:
        return {"name": "", "email": ""}, ""  # inside Zendesk the panel asks ZAF for the ticket
    try:
        values = adapter_for(connection_info(request_session(), context.connection)).fetch_record(
            context.object, context.record_id
        )
    except (CrmError, RateLimited, OSError) as err:
        log.info("no summary for %s %s: %s", context.object, context.record_id, err)
        return {"name": "", "email": ""}, label
    if zendesk:
        subject = values.get("ticket.subject")
        requester = {
            "name": str(values.get("ticket.requester.name") or ""),
            "email": str(values.get("ticket.requester.email") or ""),
        }
        return requester, f"{label} {subject}" if subject else label
    name = values.get(f"{context.object}.Name")
    requester = {
        "name": str(values.get("Contact.Name") or ""),
        "email": str(values.get("Contact.Email") or ""),
    }
    return requester, f"{context.object}: {name}" if name else label


def _refuse(message: str) -> ResponseReturnValue:
    allow_framing_by(CRM_FRAMES)
    return render_template("embed_refused.html", message=message), 403


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
