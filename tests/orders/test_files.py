"""File transfer (API.md §5)."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from webhooks.models import Event

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


@pytest.fixture
def issue(auth_client, delivery, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = tmp_path
    assert auth_client.post("/api/issues", {"client_issue_id": "f1"}, format="json").status_code == 201
    return "f1"


def upload(client, issue, name, content, **extra):
    return client.post(
        f"/api/issues/{issue}/files",
        {"file": SimpleUploadedFile(name, content, "text/plain"), **extra},
        format="multipart",
    )


def test_upload_round_trips_byte_for_byte_and_sniffs_type(auth_client, issue):
    response = upload(auth_client, issue, "proof.txt", PNG, kind="proof_of_delivery")
    assert response.status_code == 201, response.json()
    meta = response.json()["data"]
    assert meta["content_type"] == "image/png"  # the client claimed text/plain
    assert meta["size"] == len(PNG) and meta["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert meta["kind"] == "proof_of_delivery" and meta["name"] == "proof.txt"
    assert set(meta) >= {"id", "name", "content_type", "size", "sha256", "kind", "created_at", "download_url"}
    assert auth_client.get(f"/api/files/{meta['id']}").json()["data"] == meta
    content = auth_client.get(meta["download_url"])
    assert content.status_code == 200
    assert b"".join(content.streaming_content) == PNG
    assert content["Content-Disposition"].startswith("attachment")
    listed = auth_client.get(f"/api/issues/{issue}/files").json()["data"]["results"]
    assert [f["id"] for f in listed] == [meta["id"]]
    event = Event.objects.get(type="issue.file_attached")
    assert event.data["file"]["sha256"] == meta["sha256"] and event.data["issue"]["client_issue_id"] == issue


def test_plain_text_is_text(auth_client, issue):
    meta = upload(auth_client, issue, "notes.bin", "entregar en portería".encode()).json()["data"]
    assert meta["content_type"] == "text/plain" and meta["kind"] == "other"


def test_empty_file_is_422(auth_client, issue):
    response = upload(auth_client, issue, "empty.txt", b"")
    assert response.status_code == 422
    assert response.json()["warning"]["field"] == "file"


def test_bad_kind_is_422(auth_client, issue):
    response = upload(auth_client, issue, "a.txt", b"x", kind="selfie")
    assert response.status_code == 422 and response.json()["warning"]["field"] == "kind"


def test_file_over_the_limit_is_413(auth_client, issue, settings):
    settings.FILES_MAX_UPLOAD_SIZE = 1024
    response = upload(auth_client, issue, "big.bin", b"x" * 4096)
    assert response.status_code == 413
    assert not Event.objects.filter(type="issue.file_attached").exists()


def test_missing_file_is_422(auth_client, issue):
    response = auth_client.post(f"/api/issues/{issue}/files", {"kind": "photo"}, format="multipart")
    assert response.status_code == 422 and response.json()["warning"]["field"] == "file"
