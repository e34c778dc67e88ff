"""Rate limiting (429 + RateLimit headers) and maintenance mode (503)."""

import pytest

from fulfillment.models import MaintenanceMode

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]


def test_rate_limit_headers_on_authenticated_responses(auth_client, settings):
    settings.API_RATE_LIMIT = "5/min"
    first = auth_client.get("/api/test/probe")
    assert first["RateLimit-Limit"] == "5"
    assert first["RateLimit-Remaining"] == "4"
    assert 0 < int(first["RateLimit-Reset"]) <= 60
    second = auth_client.get("/api/test/probe")
    assert second["RateLimit-Remaining"] == "3"


def test_rate_limit_hit_is_429_with_retry_after(auth_client, settings):
    settings.API_RATE_LIMIT = "3/min"
    for _ in range(3):
        assert auth_client.get("/api/test/probe").status_code == 200
    response = auth_client.get("/api/test/probe")
    assert response.status_code == 429
    assert response.json()["message"] == "Too Many Attempts"
    assert int(response["Retry-After"]) > 0
    assert response["RateLimit-Remaining"] == "0"


def test_rate_limit_is_per_integrator(auth_client, other_integrator, settings):
    from tests.conftest import client_for

    settings.API_RATE_LIMIT = "2/min"
    other = client_for(other_integrator)
    for _ in range(2):
        auth_client.get("/api/test/probe")
    assert auth_client.get("/api/test/probe").status_code == 429
    assert other.get("/api/test/probe").status_code == 200


def test_maintenance_setting_gives_503(auth_client, settings):
    settings.MAINTENANCE_MODE = True
    settings.MAINTENANCE_RETRY_AFTER = 120
    response = auth_client.get("/api/test/probe")
    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    assert response.json()["message"] == "Service Unavailable"


def test_maintenance_switch_in_admin_gives_503_and_back(auth_client):
    MaintenanceMode(enabled=True, retry_after=60).save()
    response = auth_client.get("/api/test/probe", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 503
    assert response.json()["message"] == "Servicio No Disponible"
    assert response["Retry-After"] == "60"
    MaintenanceMode(enabled=False).save()
    assert auth_client.get("/api/test/probe").status_code == 200


def test_health_stays_up_during_maintenance(api_client, settings):
    settings.MAINTENANCE_MODE = True
    assert api_client.get("/healthz").status_code == 200
