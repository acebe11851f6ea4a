"""Offline validators for the marketplace packages.

``validate_zendesk`` applies the rules of Zendesk's own validator (the ``zendesk_apps_support``
gem that ``zcli apps:validate`` runs on upload) that need no Zendesk account, with Zendesk's
wording, plus the Marketplace's logo sizes and a semantic ``version``. ``validate_salesforce``
checks an sfdx project the way a deploy would fail on it, and that it fits this deployment and
the write-back: the envelope object and every field the write-back sets, the permission set's
references, the canvas app's name, URL and access method, and the CSP trusted site.

Both return a list of one-line messages; an empty list means valid.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

# --- base URL --------------------------------------------------------------------------------

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})
_HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")


def check_base_url(raw: str) -> str:
    """The deployment's public origin, normalized (``https://sign.example.com``), or ValueError
    with a one-line reason. http:// is accepted only for localhost and 127.0.0.1 (the demo)."""
    text = raw.strip() if isinstance(raw, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base URL must be an https:// URL with a host, got {raw!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"base URL must not contain credentials, got {raw!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(
            f"base URL must be the server's origin, such as https://sign.example.com "
            f"(no path, query or fragment), got {raw!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"base URL has an invalid port, got {raw!r}") from None
    host = parts.hostname
    if not _HOST_RE.fullmatch(host):
        raise ValueError(f"base URL has an invalid host name, got {raw!r}")
    if parts.scheme == "http" and host not in _LOOPBACK_HOSTS:
        raise ValueError(
            f"base URL must use https:// (http:// only for localhost or 127.0.0.1), got {raw!r}"
        )
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


# --- Zendesk ---------------------------------------------------------------------------------

FRAMEWORK_VERSIONS = ("2.0",)
#: Zendesk products (hosts) → their location names (zendesk_apps_support Location/Product).
ZENDESK_LOCATIONS: dict[str, frozenset[str]] = {
    "support": frozenset(
        {
            "top_bar",
            "nav_bar",
            "ticket_sidebar",
            "new_ticket_sidebar",
            "user_sidebar",
            "organization_sidebar",
            "background",
            "modal",
            "ticket_editor",
            "system_top_bar",
        }
    ),
    "chat": frozenset({"chat_sidebar", "background"}),
    "standalone_chat": frozenset({"nav_bar", "system_top_bar"}),
    "sell": frozenset(
        {
            "deal_card",
            "person_card",
            "company_card",
            "lead_card",
            "background",
            "modal",
            "dashboard",
            "note_editor",
            "call_log_editor",
            "email_editor",
        }
    ),
}
#: Legacy host names Zendesk still accepts for the products above.
ZENDESK_LEGACY_HOSTS = {"zendesk": "support", "zopim": "chat", "lotus_box": "standalone_chat"}
PARAMETER_TYPES = ("text", "password", "checkbox", "url", "number", "multiline", "hidden", "oauth")
OAUTH_REQUIRED_FIELDS = ("client_id", "client_secret", "authorize_uri", "access_token_uri")
PRIVATE_APP_KEYS = ("name",)
PUBLIC_APP_KEYS = ("name", "short_description", "installation_instructions", "long_description")
#: Marketplace logo sizes: path → (width, height).
LOGOS = {"assets/logo.png": (320, 320), "assets/logo-small.png": (128, 128)}

_VALID_LOCALE = re.compile(r"[a-z]{2}(-\w{2,3})?", re.ASCII)
_TRANSLATION_PATH = re.compile(r"translations/(.*)\.json")
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TRANSLATIONS_DOC = (
    "https://developer.zendesk.com/apps/docs/developer-guide/deploying#app-internationalization"
)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str, original: Any, attempted: Any) -> None:
        super().__init__(key)
        self.key, self.original, self.attempted = key, original, attempted


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key, result[key], value)
        result[key] = value
    return result


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _shown(value: Any) -> str:
    """A value as Zendesk's messages show it (Ruby's to_s: nil is empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _listing(names: Iterable[str]) -> str:
    return ", ".join(names)


def _one_or_other(items: list[str], one: str, other: str) -> str:
    return (one if len(items) == 1 else other).format(_listing(items))


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None when ``data`` is not a PNG."""
    if len(data) < 24 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@dataclass
class _AppPackage:
    files: dict[str, bytes]
    errors: list[str]


def _read_app(app: Path) -> _AppPackage:
    files: dict[str, bytes] = {}
    errors: list[str] = []
    if app.is_dir():
        for path in sorted(app.rglob("*")):
            if path.is_file():
                files[path.relative_to(app).as_posix()] = path.read_bytes()
        return _AppPackage(files, errors)
    with zipfile.ZipFile(app) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                if "Symlinks are not allowed in the zip file" not in errors:
                    errors.append("Symlinks are not allowed in the zip file")
                continue
            files[PurePosixPath(info.filename).as_posix()] = archive.read(info)
    return _AppPackage(files, errors)


