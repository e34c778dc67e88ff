"""Every /api/ response, success or error, uses the seed's envelope (API.md §1)."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

ENVELOPE_KEYS = {"code", "status", "message", "data", "warning", "error"}


def test_success_is_wrapped(auth_client, integrator):
    response = auth_client.get("/api/test/probe")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["code"] == 200 and body["status"] == "success" and body["message"] == "OK"
    assert body["data"] == {"integrator": integrator.name}
    assert body["warning"] is None and body["error"] is None


def test_created_message(auth_client):
    payload = {"name": "ok", "details": {"address": {"city": "Quito", "zip": "17001"}}}
    response = auth_client.post("/api/test/probe", payload, format="json")
    assert response.status_code == 201
    assert response.json()["message"] == "Created"


def test_versioned_alias_serves_the_same(auth_client):
    assert auth_client.get("/api/v1/test/probe").json()["code"] == 200


def test_missing_token_is_401_envelope(api_client):
    response = api_client.get("/api/test/probe")
    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "status": "error",
        "message": "Unauthenticated",
        "data": None,
        "warning": [],
        "error": [],
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_garbage_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api_client.get("/api/test/probe").status_code == 401


def test_read_only_token_cannot_write(integrator):
    client = client_for(integrator, scope="read")
    assert client.get("/api/test/probe").status_code == 200
    response = client.post("/api/test/probe", {}, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "Forbidden"


def test_write_only_token_cannot_read(integrator):
    client = client_for(integrator, scope="write")
    assert client.get("/api/test/probe").status_code == 403


def test_unknown_path_is_404_envelope(auth_client):
    response = auth_client.get("/api/does-not-exist")
    assert response.status_code == 404
    body = response.json()
    assert body["message"] == "404 Not Found" and body["warning"] == [] and body["error"] == []


def test_unknown_path_is_404_envelope_even_in_debug(auth_client, settings):
    settings.DEBUG = True
    response = auth_client.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_drf_method_not_allowed(auth_client):
    response = auth_client.delete("/api/test/probe")
    assert response.status_code == 405
    assert response.json()["message"] == "Method Not Allowed"


def test_django_method_not_allowed_is_enveloped(auth_client):
    response = auth_client.get("/api/test/django-only")
    assert response.status_code == 405
    assert response.json()["message"] == "Method Not Allowed"
    assert response["Allow"] == "POST"


def test_422_lists_every_bad_field_dotted(auth_client):
    payload = {"name": "far too long a name", "details": {"address": {"zip": "x"}}, "children": [{}, {"status": "ok"}]}
    response = auth_client.post("/api/test/probe", payload, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Validation Error"
    fields = [e["field"] for e in body["error"]]
    assert fields == ["name", "details.address.city", "details.address.zip", "children.0.status"]
    assert body["warning"] == {"code": "max_length", "field": "name", "value": body["error"][0]["message"]}
    assert body["error"][1]["code"] == "required"


def test_422_in_spanish(auth_client):
    response = auth_client.post("/api/test/probe", {}, format="json", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Error de Validacion"
    assert body["warning"]["value"] == "Este campo es requerido."


def test_spanish_default_messages(api_client):
    response = api_client.get("/api/test/probe", HTTP_ACCEPT_LANGUAGE="es")
    assert response.json()["message"] == "No Autenticado"


def test_malformed_json_is_400_envelope(auth_client):
    response = auth_client.post("/api/test/probe", "{not json", content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and "JSON" in body["message"]


def test_json_body_over_one_mib_is_413(auth_client):
    payload = '{"name": "' + "x" * (1024 * 1024) + '"}'
    response = auth_client.post("/api/test/probe", payload, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == 413


def test_unhandled_error_is_500_without_leaks(auth_client, caplog):
    client = auth_client
    client.raise_request_exception = False
    response = client.get("/api/test/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["message"] == "Internal Server Error"
    assert "SELECT" not in response.content.decode()
    assert "Unhandled error" in caplog.text


def test_request_id_is_echoed(api_client):
    response = api_client.get("/api/test/probe", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert response["API-Version"] == "1"


def test_request_id_is_generated_when_absent_or_unsafe(api_client):
    generated = api_client.get("/api/test/probe")["X-Request-ID"]
    assert len(generated) == 32
    unsafe = api_client.get("/api/test/probe", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert unsafe != "bad id\nwith newline" and len(unsafe) == 32


def test_non_api_paths_keep_their_own_responses():
    response = APIClient().get("/admin/login/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
