"""Read what the embedded default's local mailer kept (instance/mail/*.eml)."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

from flask import Flask


class Mailbox:
    def __init__(self, app: Flask) -> None:
        self.folder = Path(app.extensions["countersign.settings"].mail_path)
        self.seen = set(self.folder.glob("*.eml")) if self.folder.exists() else set()

    def new(self) -> list[EmailMessage]:
        """Messages written since this mailbox was opened, oldest first."""
        if not self.folder.exists():
            return []
        paths = sorted(
            set(self.folder.glob("*.eml")) - self.seen, key=lambda p: p.stat().st_mtime_ns
        )
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]  # type: ignore[misc]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.new() if address in str(m["To"])]