def validate_zendesk(app_dir_or_zip: Path) -> list[str]:
    """Zendesk's validation of an app folder or zip: manifest, translations, logos."""
    try:
        package = _read_app(Path(app_dir_or_zip))
    except (OSError, zipfile.BadZipFile) as error:
        return [f"Could not read the app package {app_dir_or_zip}: {error}"]
    errors = list(package.errors)
    files = package.files
    if "manifest.json" not in files:
        nested = next(
            (name for name in sorted(files) if re.fullmatch(r"[^/]+/manifest\.json", name)), None
        )
        if nested:
            return [
                *errors,
                f"Could not find manifest.json in the root of the zip file, but {nested} was "
                "found. Try re-creating the archive from this directory.",
            ]
        return [*errors, "Could not find manifest.json"]
    try:
        manifest = json.loads(
            files["manifest.json"].decode("utf-8"), object_pairs_hook=_no_duplicates
        )
    except _DuplicateKeyError as error:
        return [
            *errors,
            "Duplicate keys are specified in the manifest.json file. "
            f'Duplicate reference in manifest: "{error.key}". Initially set to '
            f'"{_shown(error.original)}", attempted overwrite to "{_shown(error.attempted)}".',
        ]
    except (ValueError, UnicodeDecodeError) as error:
        return [*errors, f"manifest is not proper JSON. {error}"]
    if not isinstance(manifest, dict):
        return [
            *errors,
            f"manifest is not proper JSON. Expected an object, got {_json_type(manifest)}",
        ]
    errors += _manifest_errors(manifest, files)
    errors += _translation_errors(manifest, files)
    errors += _logo_errors(files)
    return errors


def _manifest_errors(manifest: dict[str, Any], files: Mapping[str, bytes]) -> list[str]:
    errors: list[str] = []
    author = manifest.get("author")
    missing = [key for key in ("author", "defaultLocale") if manifest.get(key) is None]
    if isinstance(author, dict):
        missing += [f"author.{key}" for key in ("name", "email") if not author.get(key)]
    if missing:
        errors.append(
            _one_or_other(
                missing,
                "Missing required field in manifest: {}",
                "Missing required fields in manifest: {}",
            )
        )
    errors += _type_errors(manifest)
    errors += _oauth_errors(manifest)
    locale = manifest.get("defaultLocale")
    if isinstance(locale, str):
        if not _VALID_LOCALE.fullmatch(locale):
            errors.append(f"{locale} is not a valid default locale.")
        elif f"translations/{locale}.json" not in files:
            errors.append(
                f"Missing translation file for locale '{locale}'. Learn more: {_TRANSLATIONS_DOC}"
            )
    for label, value in (
        ("author url", author.get("url") if isinstance(author, dict) else None),
        ("terms_conditions_url", manifest.get("termsConditionsURL")),
    ):
        if isinstance(value, str) and not re.match(r"https?://", value):
            errors.append(f'{label} must be a valid URL, got "{value}".')
    errors += _parameter_errors(manifest)
    if manifest.get("requirementsOnly") is True or manifest.get("marketingOnly") is True:
        if manifest.get("location"):
            errors.append("Locations can't be defined when you specify requirements only")
        if manifest.get("frameworkVersion") is not None:
            errors.append("Framework versions can't be set when you specify requirements only")
    else:
        errors += _location_errors(manifest.get("location"), files)
        framework = manifest.get("frameworkVersion")
        if framework is None:
            errors.append("Missing required field in manifest: frameworkVersion")
        elif isinstance(framework, str) and framework not in FRAMEWORK_VERSIONS:
            errors.append(
                f"{_shown(framework)} is not a valid framework version. "
                f"Available versions are: {_listing(FRAMEWORK_VERSIONS)}."
            )
    version = manifest.get("version")
    if isinstance(version, str) and not _SEMVER.fullmatch(version):
        errors.append(f'version must be a semantic version (MAJOR.MINOR.PATCH), got "{version}".')
    return errors


def _type_errors(manifest: dict[str, Any]) -> list[str]:
    errors = []
    for key in ("requirementsOnly", "marketingOnly", "singleInstall", "signedUrls", "private"):
        if key in manifest and not isinstance(manifest[key], bool):
            errors.append(f'{key} must be a boolean value, got "{_shown(manifest[key])}".')
    strings = ("defaultLocale", "version", "frameworkVersion", "remoteInstallationURL")
    for key in (*strings, "termsConditionsURL", "gaID"):
        value = manifest.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(f'{key} must be a string, got "{_shown(value)}".')
    author = manifest.get("author")
    if author is not None and not isinstance(author, dict):
        errors.append(
            "The manifest field author needs to be key-value pairs with string keys, "
            f"but it was {_json_type(author)}"
        )
    elif isinstance(author, dict):
        for key in ("name", "email", "url"):
            value = author.get(key)
            if value is not None and not isinstance(value, str):
                errors.append(f'author {key} must be a string, got "{_shown(value)}".')
    whitelist = manifest.get("domainWhitelist")
    if whitelist is not None and not (
        isinstance(whitelist, list) and all(isinstance(item, str) for item in whitelist)
    ):
        errors.append("The manifest field domainWhitelist need to be an array containing strings")
    parameters = manifest.get("parameters")
    if parameters is not None and not isinstance(parameters, list):
        errors.append(
            "The manifest field parameters needs to be an array, "
            f"but it was {_json_type(parameters)}"
        )
    return errors


