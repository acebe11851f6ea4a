"""Where document bytes live: a folder (the embedded default) or S3-compatible object storage.

Every backend stores opaque (already encrypted) bytes under a key; it never sees plaintext.
``STORAGE_URL`` picks the backend: ``file:///abs/folder`` or
``s3://bucket/prefix?endpoint=https://minio:9000&region=eu-west-1`` (credentials come from the
standard AWS variables or the host's role).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from flask import Flask, current_app

EXTENSION = "countersign.storage"


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def check_writable(self) -> None: ...


class LocalStorage:
    """Files in a folder; writes are atomic (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key escapes the storage folder: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        temporary.write_bytes(data)
        os.chmod(temporary, 0o600)
        temporary.replace(path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def check_writable(self) -> None:
        _check_round_trip(self)


class S3Storage:
    """Objects in an S3-compatible bucket under an optional prefix."""

    def __init__(self, url: str) -> None:
        import boto3
        from botocore.config import Config

        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=options.get("endpoint"),
            region_name=options.get("region", "us-east-1"),
            config=Config(
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 5, "mode": "standard"}
            ),
        )

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage key escapes the storage prefix: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        body: bytes = response["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def check_writable(self) -> None:
        _check_round_trip(self)


def _check_round_trip(storage: Storage) -> None:
    key = f"readyz/{secrets.token_hex(8)}"
    storage.put(key, b"ok")
    if storage.get(key) != b"ok":
        raise OSError("read back differs from what was written")
    storage.delete(key)


def storage_from_url(url: str) -> Storage:
    if url.startswith("s3://"):
        return S3Storage(url)
    return LocalStorage(Path(urlsplit(url).path))


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = storage_from_url(app.extensions["countersign.settings"].storage_url)


def get_storage() -> Storage:
    return current_app.extensions[EXTENSION]
