"""Builds the marketplace packages for one deployment from the templates beside this file.

The templates hold ``{{BASE_URL}}`` (the deployment's public origin) and ``{{CONTACT_EMAIL}}``
(where Zendesk and Salesforce admins send questions; ``support@<host>`` unless given). A package
is filled in a scratch folder, validated, and only then written to ``out``; an invalid one is
refused with the validator's messages, and nothing is left behind.

- ``build_zendesk`` writes ``out/countersign-zendesk-app.zip`` (manifest.json, translations/,
  assets/ at its root) for ``zcli apps:create`` or an upload under Admin Center > Apps.
- ``build_salesforce`` writes the sfdx project ``out/countersign-salesforce/`` (deploy with
  ``sf project deploy start`` from inside it) and ``out/countersign-salesforce.zip``.

Zips are reproducible: sorted entries, fixed timestamps and modes.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from manifests.validate import check_base_url, validate_salesforce, validate_zendesk

HERE = Path(__file__).resolve().parent
ZENDESK_TEMPLATE = HERE / "zendesk"
SALESFORCE_TEMPLATE = HERE / "salesforce"
ZENDESK_ZIP = "countersign-zendesk-app.zip"
SALESFORCE_PROJECT = "countersign-salesforce"
#: Template files whose text gets the placeholders filled; others are copied byte for byte.
TEXT_SUFFIXES = frozenset({".json", ".xml", ".cmp", ".js", ".design", ".html", ".css", ".md"})
PLACEHOLDER_RE = re.compile(r"\{\{([A-Z_]+)\}\}")
_EMAIL_RE = re.compile(r"[^@\s<>\"'&]+@[^@\s<>\"'&]+")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class InvalidPackage(ValueError):
    """The filled package failed validation; ``messages`` are the validator's."""

    def __init__(self, what: str, messages: list[str]) -> None:
        self.messages = messages
        super().__init__(f"the {what} is invalid: " + "; ".join(messages))


def check_contact_email(email: str | None, base_url: str) -> str:
    """``email``, or ``support@<host of base_url>``; ValueError if it is not an address."""
    if email is None:
        return f"support@{urlsplit(base_url).hostname}"
    email = email.strip()
    if not _EMAIL_RE.fullmatch(email):
        raise ValueError(f"contact email must be an email address, got {email!r}")
    return email


def build_zendesk(base_url: str, out: Path, *, contact_email: str | None = None) -> Path:
    """Fills, validates and zips the Zendesk app; returns ``out/countersign-zendesk-app.zip``."""
    base = check_base_url(base_url)
    values = {"BASE_URL": base, "CONTACT_EMAIL": check_contact_email(contact_email, base)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".countersign-zendesk-", dir=out) as scratch:
        app = Path(scratch) / "app"
        _fill_tree(ZENDESK_TEMPLATE, app, values)
        messages = validate_zendesk(app)
        if messages:
            parts = urlsplit(base)
            if parts.scheme == "http" and parts.hostname != "localhost":
                messages.append(
                    f"Zendesk accepts http:// only on localhost: try http://localhost:{parts.port}"
                    if parts.port
                    else "Zendesk accepts http:// only on localhost"
                )
            raise InvalidPackage("Zendesk app", messages)
        target = out / ZENDESK_ZIP
        _write_zip(app, target)
    return target


def build_salesforce(base_url: str, out: Path, *, contact_email: str | None = None) -> Path:
    """Fills and validates the sfdx project, writes it to ``out/countersign-salesforce/`` (its
    previous contents replaced) with ``out/countersign-salesforce.zip``; returns the folder."""
    base = check_base_url(base_url)
    values = {"BASE_URL": base, "CONTACT_EMAIL": check_contact_email(contact_email, base)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / SALESFORCE_PROJECT
    with tempfile.TemporaryDirectory(prefix=".countersign-salesforce-", dir=out) as scratch:
        project = Path(scratch) / SALESFORCE_PROJECT
        _fill_tree(SALESFORCE_TEMPLATE, project, values)
        messages = validate_salesforce(project, base)
        if messages:
            raise InvalidPackage("Salesforce package", messages)
        _write_zip(project, out / f"{SALESFORCE_PROJECT}.zip", prefix=SALESFORCE_PROJECT)
        if target.exists():
            shutil.move(target, Path(scratch) / "previous")  # removed with the scratch folder
        project.rename(target)
    return target


def _template_files(template: Path) -> list[Path]:
    """The template's files, without hidden files and Python caches."""
    return sorted(
        path
        for path in template.rglob("*")
        if path.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__"
            for part in path.relative_to(template).parts
        )
    )


def _fill_tree(template: Path, target: Path, values: Mapping[str, str]) -> None:
    for source in _template_files(template):
        rel = source.relative_to(template)
        destination = target / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix not in TEXT_SUFFIXES:
            shutil.copyfile(source, destination)
            continue
        text = source.read_text(encoding="utf-8")

        def fill(match: re.Match[str], rel: Path = rel) -> str:
            if match[1] not in values:
                raise ValueError(f"template {rel.as_posix()} has an unknown placeholder {match[0]}")
            return values[match[1]]

        destination.write_text(PLACEHOLDER_RE.sub(fill, text), encoding="utf-8")


def _write_zip(folder: Path, target: Path, prefix: str = "") -> None:
    """Zips ``folder``'s files (under ``prefix/`` if given), reproducibly and atomically."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                name = path.relative_to(folder).as_posix()
                info = zipfile.ZipInfo(f"{prefix}/{name}" if prefix else name, _ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                archive.writestr(info, path.read_bytes())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
