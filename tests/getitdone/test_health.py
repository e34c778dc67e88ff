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


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_load_nothing_from_another_host(api_client, page):
    import re

    response = api_client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    # Every src and href is a path on this host (a same-origin URL), never another host's.
    assert re.findall(r"""(?:src|href)=["'](https?:)?//""", html) == []
    assert "googleapis" not in html and "gstatic" not in html
    assert "/static/" in html  # the bundles come from our own static files
