"""One contract for every storage backend: a folder, and S3 through a real S3-compatible server.

The S3 server is moto's (a real HTTP server on loopback speaking the S3 API); no cloud account
can be reached from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from connector.app import create_app
from connector.storage import LocalStorage, S3Storage, Storage
from tests.support import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "countersign-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "countersign-test-secret")


def make_bucket(endpoint: str, name: str) -> None:
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)


@pytest.fixture(params=["folder", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "folder":
        return LocalStorage(tmp_path / "documents")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"docs-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    make_bucket(endpoint, bucket)
    return S3Storage(f"s3://{bucket}/countersign?endpoint={endpoint}")


class TestStorageContract:
    def test_put_get_exists_delete(self, storage: Storage) -> None:
        storage.put("org/envelope/final.pdf.enc", b"\x00ciphertext")

        assert storage.exists("org/envelope/final.pdf.enc")
        assert storage.get("org/envelope/final.pdf.enc") == b"\x00ciphertext"
        storage.delete("org/envelope/final.pdf.enc")
        assert not storage.exists("org/envelope/final.pdf.enc")

    def test_overwrite_replaces_the_bytes(self, storage: Storage) -> None:
        storage.put("k", b"one")
        storage.put("k", b"two")
        assert storage.get("k") == b"two"

    def test_a_missing_key_is_file_not_found(self, storage: Storage) -> None:
        with pytest.raises(FileNotFoundError):
            storage.get("never/written")

    def test_keys_cannot_escape(self, storage: Storage) -> None:
        with pytest.raises(ValueError, match="escapes"):
            storage.put("../outside", b"x")

    def test_check_writable_leaves_nothing_behind(self, storage: Storage) -> None:
        storage.check_writable()


def test_readyz_checks_s3_storage(app_config: dict[str, Any], s3_endpoint: str) -> None:
    make_bucket(s3_endpoint, "ready-bucket")
    good = create_app({**app_config, "STORAGE_URL": f"s3://ready-bucket?endpoint={s3_endpoint}"})
    missing = create_app({**app_config, "STORAGE_URL": f"s3://no-bucket?endpoint={s3_endpoint}"})

    assert good.test_client().get("/readyz").json["checks"]["storage"] == {"status": "ok"}
    response = missing.test_client().get("/readyz")
    assert response.status_code == 503
    assert "NoSuchBucket" in response.json["checks"]["storage"]["error"]
