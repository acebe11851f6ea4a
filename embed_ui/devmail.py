"""/dev/mail: the mail the embedded default kept instead of sending, readable in a browser.

Only on the embedded default (no SMTP_URL, not production): the messages hold live signing links.
"""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")
NAME = re.compile(r"^[0-9a-f]{32}$")
LINK = re.compile(r"https?://[^\s<>\"']+")


def _folder() -> Path:
    settings = current_app.extensions["countersign.settings"]
    if settings.smtp_url or settings.production:
        abort(404)
    return Path(settings.mail_path)


def _read(name: str) -> EmailMessage:
    path = _folder() / f"{name}.eml"
    if not NAME.match(name) or not path.is_file():
        abort(404)
    message: EmailMessage = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    return message


@bp.get("")
def inbox() -> ResponseReturnValue:
    folder = _folder()
    paths = (
        sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        if folder.exists()
        else []
    )
    messages = []
    for path in paths[:200]:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        messages.append(
            {
                "name": path.stem,
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"],
            }
        )
    return render_template("devmail_inbox.html", messages=messages)


@bp.get("/<name>")
def message(name: str) -> ResponseReturnValue:
    mail = _read(name)
    plain = mail.get_body(("plain",))
    text = plain.get_content() if plain is not None else ""
    attachments = [part.get_filename() or "attachment" for part in mail.iter_attachments()]
    return render_template(
        "devmail_message.html",
        name=name,
        mail=mail,
        text=text,
        links=list(dict.fromkeys(LINK.findall(text))),
        attachments=attachments,
        has_html=mail.get_body(("html",)) is not None,
    )


@bp.get("/<name>/html")
def message_html(name: str) -> ResponseReturnValue:
    part = _read(name).get_body(("html",))
    if part is None:
        abort(404)
    response = Response(part.get_content(), mimetype="text/html")
    # The message's own markup, as a mail program shows it: no scripts, no requests.
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'"
    )
    return response


@bp.get("/<name>/attachments/<int:index>")
def attachment(name: str, index: int) -> ResponseReturnValue:
    parts = list(_read(name).iter_attachments())
    if not 0 <= index < len(parts):
        abort(404)
    part = parts[index]
    response = Response(part.get_content(), mimetype=part.get_content_type())
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{part.get_filename() or "attachment"}"'
    )
    return response


def init_app(app: Flask) -> None:
    """Registers the local mailbox's routes."""
    app.register_blueprint(bp)
