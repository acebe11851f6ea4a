"""The marketplace packages: building them for a deployment, and the validators that guard them.

Each broken fixture breaks one rule and must produce exactly that rule's message.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from crm_adapters.base import RecordRef, StatusUpdate
from crm_adapters.salesforce import mapping
from manifests.build import (
    SALESFORCE_PROJECT,
    ZENDESK_ZIP,
    InvalidPackage,
    build_salesforce,
    build_zendesk,
)
from manifests.cli import manifests_cli
from manifests.make_assets import draw_logo
from manifests.validate import (
    ENVELOPE_OBJECT,
    WRITEBACK_FIELDS,
    check_base_url,
    png_size,
    validate_salesforce,
    validate_zendesk,
)

BASE = "https://sign.example.com"
TRANSLATIONS_DOC = (
    "https://developer.zendesk.com/apps/docs/developer-guide/deploying#app-internationalization"
)
DEFAULT = "force-app/main/default"
FIELDS = f"{DEFAULT}/objects/{ENVELOPE_OBJECT}/fields"
CONNECTED_APP = f"{DEFAULT}/connectedApps/Countersign.connectedApp-meta.xml"
CSP_SITE = f"{DEFAULT}/cspTrustedSites/Countersign.cspTrustedSite-meta.xml"
PERMISSION_SET = f"{DEFAULT}/permissionsets/Countersign.permissionset-meta.xml"
PANEL = f"{DEFAULT}/aura/countersignPanel/countersignPanel.cmp"


def edit(path: Path, change: Callable[[str], str]) -> None:
    before = path.read_text(encoding="utf-8")
    after = change(before)
    assert after != before, f"the fixture did not change {path}"
    path.write_text(after, encoding="utf-8")


# --- Zendesk: the built app ------------------------------------------------------------------


def test_zendesk_app_builds_valid_with_the_deployment_url(tmp_path: Path) -> None:
    built = build_zendesk(BASE, tmp_path)

    assert built == tmp_path / ZENDESK_ZIP
    assert validate_zendesk(built) == []
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        translations = {
            locale: json.loads(archive.read(f"translations/{locale}.json"))
            for locale in ("en", "es")
        }
        logos = {
            name: Image.open(archive.open(f"assets/{name}"))
            for name in ("logo.png", "logo-small.png")
        }
        everything = b"".join(archive.read(name) for name in names)
    assert names == {
        "manifest.json",
        "translations/en.json",
        "translations/es.json",
        "assets/logo.png",
        "assets/logo-small.png",
    }
    sidebar = manifest["location"]["support"]["ticket_sidebar"]
    assert sidebar == {"url": f"{BASE}/embed/zendesk/sidebar", "flexible": True}
    assert manifest["frameworkVersion"] == "2.0"
    assert manifest["signedUrls"] is True
    assert manifest["private"] is True
    assert manifest["author"] == {
        "name": "Countersign",
        "email": "support@sign.example.com",
        "url": BASE,
    }
    assert b"{{" not in everything
    assert {name: (image.format, image.size) for name, image in logos.items()} == {
        "logo.png": ("PNG", (320, 320)),
        "logo-small.png": ("PNG", (128, 128)),
    }
    for locale, translation in translations.items():
        app = translation["app"]
        for key in ("name", "short_description", "long_description", "installation_instructions"):
            assert app[key].strip(), (locale, key)
        for parameter in manifest["parameters"]:
            labels = app["parameters"][parameter["name"]]
            assert labels["label"], (locale, parameter["name"])
            assert labels["helpText"], (locale, parameter["name"])


def test_zendesk_build_takes_a_contact_email_and_is_reproducible(tmp_path: Path) -> None:
    first = build_zendesk(BASE + "/", tmp_path / "a", contact_email="apps@example.org")
    second = build_zendesk(BASE, tmp_path / "b", contact_email="apps@example.org")

    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert json.loads(archive.read("manifest.json"))["author"]["email"] == "apps@example.org"
    assert [p.name for p in (tmp_path / "a").iterdir()] == [ZENDESK_ZIP]  # no scratch left


def test_zendesk_accepts_http_only_on_localhost(tmp_path: Path) -> None:
    assert validate_zendesk(build_zendesk("http://localhost:5000", tmp_path)) == []

    with pytest.raises(InvalidPackage) as refused:
        build_zendesk("http://127.0.0.1:5000", tmp_path / "loopback")
    assert refused.value.messages == [
        "http://127.0.0.1:5000/embed/zendesk/sidebar is either an invalid location URI, refers "
        "to a missing asset, or does not use HTTPS.",
        "Zendesk accepts http:// only on localhost: try http://localhost:5000",
    ]
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "loopback" / ZENDESK_ZIP).exists()


def test_the_committed_logos_are_the_drawn_sizes() -> None:
    assets = Path(__file__).resolve().parents[2] / "manifests" / "zendesk" / "assets"
    assert png_size((assets / "logo.png").read_bytes()) == (320, 320)
    assert png_size((assets / "logo-small.png").read_bytes()) == (128, 128)
    logo = draw_logo(320)
    assert logo.size == (320, 320)
    assert logo.getpixel((160, 20)) == (0x27, 0x50, 0xC4, 255)  # the blue square
    assert logo.getpixel((0, 0)) == (0, 0, 0, 0)  # outside the rounded corner


# --- Zendesk: one broken rule, one message ---------------------------------------------------


@pytest.fixture
def zendesk_app(tmp_path: Path) -> Path:
    """The built app, unzipped into a folder to break."""
    folder = tmp_path / "app"
    with zipfile.ZipFile(build_zendesk(BASE, tmp_path)) as archive:
        archive.extractall(folder)
    assert validate_zendesk(folder) == []
    return folder


def change_manifest(folder: Path, change: Callable[[dict[str, Any]], object]) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def tiny_logo(folder: Path) -> None:
    Image.new("RGBA", (100, 100), (39, 80, 196, 255)).save(folder / "assets/logo.png")


def spanish_without_spanish(folder: Path) -> None:
    change_manifest(folder, lambda m: m.update(defaultLocale="es"))
    (folder / "translations/es.json").unlink()


def public_without_long_description(folder: Path) -> None:
    change_manifest(folder, lambda m: m.update(private=False))
    edit(
        folder / "translations/en.json",
        lambda text: text.replace('"long_description"', '"longer_description"'),
    )


ZENDESK_BREAKS: dict[str, tuple[Callable[[Path], object], str]] = {
    "no defaultLocale": (
        lambda app: change_manifest(app, lambda m: m.pop("defaultLocale")),
        "Missing required field in manifest: defaultLocale",
    ),
    "no author": (
        lambda app: change_manifest(app, lambda m: m.pop("author")),
        "Missing required field in manifest: author",
    ),
    "author without email": (
        lambda app: change_manifest(app, lambda m: m["author"].pop("email")),
        "Missing required field in manifest: author.email",
    ),
    "no location": (
        lambda app: change_manifest(app, lambda m: m.pop("location")),
        "Missing required field in manifest: location",
    ),
    "no frameworkVersion": (
        lambda app: change_manifest(app, lambda m: m.pop("frameworkVersion")),
        "Missing required field in manifest: frameworkVersion",
    ),
    "framework version 1.0": (
        lambda app: change_manifest(app, lambda m: m.update(frameworkVersion="1.0")),
        "1.0 is not a valid framework version. Available versions are: 2.0.",
    ),
    "a parameter named name": (
        lambda app: change_manifest(
            app, lambda m: m["parameters"].append({"name": "name", "type": "text"})
        ),
        "Can't call a parameter 'name'",
    ),
    "a hidden required parameter": (
        lambda app: change_manifest(
            app,
            lambda m: m["parameters"].append(
                {"name": "region", "type": "hidden", "required": True}
            ),
        ),
        "region is set to hidden and cannot be required.",
    ),
    "a secure parameter without scopes": (
        lambda app: change_manifest(
            app,
            lambda m: m["parameters"].append({"name": "api_key", "type": "text", "secure": True}),
        ),
        "api_key is secure and must declare its scopes.",
    ),
    "scopes on a parameter that is not secure": (
        lambda app: change_manifest(app, lambda m: m["parameters"][0].update(scopes=["header"])),
        "Scopes can only be defined on secure parameters.",
    ),
    "an unknown parameter type": (
        lambda app: change_manifest(app, lambda m: m["parameters"][0].update(type="select")),
        "select is an invalid parameter type.",
    ),
    "duplicate parameters": (
        lambda app: change_manifest(
            app, lambda m: m["parameters"].append({"name": "countersign_org", "type": "text"})
        ),
        "Duplicate app parameters defined: countersign_org",
    ),
    "a duplicate manifest key": (
        lambda app: edit(
            app / "manifest.json",
            lambda text: text.replace('"version"', '"private": false, "version"'),
        ),
        "Duplicate keys are specified in the manifest.json file. Duplicate reference in "
        'manifest: "private". Initially set to "true", attempted overwrite to "false".',
    ),
    "signedUrls not a boolean": (
        lambda app: change_manifest(app, lambda m: m.update(signedUrls="yes")),
        'signedUrls must be a boolean value, got "yes".',
    ),
    "version not semantic": (
        lambda app: change_manifest(app, lambda m: m.update(version="1.0")),
        'version must be a semantic version (MAJOR.MINOR.PATCH), got "1.0".',
    ),
    "an unknown location": (
        lambda app: change_manifest(
            app,
            lambda m: m["location"]["support"].update(
                ticket_sidbar=m["location"]["support"].pop("ticket_sidebar")
            ),
        ),
        "ticket_sidbar is an invalid location in Support.",
    ),
    "an unknown host": (
        lambda app: change_manifest(
            app, lambda m: m["location"].update(guide={"nav_bar": "https://x.example.com"})
        ),
        "guide is an invalid host for apps.",
    ),
    "a plain-http location": (
        lambda app: change_manifest(
            app,
            lambda m: m["location"]["support"]["ticket_sidebar"].update(
                url="http://sign.example.com/embed/zendesk/sidebar"
            ),
        ),
        "http://sign.example.com/embed/zendesk/sidebar is either an invalid location URI, "
        "refers to a missing asset, or does not use HTTPS.",
    ),
    "a location without a URL": (
        lambda app: change_manifest(
            app, lambda m: m["location"]["support"]["ticket_sidebar"].pop("url")
        ),
        "ticket_sidebar location does not specify a URI.",
    ),
    "no translation for the default locale en": (
        lambda app: (app / "translations/en.json").unlink(),
        f"Missing translation file for locale 'en'. Learn more: {TRANSLATIONS_DOC}",
    ),
    "no translation for the default locale es": (
        spanish_without_spanish,
        f"Missing translation file for locale 'es'. Learn more: {TRANSLATIONS_DOC}",
    ),
    "a default-locale translation without app.name": (
        lambda app: edit(
            app / "translations/en.json",
            lambda text: text.replace('"name": "Countersign"', '"title": "Countersign"'),
        ),
        "Missing required key from translations/en.json: name",
    ),
    "a public app without its listing texts": (
        public_without_long_description,
        "Missing required key from translations/en.json: long_description",
    ),
    "a translation that is not JSON": (
        lambda app: (app / "translations/es.json").write_text('{"app": '),
        "translations/es.json is not valid JSON. Expecting value: line 1 column 9 (char 8)",
    ),
    "a 100x100 logo": (
        tiny_logo,
        "Invalid image dimensions in assets/logo.png: 100x100px. Must be 320x320px.",
    ),
    "a logo that is not a PNG": (
        lambda app: (app / "assets/logo-small.png").write_bytes(b"GIF89a" + b"\0" * 40),
        "assets/logo-small.png must be a PNG file.",
    ),
    "no small logo": (
        lambda app: (app / "assets/logo-small.png").unlink(),
        "Could not find assets/logo-small.png",
    ),
    "no manifest": (
        lambda app: (app / "manifest.json").unlink(),
        "Could not find manifest.json",
    ),
    "a manifest that is not JSON": (
        lambda app: (app / "manifest.json").write_text('{"name": "Countersign",}'),
        "manifest is not proper JSON. Expecting property name enclosed in double quotes: "
        "line 1 column 24 (char 23)",
    ),
}


@pytest.mark.parametrize("rule", ZENDESK_BREAKS)
def test_a_broken_zendesk_rule_gives_its_message(zendesk_app: Path, rule: str) -> None:
    breaks, message = ZENDESK_BREAKS[rule]
    breaks(zendesk_app)
    assert validate_zendesk(zendesk_app) == [message]


def test_several_missing_manifest_fields_share_one_message(zendesk_app: Path) -> None:
    change_manifest(zendesk_app, lambda m: (m.pop("author"), m.pop("defaultLocale")))
    assert validate_zendesk(zendesk_app) == [
        "Missing required fields in manifest: author, defaultLocale"
    ]


def test_a_zip_with_the_app_in_a_folder_is_refused(zendesk_app: Path, tmp_path: Path) -> None:
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as archive:
        for path in sorted(p for p in zendesk_app.rglob("*") if p.is_file()):
            archive.write(path, f"countersign/{path.relative_to(zendesk_app).as_posix()}")
    assert validate_zendesk(nested) == [
        "Could not find manifest.json in the root of the zip file, but countersign/manifest.json"
        " was found. Try re-creating the archive from this directory."
    ]


def test_a_zip_with_a_symlink_is_refused(tmp_path: Path) -> None:
    built = build_zendesk(BASE, tmp_path)
    with zipfile.ZipFile(built, "a") as archive:
        link = zipfile.ZipInfo("assets/link.png")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "logo.png")
    assert validate_zendesk(built) == ["Symlinks are not allowed in the zip file"]


# --- Salesforce: the built project -----------------------------------------------------------


def test_salesforce_project_builds_valid_with_the_deployment_url(tmp_path: Path) -> None:
    project = build_salesforce(BASE, tmp_path)

    assert project == tmp_path / SALESFORCE_PROJECT
    assert validate_salesforce(project, BASE) == []
    config = json.loads((project / "sfdx-project.json").read_text())
    assert config["packageDirectories"] == [{"path": "force-app", "default": True}]
    assert (config["sourceApiVersion"], config["namespace"]) == ("59.0", "")
    app = (project / CONNECTED_APP).read_text()
    assert f"<canvasUrl>{BASE}/embed/salesforce/canvas</canvasUrl>" in app
    assert f"<callbackUrl>{BASE}/crm/oauth/callback</callbackUrl>" in app
    assert "<accessMethod>Post</accessMethod>" in app
    assert f"<endpointUrl>{BASE}</endpointUrl>" in (project / CSP_SITE).read_text()
    assert 'developerName="Countersign"' in (project / PANEL).read_text()
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert not any("{{" in (project / name).read_text() for name in files if "." in name)
    with zipfile.ZipFile(tmp_path / f"{SALESFORCE_PROJECT}.zip") as archive:
        assert archive.namelist() == [f"{SALESFORCE_PROJECT}/{name}" for name in files]
    assert {p.name for p in tmp_path.iterdir()} == {
        SALESFORCE_PROJECT,
        f"{SALESFORCE_PROJECT}.zip",
    }


def test_rebuilding_salesforce_replaces_the_previous_project(tmp_path: Path) -> None:
    project = build_salesforce(BASE, tmp_path)
    (project / "stale.txt").write_text("left over")

    again = build_salesforce("https://countersign.example.org", tmp_path)

    assert again == project
    assert not (project / "stale.txt").exists()
    assert validate_salesforce(project, "https://countersign.example.org") == []


def test_the_validator_knows_every_field_the_write_back_sets() -> None:
    update = StatusUpdate(
        key="k",
        envelope_id="0b8f8f43-4b7e-4c55-a0a4-0c1f2b9d1e77",
        record=RecordRef("salesforce", "Case", "500000000000001AAA"),
        status="completed",
        title="Order form",
        summary="Signed.",
        envelope_url=f"{BASE}/envelopes/1",
        sent_at=datetime(2026, 11, 30, tzinfo=UTC),
        completed_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    written = set(mapping.envelope_record(update)) - {"attributes", "Name"}
    lookups = set(mapping.LOOKUP_FIELDS.values())

    assert mapping.ENVELOPE_OBJECT == ENVELOPE_OBJECT
    assert written | lookups == set(WRITEBACK_FIELDS)
    assert WRITEBACK_FIELDS[mapping.EXTERNAL_ID_FIELD].external_id
    assert set(WRITEBACK_FIELDS["Status__c"].picklist) == set(mapping.STATUS_LABELS.values())
    for obj, field in mapping.LOOKUP_FIELDS.items():
        assert WRITEBACK_FIELDS[field].reference_to == obj
    assert len(update.envelope_id) <= (WRITEBACK_FIELDS["External_Id__c"].min_length or 0)


# --- Salesforce: one broken rule, one message ------------------------------------------------


@pytest.fixture
def salesforce_project(tmp_path: Path) -> Path:
    return build_salesforce(BASE, tmp_path)


SALESFORCE_BREAKS: dict[str, tuple[Callable[[Path], object], str]] = {
    "a canvas URL on another server": (
        lambda p: edit(
            p / CONNECTED_APP,
            lambda t: t.replace(f"{BASE}/embed", "https://elsewhere.example.com/embed"),
        ),
        "Countersign.connectedApp: the canvas URL is "
        "https://elsewhere.example.com/embed/salesforce/canvas, "
        "expected https://sign.example.com/embed/salesforce/canvas",
    ),
    "a canvas app reached by GET": (
        lambda p: edit(p / CONNECTED_APP, lambda t: t.replace(">Post<", ">Get<")),
        "Countersign.connectedApp: the canvas accessMethod is Get; it must be Post "
        "(Countersign reads the signed request)",
    ),
    "a canvas app without the Lightning location": (
        lambda p: edit(p / CONNECTED_APP, lambda t: t.replace("<locations>Aura</locations>", "")),
        "Countersign.connectedApp: the canvas locations must include Aura "
        "(the Lightning component)",
    ),
    "an OAuth callback elsewhere": (
        lambda p: edit(p / CONNECTED_APP, lambda t: t.replace("/crm/oauth/callback", "/cb")),
        "Countersign.connectedApp: the OAuth callback URL is https://sign.example.com/cb, "
        "expected https://sign.example.com/crm/oauth/callback",
    ),
    "no refresh token scope": (
        lambda p: edit(p / CONNECTED_APP, lambda t: t.replace("<scopes>RefreshToken</scopes>", "")),
        "Countersign.connectedApp: the OAuth scopes lack RefreshToken",
    ),
    "a field the write-back needs removed": (
        lambda p: (p / FIELDS / "Completed_At__c.field-meta.xml").unlink(),
        f"{ENVELOPE_OBJECT}.Completed_At__c is missing: the write-back sets it (a DateTime field)",
    ),
    "a lookup removed": (
        lambda p: (p / FIELDS / "Opportunity__c.field-meta.xml").unlink(),
        f"{ENVELOPE_OBJECT}.Opportunity__c is missing: the write-back sets it (a Lookup field)",
    ),
    "a DateTime made a Date": (
        lambda p: edit(
            p / FIELDS / "Sent_At__c.field-meta.xml", lambda t: t.replace(">DateTime<", ">Date<")
        ),
        f"{ENVELOPE_OBJECT}.Sent_At__c is a Date field; the write-back needs DateTime",
    ),
    "an envelope id too short": (
        lambda p: edit(
            p / FIELDS / "External_Id__c.field-meta.xml", lambda t: t.replace(">36<", ">32<")
        ),
        f"{ENVELOPE_OBJECT}.External_Id__c holds 32 characters; the write-back needs at least 36",
    ),
    "an envelope id that is no external id": (
        lambda p: edit(
            p / FIELDS / "External_Id__c.field-meta.xml",
            lambda t: t.replace("<externalId>true", "<externalId>false"),
        ),
        f"{ENVELOPE_OBJECT}.External_Id__c must be an external id (externalId true): "
        "the write-back upserts on it",
    ),
    "a status value missing": (
        lambda p: edit(
            p / FIELDS / "Status__c.field-meta.xml",
            lambda t: re.sub(
                r"\s*<value>\s*<fullName>Voided</fullName>.*?</value>", "", t, flags=re.S
            ),
        ),
        f"{ENVELOPE_OBJECT}.Status__c lacks picklist values the write-back uses: Voided",
    ),
    "a lookup to the wrong object": (
        lambda p: edit(
            p / FIELDS / "Case__c.field-meta.xml",
            lambda t: t.replace("<referenceTo>Case<", "<referenceTo>Lead<"),
        ),
        f"{ENVELOPE_OBJECT}.Case__c must look up Case, not Lead",
    ),
    "a malformed XML file": (
        lambda p: (p / FIELDS / "Status__c.field-meta.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            "    <fullName>Status__c</fullName>\n"
            "    <type>Picklist</typ>\n"
            "</CustomField>\n"
        ),
        f"{FIELDS}/Status__c.field-meta.xml: not well-formed XML: Opening and ending tag "
        "mismatch: type line 4 and typ, line 4, column 25 (<string>, line 4)",
    ),
    "metadata outside the metadata namespace": (
        lambda p: edit(p / CSP_SITE, lambda t: t.replace("2006/04/metadata", "2006/04/other")),
        f"{CSP_SITE}: the root element <CspTrustedSite> is not in the "
        "http://soap.sforce.com/2006/04/metadata namespace",
    ),
    "a metadata file with the wrong root": (
        lambda p: edit(
            p / FIELDS / "Record_Id__c.field-meta.xml",
            lambda t: t.replace("CustomField", "CustomObject"),
        ),
        f"{FIELDS}/Record_Id__c.field-meta.xml: the root element is <CustomObject>, "
        "expected <CustomField>",
    ),
    "a permission set naming a field that does not exist": (
        lambda p: edit(
            p / PERMISSION_SET,
            lambda t: t.replace(
                "</PermissionSet>",
                "<fieldPermissions><editable>false</editable>"
                f"<field>{ENVELOPE_OBJECT}.Signer__c</field><readable>true</readable>"
                "</fieldPermissions></PermissionSet>",
            ),
        ),
        f"Countersign.permissionset: field {ENVELOPE_OBJECT}.Signer__c does not exist in the "
        "project",
    ),
    "a canvas component naming another app": (
        lambda p: edit(
            p / PANEL,
            lambda t: t.replace('developerName="Countersign"', 'developerName="Countersigner"'),
        ),
        f"{PANEL}: force:canvasApp developerName 'Countersigner' matches no connected app "
        "(Countersign)",
    ),
    "a canvas component that passes no record": (
        lambda p: edit(p / PANEL, lambda t: t.replace('parameters="{!v.canvasParameters}"', "")),
        f"{PANEL}: force:canvasApp must pass the canvas parameters recordId, objectType "
        "(Countersign reads the record from them)",
    ),
    "a CSP trusted site for another server": (
        lambda p: edit(p / CSP_SITE, lambda t: t.replace(BASE, "https://old.example.com")),
        "no CSP trusted site for https://sign.example.com (the canvas frame's origin); "
        "found: https://old.example.com",
    ),
    "a CSP trusted site that allows no frames": (
        lambda p: edit(
            p / CSP_SITE,
            lambda t: t.replace("<isApplicableToFrameSrc>true", "<isApplicableToFrameSrc>false"),
        ),
        "Countersign.cspTrustedSite: isApplicableToFrameSrc must be true (the panel is a frame)",
    ),
    "an unfilled placeholder": (
        lambda p: edit(
            p / CONNECTED_APP,
            lambda t: t.replace(
                "<contactEmail>support@sign.example.com", "<contactEmail>{{CONTACT_EMAIL}}"
            ),
        ),
        f"{CONNECTED_APP}: unfilled placeholder {{{{CONTACT_EMAIL}}}}",
    ),
    "no default package directory": (
        lambda p: edit(
            p / "sfdx-project.json", lambda t: t.replace('"default": true', '"default": false')
        ),
        "sfdx-project.json: exactly one package directory must be the default, not 0",
    ),
}


@pytest.mark.parametrize("rule", SALESFORCE_BREAKS)
def test_a_broken_salesforce_rule_gives_its_message(salesforce_project: Path, rule: str) -> None:
    breaks, message = SALESFORCE_BREAKS[rule]
    breaks(salesforce_project)
    assert validate_salesforce(salesforce_project, BASE) == [message]


def test_a_required_write_back_field_breaks_the_write_back_and_the_deploy(
    salesforce_project: Path,
) -> None:
    edit(
        salesforce_project / FIELDS / "Account__c.field-meta.xml",
        lambda t: t.replace("<required>false", "<required>true"),
    )
    assert validate_salesforce(salesforce_project, BASE) == [
        f"{ENVELOPE_OBJECT}.Account__c must not be required: the write-back leaves it empty at "
        "times",
        f"Countersign.permissionset: {ENVELOPE_OBJECT}.Account__c is required, so it cannot "
        "have field permissions",
    ]


def test_a_project_built_for_another_server_does_not_fit(salesforce_project: Path) -> None:
    other = "https://other.example.com"
    assert validate_salesforce(salesforce_project, other) == [
        f"Countersign.connectedApp: the canvas URL is {BASE}/embed/salesforce/canvas, "
        f"expected {other}/embed/salesforce/canvas",
        f"Countersign.connectedApp: the OAuth callback URL is {BASE}/crm/oauth/callback, "
        f"expected {other}/crm/oauth/callback",
        f"no CSP trusted site for {other} (the canvas frame's origin); found: {BASE}",
    ]


def test_a_folder_that_is_no_sfdx_project(tmp_path: Path) -> None:
    assert validate_salesforce(tmp_path, BASE) == [f"sfdx-project.json: not found in {tmp_path}"]


def test_a_failed_salesforce_build_leaves_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = build_salesforce(BASE, tmp_path)
    monkeypatch.setattr(
        "manifests.build.validate_salesforce", lambda folder, base: ["something is off"]
    )
    with pytest.raises(InvalidPackage, match="the Salesforce package is invalid: something is off"):
        build_salesforce("https://new.example.com", tmp_path)
    assert validate_salesforce(project, BASE) == []
    assert sorted(os.listdir(tmp_path)) == [SALESFORCE_PROJECT, f"{SALESFORCE_PROJECT}.zip"]


# --- base URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("https://sign.example.com", "https://sign.example.com"),
        ("https://Sign.Example.com/", "https://sign.example.com"),
        (" https://sign.example.com:8443 ", "https://sign.example.com:8443"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
    ],
)
def test_good_base_urls_are_normalized(raw: str, normalized: str) -> None:
    assert check_base_url(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "sign.example.com",
            "base URL must be an https:// URL with a host, got 'sign.example.com'",
        ),
        ("ftp://sign.example.com", "base URL must be an https:// URL with a host"),
        ("http://sign.example.com", "base URL must use https:// (http:// only for localhost"),
        ("https://sign.example.com/countersign", "base URL must be the server's origin"),
        ("https://sign.example.com/?a=1", "base URL must be the server's origin"),
        ("https://admin:pw@sign.example.com", "base URL must not contain credentials"),
        ("https://sign.example.com:70000", "base URL has an invalid port"),
        ("https://sign_example.com", "base URL has an invalid host name"),
        ('https://sign.example.com"><x', "base URL has an invalid host name"),
    ],
)
def test_bad_base_urls_are_refused_in_one_line(raw: str, message: str, tmp_path: Path) -> None:
    for build in (build_zendesk, build_salesforce):
        with pytest.raises(ValueError, match=re.escape(message)) as refused:
            build(raw, tmp_path)
        assert "\n" not in str(refused.value)
    assert not tmp_path.joinpath(ZENDESK_ZIP).exists()


def test_a_bad_contact_email_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="contact email must be an email address"):
        build_salesforce(BASE, tmp_path, contact_email="not an address")


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def flask_app() -> Flask:
    app = Flask(__name__)
    app.cli.add_command(manifests_cli)
    return app


def test_cli_builds_the_zendesk_app(flask_app: Flask, tmp_path: Path) -> None:
    result = flask_app.test_cli_runner().invoke(
        args=["manifests", "build", "zendesk", "--base-url", BASE, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / ZENDESK_ZIP}\n"
    assert validate_zendesk(tmp_path / ZENDESK_ZIP) == []


def test_cli_builds_the_salesforce_project_and_its_zip(flask_app: Flask, tmp_path: Path) -> None:
    result = flask_app.test_cli_runner().invoke(
        args=["manifests", "build", "salesforce", "--base-url", BASE, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    project = tmp_path / SALESFORCE_PROJECT
    assert result.stdout.splitlines() == [str(project), f"{project}.zip"]
    assert validate_salesforce(project, BASE) == []


def test_cli_defaults_to_the_configured_base_url_and_dist(
    flask_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flask_app.extensions["countersign.settings"] = SimpleNamespace(base_url=BASE)
    monkeypatch.chdir(tmp_path)
    result = flask_app.test_cli_runner().invoke(args=["manifests", "build", "zendesk"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{Path('dist') / ZENDESK_ZIP}\n"
    assert (tmp_path / "dist" / ZENDESK_ZIP).is_file()


@pytest.mark.parametrize(
    ("args", "exit_code", "error"),
    [
        (
            ["zendesk", "--base-url", "http://sign.example.com"],
            1,
            "Error: base URL must use https:// (http:// only for localhost or 127.0.0.1), "
            "got 'http://sign.example.com'",
        ),
        (
            ["zendesk", "--base-url", "http://127.0.0.1:5000"],
            1,
            "Error: the Zendesk app is invalid: http://127.0.0.1:5000/embed/zendesk/sidebar is "
            "either an invalid location URI, refers to a missing asset, or does not use HTTPS.; "
            "Zendesk accepts http:// only on localhost: try http://localhost:5000",
        ),
        (
            ["salesforce"],
            1,
            "Error: --base-url is required (this app has no BASE_URL configured)",
        ),
    ],
)
def test_cli_errors_are_one_line(
    flask_app: Flask, tmp_path: Path, args: list[str], exit_code: int, error: str
) -> None:
    result = flask_app.test_cli_runner().invoke(
        args=["manifests", "build", *args, "--out", str(tmp_path)]
    )
    assert result.exit_code == exit_code
    assert result.stderr == f"{error}\n"
    assert result.stdout == ""


def test_cli_refuses_an_unknown_target(flask_app: Flask, tmp_path: Path) -> None:
    result = flask_app.test_cli_runner().invoke(
        args=["manifests", "build", "hubspot", "--base-url", BASE, "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "Invalid value for '{zendesk|salesforce}'" in result.stderr
    assert not any(tmp_path.iterdir())
