"""A dependency down is not the API down (API.md §2): with Redis out of reach the API serves
(the rate limit and failure counters let requests through), and a database that refuses
answers 503 with Retry-After in the envelope, with nothing half-written."""

import threading

import psycopg
import pytest
from django.db import connection

from orders.models import Issue, StatusChange
from tests.conftest import obtain_token
from tests.processes import PrivateRedis
from webhooks.models import Event


def _create(client, key="D-1"):
    response = client.post("/api/issues", {"client_issue_id": key, "details": {"a": 1}}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.django_db(transaction=True)
def test_a_database_that_refuses_answers_503_with_retry_after_and_writes_nothing(auth_client, delivery):
    _create(auth_client)
    other = psycopg.connect(**connection.get_connection_params())
    other.execute("SELECT id FROM orders_issue WHERE client_issue_id = 'D-1' FOR UPDATE")  # a lock held long
    timer = threading.Timer(5, lambda: (other.commit(), other.close()))
    timer.start()
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '100ms'")
    try:
        response = auth_client.put("/api/issues/status/D-1", {"status": "En preparación"}, format="json")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        timer.cancel()
        other.rollback()
        other.close()
    body = response.json()
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert (body["code"], body["status"], body["error"][0]["code"]) == (503, "error", "database_unavailable")
    assert not StatusChange.objects.filter(from_step__isnull=False).exists()
    assert not Event.objects.filter(type="issue.status_changed").exists()
    assert Issue.objects.get(client_issue_id="D-1").version == 1


@pytest.fixture
def cache_redis(settings):
    redis = PrivateRedis()
    redis.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25},
        }
    }
    yield redis
    redis.stop()


def test_with_redis_down_the_api_still_takes_tokens_changes_and_commands(
    auth_client, integrator, delivery, cache_redis
):
    _create(auth_client)
    served = auth_client.get("/api/issues/D-1")
    assert served.status_code == 200 and "RateLimit-Remaining" in served
    cache_redis.stop()
    moved = auth_client.put("/api/issues/status/D-1", {"status": "En preparación"}, format="json")
    assert moved.status_code == 200, moved.content
    assert "RateLimit-Remaining" not in moved  # not counted while Redis is away
    command = auth_client.post(
        "/api/commands", {"type": "AddNote", "client_issue_id": "D-1", "text": "x"}, format="json"
    )
    assert command.status_code == 202, command.content
    assert obtain_token(auth_client, integrator)  # the failure counters let it through too
    assert Event.objects.filter(type="issue.status_changed").count() == 1
