import pytest

pytestmark = pytest.mark.django_db


def test_healthz(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["data"] == {"status": "ok"}


def test_readyz_all_up(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["data"] == {"database": "ok", "broker": "ok", "cache": "ok"}


def test_readyz_names_the_broker_when_redis_is_unreachable(api_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = api_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["data"]["broker"] == "down" and body["data"]["database"] == "ok"
    assert body["error"][0]["field"] == "broker"
    assert response["Retry-After"]


def test_openapi_schema_and_docs_are_public(api_client):
    schema = api_client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
