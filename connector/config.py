"""Settings read once from the environment, validated at start, then read-only.

Every problem is reported as one line naming the variable, so an operator can fix them all at once.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The variables an operator may set; the README's configuration table lists the same.
VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "STORAGE_URL",
    "SECRET_KEY",
    "MASTER_KEY",
    "SMTP_URL",
    "BASE_URL",
    "PORT",
    "COUNTERSIGN_ENV",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "INSTANCE_PATH",
    "MAX_UPLOAD_MB",
    "MAIL_FROM",
    "SEAL_PKCS12",
    "SEAL_PKCS12_PASSWORD",
    "SEAL_KEY_PEM",
    "SEAL_CERT_PEM",
    "TIMESTAMP_URL",
    "ZENDESK_CLIENT_ID",
    "ZENDESK_CLIENT_SECRET",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_LOGIN_URL",
    "CRM_SANDBOX",
)

DATABASE_SCHEMES = {"sqlite", "postgresql", "postgresql+psycopg", "postgres"}
REDIS_SCHEMES = {"redis", "rediss", "unix"}
SMTP_SCHEMES = {"smtp", "smtps", "smtp+starttls"}
STORAGE_SCHEMES = {"file", "s3"}


class ConfigError(Exception):
    """Start-up configuration is unusable; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    env: str
    instance_path: Path
    database_url: str
    redis_url: str | None
    storage_url: str
    secret_key: str
    master_key: bytes
    smtp_url: str | None
    base_url: str
    port: int
    log_format: str
    log_level: str
    max_upload_mb: int
    mail_from: str = "Countersign <no-reply@localhost>"
    #: The deployment's seal: a PKCS#12 file, or a PEM key and certificate chain (paths).
    seal_pkcs12: str | None = None
    seal_pkcs12_password: str | None = None
    seal_key_pem: str | None = None
    seal_cert_pem: str | None = None
    timestamp_url: str | None = None
    #: OAuth apps registered with each CRM, for the authorization-code flows.
    oauth_clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    salesforce_login_url: str = "https://login.salesforce.com"
    #: Serve the local Zendesk/Salesforce simulators (on by default in development).
    crm_sandbox: bool = False
    testing: bool = False

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def jobs_inline(self) -> bool:
        return self.redis_url is None

    @property
    def storage_path(self) -> Path:
        return Path(urlsplit(self.storage_url).path)

    @property
    def mail_path(self) -> Path:
        return self.instance_path / "mail"

    def describe(self) -> dict[str, str]:
        """What the process runs on, with every credential masked (for logs and `/readyz`)."""
        return {
            "env": self.env,
            "database": mask_url(self.database_url),
            "jobs": "inline" if self.jobs_inline else f"rq at {mask_url(self.redis_url or '')}",
            "storage": self.storage_url,
            "mail": mask_url(self.smtp_url) if self.smtp_url else f"stored in {self.mail_path}",
        }


