"""A token never sees another integrator's data: every endpoint answers 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_other_integrators_resources_are_404_everywhere(delivery, integrator, other_integrator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    owner, stranger = client_for(integrator), client_for(other_integrator)
    assert owner.post("/api/issues", {"client_issue_id": "mine"}, format="json").status_code == 201
    file_id = owner.post(
        "/api/issues/mine/files", {"file": SimpleUploadedFile("a.txt", b"hello")}, format="multipart"
    ).json()["data"]["id"]
    event_id = owner.get("/api/events").json()["data"]["results"][0]["id"]

    for method, path, body in [
        ("get", "/api/issues/mine", None),
        ("get", "/api/issues/mine/history", None),
        ("get", "/api/issues/mine/files", None),
        ("put", "/api/issues/status/mine", {"status": "En preparación"}),
        ("get", f"/api/files/{file_id}", None),
        ("get", f"/api/files/{file_id}/content", None),
        ("get", f"/api/events/{event_id}", None),
    ]:
        response = getattr(stranger, method)(path, body, format="json") if body else getattr(stranger, method)(path)
        assert response.status_code == 404, (path, response.status_code)
        assert response.json()["message"] == "404 Not Found"

    assert stranger.get("/api/issues").json()["data"]["results"] == []
    assert stranger.get("/api/events").json()["data"]["results"] == []
    # The same client id is free for the other integrator.
    assert stranger.post("/api/issues", {"client_issue_id": "mine"}, format="json").status_code == 201
