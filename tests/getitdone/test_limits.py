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


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_rate_limit_holds_in_any_window_not_per_minute_of_the_clock(auth_client, settings, monkeypatch):
    """A sliding window: a burst at the end of one clock minute leaves none for the start of the
    next, and a slot frees when its request is a window old."""
    from getitdone.api import throttling

    settings.API_RATE_LIMIT = "5/min"
    clock = _Clock(1_800_000_059.5)  # half a second before a minute of the clock ends
    monkeypatch.setattr(throttling, "time", clock)
    assert [auth_client.get("/api/test/probe").status_code for _ in range(5)] == [200] * 5
    clock.now += 1.0  # into the next clock minute
    refused = auth_client.get("/api/test/probe")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "59" and refused["RateLimit-Remaining"] == "0"
    clock.now += 59.0  # the burst is a window old: all five slots free
    freed = auth_client.get("/api/test/probe")
    assert freed.status_code == 200 and freed["RateLimit-Remaining"] == "4"


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


def test_rate_limit_without_redis_counts_in_the_local_cache(auth_client, settings):
    """`make run` with no environment has a per-process locmem cache: the same limit and headers."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits"}}
    settings.API_RATE_LIMIT = "2/min"
    from django.core.cache import caches
    from django_redis.cache import RedisCache

    assert not isinstance(caches["default"], RedisCache)
    answers = [auth_client.get("/api/test/probe") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert 0 < int(answers[2]["Retry-After"]) <= 60