def mask_url(url: str) -> str:
    """Hide the password of a URL (``postgresql://u:***@h/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def load_settings(
    environ: Mapping[str, str] | None = None, override: Mapping[str, Any] | None = None
) -> Settings:
    """Build the settings from ``environ`` (default ``os.environ``) with ``override`` on top."""
    source: dict[str, Any] = {
        k: v for k, v in (os.environ if environ is None else environ).items() if k in VARIABLES
    }
    source.update(override or {})
    reader = _Reader(source)
    settings = reader.settings()
    if reader.problems:
        raise ConfigError(reader.problems)
    assert settings is not None
    return settings


class _Reader:
    """Reads each variable, collecting every problem instead of stopping at the first."""

    def __init__(self, source: dict[str, Any]) -> None:
        self.source = source
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.source.get(name)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{name}: {message}")

    def settings(self) -> Settings | None:
        env = self.get("COUNTERSIGN_ENV") or "development"
        if env not in ("development", "production"):
            self.problem("COUNTERSIGN_ENV", f"must be 'development' or 'production', not {env!r}")
        production = env == "production"
        instance_path = Path(self.get("INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()
        port = self.integer("PORT", default=5000, low=1, high=65535)
        log_format = self.choice("LOG_FORMAT", ("text", "json"), "json" if production else "text")
        log_level = self.choice(
            "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
        )
        database_url = self.database_url(instance_path)
        redis_url = self.redis_url()
        storage_url = self.storage_url(instance_path)
        smtp_url = self.smtp_url()
        base_url = self.base_url(port, production)
        max_upload_mb = self.integer("MAX_UPLOAD_MB", default=20, low=1, high=1024)
        mail_from = self.mail_from(base_url)
        seal = self.seal()
        oauth_clients = {
            system: (
                self.get(f"{system.upper()}_CLIENT_ID") or "",
                self.get(f"{system.upper()}_CLIENT_SECRET") or "",
            )
            for system in ("zendesk", "salesforce")
            if self.get(f"{system.upper()}_CLIENT_ID")
        }
        crm_sandbox = (
            self.choice("CRM_SANDBOX", ("on", "off"), "off" if production else "on") == "on"
        )
        secret_key = self.secret_key(instance_path, production)
        master_key = self.master_key(instance_path, production)
        if self.problems:
            return None
        return Settings(
            env=env,
            instance_path=instance_path,
            secret_key=secret_key or "",
            master_key=master_key or b"",
            port=port,
            log_format=log_format,
            log_level=log_level,
            testing=bool(self.source.get("TESTING", False)),
            database_url=database_url,
            redis_url=redis_url,
            storage_url=storage_url,
            smtp_url=smtp_url,
            base_url=base_url,
            max_upload_mb=max_upload_mb,
            mail_from=mail_from,
            **seal,
            oauth_clients=oauth_clients,
            salesforce_login_url=(
                self.get("SALESFORCE_LOGIN_URL") or "https://login.salesforce.com"
            ).rstrip("/"),
            crm_sandbox=crm_sandbox,
        )

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problem(name, f"must be a whole number, not {raw!r}")
            return default
        if not low <= value <= high:
            self.problem(name, f"must be between {low} and {high}, not {value}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str, upper: bool = False) -> str:
        raw = self.get(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in allowed:
            self.problem(name, f"must be one of {', '.join(allowed)}, not {raw!r}")
        return value

    def database_url(self, instance_path: Path) -> str:
        raw = self.get("DATABASE_URL")
        if raw is None:
            return f"sqlite:///{instance_path / 'countersign.db'}"
        scheme = raw.split("://", 1)[0] if "://" in raw else ""
        if not scheme:
            self.problem(
                "DATABASE_URL",
                f"not a URL (expected postgresql://… or sqlite:///…): {mask_url(raw)!r}",
            )
            return raw
        if scheme not in DATABASE_SCHEMES:
            self.problem(
                "DATABASE_URL", f"unsupported scheme {scheme!r} (use postgresql or sqlite)"
            )
            return raw
        try:
            url: URL = make_url(raw)
        except ArgumentError:
            self.problem("DATABASE_URL", f"malformed URL {mask_url(raw)!r}")
            return raw
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg")
        if url.drivername.startswith("postgresql") and not url.database:
            self.problem("DATABASE_URL", "names no database (postgresql://user@host:5432/DBNAME)")
        if url.drivername == "sqlite" and not url.database:
            self.problem(
                "DATABASE_URL", "an in-memory SQLite database loses everything; name a file"
            )
        return url.render_as_string(hide_password=False)

    def redis_url(self) -> str | None:
        raw = self.get("REDIS_URL")
        if raw is None:
            return None
        scheme = urlsplit(raw).scheme
        if scheme not in REDIS_SCHEMES:
            self.problem("REDIS_URL", f"unsupported scheme {scheme!r} (use redis:// or rediss://)")
        return raw

    def storage_url(self, instance_path: Path) -> str:
        raw = self.get("STORAGE_URL")
        if raw is None:
            return (instance_path / "storage").as_uri()
        parts = urlsplit(raw)
        if parts.scheme not in STORAGE_SCHEMES:
            self.problem(
                "STORAGE_URL",
                f"unsupported scheme {parts.scheme!r} (use file:///absolute/folder or s3://bucket)",
            )
        elif parts.scheme == "s3" and not parts.netloc:
            self.problem("STORAGE_URL", "names no bucket (s3://bucket/prefix?endpoint=…)")
        elif parts.scheme == "file" and not parts.path.startswith("/"):
            self.problem(
                "STORAGE_URL", "must name an absolute folder (file:///var/lib/countersign)"
            )
        return raw

    def smtp_url(self) -> str | None:
        raw = self.get("SMTP_URL")
        if raw is None:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in SMTP_SCHEMES:
            self.problem(
                "SMTP_URL", f"unsupported scheme {parts.scheme!r} (use smtp:// or smtps://)"
            )
        elif not parts.hostname:
            self.problem("SMTP_URL", "names no host (smtp://user:password@host:587)")
        return raw

    def seal(self) -> dict[str, str | None]:
        values = {
            name.lower(): self.get(name)
            for name in ("SEAL_PKCS12", "SEAL_PKCS12_PASSWORD", "SEAL_KEY_PEM", "SEAL_CERT_PEM")
        }
        for name in ("SEAL_PKCS12", "SEAL_KEY_PEM", "SEAL_CERT_PEM"):
            path = values[name.lower()]
            if path and not Path(path).is_file():
                self.problem(name, f"no such file: {path}")
        if bool(values["seal_key_pem"]) != bool(values["seal_cert_pem"]):
            self.problem("SEAL_KEY_PEM", "set SEAL_KEY_PEM and SEAL_CERT_PEM together")
        url = self.get("TIMESTAMP_URL")
        if url and urlsplit(url).scheme not in ("http", "https"):
            self.problem(
                "TIMESTAMP_URL", f"must be an http(s) URL of an RFC 3161 authority, not {url!r}"
            )
        values["timestamp_url"] = url
        return values

    def mail_from(self, base_url: str) -> str:
        raw = self.get("MAIL_FROM")
        if raw is None:
            host = urlsplit(base_url).hostname or "localhost"
            domain = "localhost" if host.replace(".", "").isdigit() else host
            return f"Countersign <no-reply@{domain}>"
        address = parseaddr(raw)[1]
        if "@" not in address or any(c in raw for c in "\r\n"):
            self.problem("MAIL_FROM", f"not an email address: {raw!r}")
        return raw

    def base_url(self, port: int, production: bool) -> str:
        raw = self.get("BASE_URL")
        if raw is None:
            if production:
                self.problem("BASE_URL", "required in production (the public https:// address)")
            return f"http://127.0.0.1:{port}"
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problem("BASE_URL", f"must be an http(s) URL with a host, not {raw!r}")
        return raw.rstrip("/")

    def secret_key(self, instance_path: Path, production: bool) -> str | None:
        raw = self.get("SECRET_KEY")
        if raw is not None:
            if len(raw) < 32:
                self.problem("SECRET_KEY", f"too short ({len(raw)} characters; use at least 32)")
            return raw
        if production:
            self.problem("SECRET_KEY", "required in production (at least 32 random characters)")
            return None
        return self.instance_secret(instance_path / "secret_key", lambda: secrets.token_urlsafe(48))

    def master_key(self, instance_path: Path, production: bool) -> bytes | None:
        raw = self.get("MASTER_KEY")
        if raw is None:
            if production:
                self.problem("MASTER_KEY", "required in production (32 bytes, base64-encoded)")
                return None
            raw = self.instance_secret(
                instance_path / "master_key", lambda: base64.b64encode(os.urandom(32)).decode()
            )
            if raw is None:
                return None
        try:
            key = base64.b64decode(raw.encode(), validate=True)
        except (binascii.Error, ValueError):
            self.problem("MASTER_KEY", "is not base64 (generate one: openssl rand -base64 32)")
            return None
        if len(key) != 32:
            self.problem("MASTER_KEY", f"must decode to 32 bytes, not {len(key)}")
            return None
        return key

    def instance_secret(self, path: Path, generate: Any) -> str | None:
        """Read a secret kept in the instance folder, creating it (mode 0600) the first time."""
        try:
            if path.exists():
                return path.read_text().strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            value: str = generate()
            with os.fdopen(fd, "w") as handle:
                handle.write(value + "\n")
            return value
        except FileExistsError:  # another process created it a moment ago
            return path.read_text().strip()
        except OSError as err:
            self.problem(
                "INSTANCE_PATH", f"cannot keep {path.name} in {path.parent}: {err.strerror}"
            )
            return None
