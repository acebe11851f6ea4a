"""Where document bytes live. The embedded default keeps them in a folder under instance/.

Every backend stores opaque (already encrypted) bytes under a key; it never sees plaintext.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

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
        key = f".readyz/{secrets.token_hex(8)}"
        self.put(key, b"ok")
        if self.get(key) != b"ok":
            raise OSError("read back differs from what was written")
        self.delete(key)


def init_app(app: Flask) -> None:
    settings = app.extensions["countersign.settings"]
    app.extensions[EXTENSION] = LocalStorage(settings.storage_path)


def get_storage() -> Storage:
    return current_app.extensions[EXTENSION]