def _parameters(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = manifest.get("parameters")
    if not isinstance(parameters, list):
        return []
    return [p for p in parameters if isinstance(p, dict)]


def _oauth_errors(manifest: dict[str, Any]) -> list[str]:
    oauth = manifest.get("oauth")
    if not oauth:
        return []
    errors = []
    settings = oauth if isinstance(oauth, dict) else {}
    missing = [key for key in OAUTH_REQUIRED_FIELDS if not settings.get(key)]
    if missing:
        errors.append(
            _one_or_other(
                missing,
                "Missing required oauth field in manifest: {}",
                "Missing required oauth fields in manifest: {}",
            )
        )
    if not any(p.get("type") == "oauth" for p in _parameters(manifest)):
        errors.append(
            "Missing parameter of type 'oauth'. Learn about oauth property in manifest: "
            "https://developer.zendesk.com/apps/docs/developer-guide/manifest#oauth"
        )
    return errors


def _parameter_errors(manifest: dict[str, Any]) -> list[str]:
    parameters = _parameters(manifest)
    errors: list[str] = []
    others = manifest.get("parameters")
    if isinstance(others, list) and len(others) != len(parameters):
        errors.append("App parameters must be objects with a name and a type.")
    if not parameters:
        return errors
    unnamed = sum(1 for p in parameters if not isinstance(p.get("name"), str) or not p["name"])
    if unnamed:
        errors.append("Missing required field in manifest: parameters.name")
    names = [p["name"] for p in parameters if isinstance(p.get("name"), str) and p["name"]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return [*errors, f"Duplicate app parameters defined: {_listing(duplicates)}"]
    for key in ("required", "secure"):
        for p in parameters:
            if key in p and not isinstance(p[key], bool):
                errors.append(
                    f"parameters.{_shown(p.get('name'))}.{key} must be a boolean value, "
                    f'got "{_shown(p[key])}".'
                )
    hidden = [
        _shown(p.get("name"))
        for p in parameters
        if p.get("type") == "hidden" and p.get("required") is True
    ]
    if hidden:
        errors.append(
            _one_or_other(
                hidden,
                "{} is set to hidden and cannot be required.",
                "{} are set to hidden and cannot be required.",
            )
        )
    # Zendesk treats a parameter without a type as "text".
    invalid = [
        _shown(p.get("type")) for p in parameters if p.get("type", "text") not in PARAMETER_TYPES
    ]
    if invalid:
        errors.append(
            _one_or_other(
                invalid, "{} is an invalid parameter type.", "{} are invalid parameter types."
            )
        )
    oauth = [p for p in parameters if p.get("type") == "oauth"]
    if len(oauth) > 1:
        errors.append("Too many parameters with type 'oauth': one permitted")
    if any(p.get("secure") is True for p in oauth):
        errors.append("oauth parameter cannot be set to be secure.")
    if "name" in names:
        errors.append("Can't call a parameter 'name'")
    errors += _scope_errors(parameters)
    return errors


def _scope_errors(parameters: list[dict[str, Any]]) -> list[str]:
    errors = []
    unscoped = []
    for p in parameters:
        name, secure = _shown(p.get("name")), p.get("secure") is True
        if "scopes" not in p:
            if secure and p.get("type") != "oauth":
                unscoped.append(name)
            continue
        scopes = p["scopes"]
        if not secure:
            errors.append("Scopes can only be defined on secure parameters.")
        elif not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
            errors.append(
                f"The manifest field parameters.{name}.scopes need to be an array "
                "containing strings"
            )
        elif not scopes:
            errors.append("Scopes cannot be empty when defined.")
    if unscoped:
        errors.append(
            _one_or_other(
                unscoped,
                "{} is secure and must declare its scopes.",
                "{} are secure and must declare their scopes.",
            )
        )
    return errors


def _location_errors(location: Any, files: Mapping[str, bytes]) -> list[str]:
    if not location:
        return ["Missing required field in manifest: location"]
    if not isinstance(location, dict):
        return ["App locations need to be URLs for this framework version."]
    if not any(isinstance(entries, dict) and entries for entries in location.values()):
        return ["Missing required field in manifest: location"]
    errors: list[str] = []
    for host in location:
        if host not in ZENDESK_LOCATIONS and host not in ZENDESK_LEGACY_HOSTS:
            errors.append(f"{host} is an invalid host for apps.")
    for product, known in ZENDESK_LOCATIONS.items():
        legacy = next((old for old, new in ZENDESK_LEGACY_HOSTS.items() if new == product), None)
        locations = location.get(product, location.get(legacy) if legacy else None)
        if locations is None:
            continue
        if not isinstance(locations, dict):
            errors.append("App locations need to be URLs for this framework version.")
            continue
        unknown = [name for name in locations if name not in known]
        if unknown:
            errors.append(
                _one_or_other(
                    unknown,
                    "{} is an invalid location in " + product.capitalize() + ".",
                    "{} are invalid locations in " + product.capitalize() + ".",
                )
            )
        for name, options in locations.items():
            if name in known:
                errors += _location_option_errors(name, options, files)
    return errors


def _location_option_errors(name: str, options: Any, files: Mapping[str, bytes]) -> list[str]:
    if isinstance(options, str):
        options = {"url": options}
    if not isinstance(options, dict):
        return ["App locations need to be URLs for this framework version."]
    errors = []
    url = options.get("url")
    if isinstance(url, str) and url:
        if not _valid_location_uri(url, files):
            errors.append(
                f"{url} is either an invalid location URI, refers to a missing asset, "
                "or does not use HTTPS."
            )
    elif options.get("autoLoad", True) is not False:
        errors.append(f"{name} location does not specify a URI.")
    flexible = options.get("flexible")
    if flexible is not None and not isinstance(flexible, bool):
        errors.append(f"{_shown(flexible)} is an invalid type for the flexible location parameter.")
    return errors


def _valid_location_uri(url: str, files: Mapping[str, bytes]) -> bool:
    """Zendesk's rule: an absolute URI is https (or any scheme on host ``localhost``); a relative
    one names an existing file under assets/."""
    if "{{setting." in url:
        return True
    if any(c.isspace() for c in url) or "{" in url or "}" in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme:
        return bool(parts.netloc) and (parts.scheme == "https" or parts.hostname == "localhost")
    return parts.path.startswith("assets/") and parts.path in files


def _translation_errors(manifest: dict[str, Any], files: Mapping[str, bytes]) -> list[str]:
    errors: list[str] = []
    parsed: dict[str, Any] = {}
    for path in sorted(files):
        match = _TRANSLATION_PATH.fullmatch(path)
        if not match:
            continue
        if not _VALID_LOCALE.fullmatch(match[1]):
            errors.append(f"{path} is not a valid locale.")
            continue
        try:
            content = json.loads(files[path].decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            errors.append(f"{path} is not valid JSON. {error}")
            continue
        if not isinstance(content, dict):
            errors.append(f"{path} is not a JSON object.")
            continue
        parsed[path] = content
    private = manifest.get("private", True) is not False
    required = PRIVATE_APP_KEYS if private else PUBLIC_APP_KEYS
    locale = manifest.get("defaultLocale")
    checked = {f"translations/{locale}.json", "translations/en.json"}
    for path in sorted(checked & parsed.keys()):
        app = parsed[path].get("app")
        present = set(app) if isinstance(app, dict) else set()
        if "description" in present:  # Zendesk still accepts the old name
            present.add("short_description")
        missing = [
            key
            for key in required
            if key not in present or (isinstance(app, dict) and not _text(app.get(key)))
        ]
        if missing:
            errors.append(f"Missing required key from {path}: {_listing(missing)}")
    return errors


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _logo_errors(files: Mapping[str, bytes]) -> list[str]:
    errors = []
    for path, (width, height) in LOGOS.items():
        if path not in files:
            errors.append(f"Could not find {path}")
            continue
        size = png_size(files[path])
        if size is None:
            errors.append(f"{path} must be a PNG file.")
        elif size != (width, height):
            errors.append(
                f"Invalid image dimensions in {path}: {size[0]}x{size[1]}px. "
                f"Must be {width}x{height}px."
            )
    return errors


# --- Salesforce ------------------------------------------------------------------------------

METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
ENVELOPE_OBJECT = "Countersign_Envelope__c"
CANVAS_PATH = "/embed/salesforce/canvas"
OAUTH_CALLBACK_PATH = "/crm/oauth/callback"
#: OAuth scopes the Countersign server asks Salesforce for ("api refresh_token").
OAUTH_SCOPES = ("Api", "RefreshToken")
#: ConnectedAppCanvasConfig.locations values (CanvasLocationOptions); Aura is the Lightning
#: component location that force:canvasApp needs.
CANVAS_LOCATIONS = frozenset(
    {
        "AppLauncher",
        "Aura",
        "Chatter",
        "ChatterFeed",
        "MobileNav",
        "None",
        "OpenCTI",
        "PageLayout",
        "Publisher",
        "ServiceDesk",
        "UserProfile",
        "Visualforce",
    }
)
#: What the record page's canvas app passes in environment.parameters (connector/embedding.py).
CANVAS_PARAMETERS = ("recordId", "objectType")
#: CspTrustedSite contexts under which Lightning record pages may frame the server.
CSP_CONTEXTS = frozenset({"All", "LEX"})
#: Metadata file suffix → the root element it must have.
META_ROOTS = {
    ".object-meta.xml": "CustomObject",
    ".field-meta.xml": "CustomField",
    ".connectedApp-meta.xml": "ConnectedApp",
    ".permissionset-meta.xml": "PermissionSet",
    ".cspTrustedSite-meta.xml": "CspTrustedSite",
    ".cmp-meta.xml": "AuraDefinitionBundle",
    ".evt-meta.xml": "AuraDefinitionBundle",
    ".intf-meta.xml": "AuraDefinitionBundle",
    ".js-meta.xml": "LightningComponentBundle",
    ".cls-meta.xml": "ApexClass",
    ".trigger-meta.xml": "ApexTrigger",
    ".page-meta.xml": "ApexPage",
    ".component-meta.xml": "ApexComponent",
    ".layout-meta.xml": "Layout",
    ".flexipage-meta.xml": "FlexiPage",
    ".tab-meta.xml": "CustomTab",
    ".listView-meta.xml": "ListView",
    ".compactLayout-meta.xml": "CompactLayout",
    ".remoteSite-meta.xml": "RemoteSiteSetting",
    ".corsWhitelistOrigin-meta.xml": "CorsWhitelistOrigin",
    ".profile-meta.xml": "Profile",
}
#: Aura markup files, parsed as XML with their prefixes (aura:, force:…) declared.
AURA_MARKUP_SUFFIXES = (".cmp", ".app", ".evt", ".intf", ".design")


@dataclass(frozen=True)
class FieldRule:
    """What the write-back needs of one ``Countersign_Envelope__c`` field."""

    types: tuple[str, ...]
    min_length: int | None = None
    external_id: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    reference_to: str | None = None
    may_be_unset: bool = True


#: Every field the write-back sets (crm_adapters/salesforce/mapping.py: envelope_record).
WRITEBACK_FIELDS: dict[str, FieldRule] = {
    "External_Id__c": FieldRule(
        ("Text",), min_length=36, external_id=True, unique=True, may_be_unset=False
    ),
    "Status__c": FieldRule(
        ("Picklist",),
        picklist=("Sent", "Completed", "Declined", "Voided", "Expired"),
        may_be_unset=False,
    ),
    "Sent_At__c": FieldRule(("DateTime",)),
    "Completed_At__c": FieldRule(("DateTime",)),
    "Document_URL__c": FieldRule(("Url",)),
    "Record_Id__c": FieldRule(("Text",), min_length=18, may_be_unset=False),
    "Case__c": FieldRule(("Lookup",), reference_to="Case"),
    "Account__c": FieldRule(("Lookup",), reference_to="Account"),
    "Opportunity__c": FieldRule(("Lookup",), reference_to="Opportunity"),
    "Contact__c": FieldRule(("Lookup",), reference_to="Contact"),
}


def _q(name: str) -> str:
    return f"{{{METADATA_NS}}}{name}"


def _text_of(element: Any, name: str) -> str | None:
    child = element.find(_q(name))
    if child is None or child.text is None:
        return None
    return str(child.text).strip()


def _texts_of(element: Any, name: str) -> list[str]:
    return [str(child.text or "").strip() for child in element.findall(_q(name))]


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _parse_metadata(path: Path, rel: str) -> tuple[Any, str | None]:
    """(root element, None) or (None, message)."""
    try:
        root = etree.fromstring(path.read_bytes(), _parser())
    except etree.XMLSyntaxError as error:
        return None, f"{rel}: not well-formed XML: {error}"
    expected = next((root for suffix, root in META_ROOTS.items() if rel.endswith(suffix)), None)
    qname = etree.QName(root)
    if qname.namespace != METADATA_NS:
        return (
            None,
            f"{rel}: the root element <{qname.localname}> is not in the {METADATA_NS} namespace",
        )
    if expected and qname.localname != expected:
        return None, f"{rel}: the root element is <{qname.localname}>, expected <{expected}>"
    return root, None


_PREFIX_RE = re.compile(r"</?([A-Za-z_][\w.-]*):|\s([A-Za-z_][\w.-]*):[\w.-]+\s*=")


def _parse_markup(path: Path, rel: str) -> tuple[Any, str | None]:
    """Aura markup uses undeclared prefixes (aura:, force:, lightning:); declare them on a wrapper
    element (on the same line, so line numbers hold) and parse."""
    text = path.read_text(encoding="utf-8")
    prefixes = sorted({p for pair in _PREFIX_RE.findall(text) for p in pair if p and p != "xmlns"})
    declarations = "".join(f' xmlns:{p}="urn:aura:{p}"' for p in prefixes)
    try:
        wrapper = etree.fromstring(f"<markup{declarations}>{text}</markup>".encode(), _parser())
    except etree.XMLSyntaxError as error:
        return None, f"{rel}: not well-formed markup: {error}"
    roots = [child for child in wrapper if isinstance(child.tag, str)]
    if len(roots) != 1:
        return None, f"{rel}: not well-formed markup: expected one root element"
    return roots[0], None


@dataclass
class _Project:
    dir: Path
    errors: list[str]
    package_dirs: list[Path]
    #: relative path → parsed root (None when it did not parse)
    metadata: dict[str, Any]
    markup: dict[str, Any]

    def named(self, suffix: str) -> dict[str, Any]:
        """Files with this suffix: component name (the file name less the suffix) → root."""
        return {
            PurePosixPath(rel).name[: -len(suffix)]: root
            for rel, root in self.metadata.items()
            if rel.endswith(suffix)
        }


def validate_salesforce(project_dir: Path, base_url: str) -> list[str]:
    """An sfdx project's problems for this deployment and the write-back, one line each."""
    try:
        base = check_base_url(base_url)
    except ValueError as error:
        return [str(error)]
    project = _load_project(Path(project_dir))
    if project.errors and not project.package_dirs:
        return project.errors
    errors = project.errors
    missing_fields = _object_errors(project, errors)
    _permission_set_errors(project, errors, missing_fields)
    apps = _connected_app_errors(project, base, errors)
    _aura_errors(project, apps, errors)
    _csp_errors(project, base, errors)
    return errors


def _load_project(project_dir: Path) -> _Project:
    project_dir = project_dir.resolve()
    project = _Project(project_dir, [], [], {}, {})
    config_path = project_dir / "sfdx-project.json"
    if not config_path.is_file():
        project.errors.append(f"sfdx-project.json: not found in {project_dir}")
        return project
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        project.errors.append(f"sfdx-project.json: not valid JSON: {error}")
        return project
    directories = config.get("packageDirectories") if isinstance(config, dict) else None
    if not isinstance(directories, list) or not directories:
        project.errors.append("sfdx-project.json: packageDirectories must be a non-empty array")
        return project
    defaults = 0
    for entry in directories:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or not path:
            project.errors.append("sfdx-project.json: every package directory needs a path")
            continue
        defaults += entry.get("default") is True
        directory = (project_dir / path).resolve()
        if not directory.is_dir() or not directory.is_relative_to(project_dir):
            project.errors.append(f"sfdx-project.json: package directory {path!r} does not exist")
            continue
        project.package_dirs.append(directory)
    if defaults != 1:
        project.errors.append(
            f"sfdx-project.json: exactly one package directory must be the default, not {defaults}"
        )
    version = config.get("sourceApiVersion")
    if not isinstance(version, str) or not re.fullmatch(r"\d{2,3}\.0", version):
        project.errors.append(
            f'sfdx-project.json: sourceApiVersion must be an API version such as "59.0", '
            f"got {version!r}"
        )
    if not isinstance(config.get("namespace", ""), str):
        project.errors.append('sfdx-project.json: namespace must be a string ("" for none)')
    for directory in project.package_dirs:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            rel = path.relative_to(project_dir).as_posix()
            if rel.endswith("-meta.xml"):
                project.metadata[rel], problem = _parse_metadata(path, rel)
            elif rel.endswith(AURA_MARKUP_SUFFIXES) and "/aura/" in f"/{rel}":
                project.markup[rel], problem = _parse_markup(path, rel)
            else:
                problem = None
            if problem:
                project.errors.append(problem)
            if path.suffix in {".xml", ".json", ".cmp", ".js", ".design"}:
                placeholder = re.search(r"\{\{[A-Z_]+\}\}", path.read_text(encoding="utf-8"))
                if placeholder:
                    project.errors.append(f"{rel}: unfilled placeholder {placeholder[0]}")
    return project


def _object_fields(project: _Project, obj: str) -> dict[str, Any]:
    """Field name → parsed root (None if it did not parse) for one object's fields."""
    marker = f"/objects/{obj}/fields/"
    return {
        PurePosixPath(rel).name[: -len(".field-meta.xml")]: root
        for rel, root in project.metadata.items()
        if marker in f"/{rel}" and rel.endswith(".field-meta.xml")
    }


def _objects(project: _Project) -> dict[str, Any]:
    return project.named(".object-meta.xml")


def _object_errors(project: _Project, errors: list[str]) -> set[str]:
    """Checks the envelope object and the write-back's fields; returns the missing fields."""
    objects = _objects(project)
    if ENVELOPE_OBJECT not in objects:
        errors.append(
            f"{ENVELOPE_OBJECT}: the custom object is missing "
            f"(objects/{ENVELOPE_OBJECT}/{ENVELOPE_OBJECT}.object-meta.xml)"
        )
    else:
        root = objects[ENVELOPE_OBJECT]
        name_field = root.find(_q("nameField")) if root is not None else None
        if root is not None and (name_field is None or _text_of(name_field, "type") != "Text"):
            errors.append(
                f"{ENVELOPE_OBJECT}: the Name field must be Text "
                "(the write-back sets it to the envelope's title)"
            )
    for obj in objects:
        for name, root in _object_fields(project, obj).items():
            if root is not None and _text_of(root, "fullName") not in (None, name):
                errors.append(
                    f"{obj}.{name}: fullName {_text_of(root, 'fullName')} "
                    "does not match the file name"
                )
    fields = _object_fields(project, ENVELOPE_OBJECT)
    missing = set()
    for name, rule in WRITEBACK_FIELDS.items():
        label = f"{ENVELOPE_OBJECT}.{name}"
        if name not in fields:
            missing.add(name)
            errors.append(f"{label} is missing: the write-back sets it (a {rule.types[0]} field)")
            continue
        root = fields[name]
        if root is not None:
            errors += _field_errors(label, root, rule)
    return missing


def _field_errors(label: str, root: Any, rule: FieldRule) -> list[str]:
    kind = _text_of(root, "type")
    if kind not in rule.types:
        return [f"{label} is a {kind or 'typeless'} field; the write-back needs {rule.types[0]}"]
    errors = []
    if rule.min_length is not None:
        length = _text_of(root, "length")
        if not (length or "").isdigit() or int(length or 0) < rule.min_length:
            errors.append(
                f"{label} holds {length or 'no'} characters; the write-back needs at least "
                f"{rule.min_length}"
            )
    if rule.external_id and _text_of(root, "externalId") != "true":
        errors.append(
            f"{label} must be an external id (externalId true): the write-back upserts on it"
        )
    if rule.unique and _text_of(root, "unique") != "true":
        errors.append(f"{label} must be unique (unique true): it is the envelope's id")
    if rule.picklist:
        values = [_text_of(v, "fullName") for v in root.iter(_q("value"))]
        absent = [value for value in rule.picklist if value not in values]
        if absent:
            errors.append(f"{label} lacks picklist values the write-back uses: {_listing(absent)}")
    if rule.reference_to:
        target = _text_of(root, "referenceTo")
        if target != rule.reference_to:
            errors.append(f"{label} must look up {rule.reference_to}, not {target or 'nothing'}")
        if not _text_of(root, "relationshipName"):
            errors.append(f"{label} has no relationshipName")
        constraint = _text_of(root, "deleteConstraint")
        if constraint not in (None, "SetNull"):
            errors.append(
                f"{label} has deleteConstraint {constraint}; use SetNull so that deleting the "
                "record keeps its envelopes"
            )
    if rule.may_be_unset and _text_of(root, "required") == "true":
        errors.append(f"{label} must not be required: the write-back leaves it empty at times")
    return errors


def _permission_set_errors(project: _Project, errors: list[str], missing: set[str]) -> None:
    objects = _objects(project)
    fields = {obj: _object_fields(project, obj) for obj in objects}
    skipped = {f"{ENVELOPE_OBJECT}.{name}" for name in missing}
    grants: dict[str, set[str]] = {}
    unparsed = False  # an unparsable permission set is reported once, not as missing grants
    for name, root in project.named(".permissionset-meta.xml").items():
        if root is None:
            unparsed = True
            continue
        label = f"{name}.permissionset"
        for permission in root.findall(_q("objectPermissions")):
            obj = _text_of(permission, "object") or ""
            if obj.endswith("__c") and obj not in objects:
                errors.append(f"{label}: object {obj} does not exist in the project")
            for right in ("allowCreate", "allowEdit", "allowRead"):
                if _text_of(permission, right) == "true":
                    grants.setdefault(obj, set()).add(right)
        for permission in root.findall(_q("fieldPermissions")):
            reference = _text_of(permission, "field") or ""
            obj, _, field = reference.partition(".")
            if reference in skipped:
                continue
            if (obj.endswith("__c") or field.endswith("__c")) and field not in fields.get(obj, {}):
                errors.append(f"{label}: field {reference} does not exist in the project")
                continue
            field_root = fields.get(obj, {}).get(field)
            if field_root is not None and _text_of(field_root, "required") == "true":
                errors.append(
                    f"{label}: {reference} is required, so it cannot have field permissions"
                )
            if _text_of(permission, "editable") == "true":
                grants.setdefault(reference, set()).add("editable")
    if unparsed or ENVELOPE_OBJECT not in objects:
        return
    if not {"allowCreate", "allowEdit", "allowRead"} <= grants.get(ENVELOPE_OBJECT, set()):
        errors.append(
            f"no permission set grants create, edit and read on {ENVELOPE_OBJECT} "
            "(the write-back upserts its records)"
        )
    ungranted = [
        name
        for name in WRITEBACK_FIELDS
        if name not in missing and "editable" not in grants.get(f"{ENVELOPE_OBJECT}.{name}", set())
    ]
    if ungranted:
        errors.append(
            f"no permission set grants edit on {ENVELOPE_OBJECT}.{{{_listing(ungranted)}}} "
            "(the write-back sets them)"
        )


def _connected_app_errors(project: _Project, base: str, errors: list[str]) -> set[str]:
    """Checks the canvas app; returns the names of every connected app in the project."""
    apps = project.named(".connectedApp-meta.xml")
    permission_sets = set(project.named(".permissionset-meta.xml"))
    canvas_apps = {name: root for name, root in apps.items() if root is not None}
    if not apps:
        errors.append("no connected app: the Countersign canvas app is missing (connectedApps/)")
    for name, root in canvas_apps.items():
        label = f"{name}.connectedApp"
        for required in ("contactEmail", "label"):
            if not _text_of(root, required):
                errors.append(f"{label}: {required} is required")
        canvas = root.find(_q("canvasConfig"))
        if canvas is None:
            errors.append(f"{label}: no canvasConfig (the Countersign panel is a canvas app)")
        else:
            url = _text_of(canvas, "canvasUrl")
            if url != base + CANVAS_PATH:
                errors.append(f"{label}: the canvas URL is {url}, expected {base}{CANVAS_PATH}")
            method = _text_of(canvas, "accessMethod")
            if method != "Post":
                errors.append(
                    f"{label}: the canvas accessMethod is {method}; it must be Post "
                    "(Countersign reads the signed request)"
                )
            locations = _texts_of(canvas, "locations")
            unknown = [value for value in locations if value not in CANVAS_LOCATIONS]
            if unknown:
                errors.append(f"{label}: unknown canvas locations: {_listing(unknown)}")
            if "Aura" not in locations:
                errors.append(
                    f"{label}: the canvas locations must include Aura (the Lightning component)"
                )
        oauth = root.find(_q("oauthConfig"))
        if oauth is None:
            errors.append(f"{label}: no oauthConfig (Countersign connects through OAuth)")
        else:
            callback = _text_of(oauth, "callbackUrl")
            if callback != base + OAUTH_CALLBACK_PATH:
                errors.append(
                    f"{label}: the OAuth callback URL is {callback}, "
                    f"expected {base}{OAUTH_CALLBACK_PATH}"
                )
            scopes = _texts_of(oauth, "scopes")
            absent = [scope for scope in OAUTH_SCOPES if scope not in scopes]
            if absent:
                errors.append(f"{label}: the OAuth scopes lack {_listing(absent)}")
        for permission_set in _texts_of(root, "permissionSetName"):
            if permission_set not in permission_sets:
                errors.append(
                    f"{label}: permission set {permission_set} does not exist in the project"
                )
    return set(apps)


def _aura_errors(project: _Project, apps: set[str], errors: list[str]) -> None:
    hosts = 0
    bundles = {PurePosixPath(rel).parent for rel in project.markup}
    for bundle in sorted(bundles):
        cmp = f"{bundle}/{bundle.name}.cmp"
        if cmp in project.markup and f"{cmp}-meta.xml" not in project.metadata:
            errors.append(f"{cmp}: its {bundle.name}.cmp-meta.xml is missing")
    for rel, root in sorted(project.markup.items()):
        if root is None or not rel.endswith(".cmp"):
            continue
        canvases = [
            e for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("}canvasApp")
        ]
        for canvas in canvases:
            developer_name = canvas.get("developerName")
            if developer_name not in apps:
                errors.append(
                    f"{rel}: force:canvasApp developerName {developer_name!r} matches no "
                    f"connected app ({_listing(sorted(apps)) or 'none'})"
                )
        implements = {i.strip() for i in (root.get("implements") or "").split(",")}
        if canvases and {"flexipage:availableForRecordHome", "force:hasRecordId"} <= implements:
            hosts += 1
            folder = (project.dir / rel).parent
            source = "".join(
                path.read_text(encoding="utf-8", errors="replace")
                for path in sorted(folder.iterdir())
                if path.suffix in (".cmp", ".js")
            )
            absent = [name for name in CANVAS_PARAMETERS if name not in source]
            if any(not canvas.get("parameters") for canvas in canvases) or absent:
                errors.append(
                    f"{rel}: force:canvasApp must pass the canvas parameters "
                    f"{_listing(CANVAS_PARAMETERS)} (Countersign reads the record from them)"
                )
    parsed = all(root is not None for rel, root in project.markup.items() if rel.endswith(".cmp"))
    if not hosts and parsed:
        errors.append(
            "no Aura component hosts the canvas app on record pages (force:canvasApp in a "
            "component implementing flexipage:availableForRecordHome,force:hasRecordId)"
        )


def _csp_errors(project: _Project, base: str, errors: list[str]) -> None:
    sites = project.named(".cspTrustedSite-meta.xml")
    if any(root is None for root in sites.values()):
        return
    matching = {name: root for name, root in sites.items() if _text_of(root, "endpointUrl") == base}
    if not matching:
        found = _listing(f"{_text_of(root, 'endpointUrl')}" for root in sites.values()) or "none"
        errors.append(f"no CSP trusted site for {base} (the canvas frame's origin); found: {found}")
    for name, root in matching.items():
        label = f"{name}.cspTrustedSite"
        if _text_of(root, "isActive") != "true":
            errors.append(f"{label}: isActive must be true")
        if _text_of(root, "isApplicableToFrameSrc") != "true":
            errors.append(f"{label}: isApplicableToFrameSrc must be true (the panel is a frame)")
        context = _text_of(root, "context")
        if context not in CSP_CONTEXTS:
            errors.append(f"{label}: context {context} does not cover Lightning pages (use All)")
