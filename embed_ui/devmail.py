"""/dev/mail: the mail the embedded default kept instead of sending (being built)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Registers the local mailbox's routes."""
