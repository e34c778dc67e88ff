"""A dependency down is not the API down (API.md §2): with Redis out of reach the API serves
(the rate limit and failure counters let requests through), and a database that refuses
answers 503 with Retry-After in the envelope, with nothing half-written."""

import contextlib
import threading

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from fulfillment.selectors import forget_maintenance_state, maintenance_state
from getitdone import db_errors, wakeups
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
    assert wakeups.flag("test:flag", 5) and not wakeups.flag("test:flag", 5)  # coalesced while Redis is up
    cache_redis.stop()
    assert wakeups.flag("test:flag", 5)  # and sent anyway while it is away: better than lost
    moved = auth_client.put("/api/issues/status/D-1", {"status": "En preparación"}, format="json")
    assert moved.status_code == 200, moved.content
    assert "RateLimit-Remaining" not in moved  # not counted while Redis is away
    command = auth_client.post(
        "/api/commands", {"type": "AddNote", "client_issue_id": "D-1", "text": "x"}, format="json"
    )
    assert command.status_code == 202, command.content
    assert obtain_token(auth_client, integrator)  # the failure counters let it through too
    assert Event.objects.filter(type="issue.status_changed").count() == 1


def _token_request(client, integrator):
    credentials = integrator._credentials
    body = {"grant_type": "client_credentials", "client_id": credentials.client_id}
    return client.post("/oauth/token", body | {"client_secret": credentials.client_secret})


@contextlib.contextmanager
def _database_gone():
    """The next queries go to a port nobody listens on, as during a restart; back after."""
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port


def _assert_database_unavailable(response):
    assert response.status_code == 503 and response["Retry-After"] == "5", response.content
    assert response.json()["error"][0]["code"] == "database_unavailable"


@pytest.mark.django_db(transaction=True)
def test_a_database_out_of_reach_is_503_for_the_api_and_the_token_endpoint(auth_client, integrator):
    forget_maintenance_state()  # so the maintenance check itself reads the database
    with _database_gone():
        answers = [auth_client.get("/api/issues"), _token_request(auth_client, integrator)]
    for response in answers:
        _assert_database_unavailable(response)


@pytest.mark.django_db(transaction=True)
def test_a_token_request_whose_view_loses_the_database_is_503(integrator):
    maintenance_state()  # remembered for a second: the maintenance check passes without the database
    with _database_gone():
        response = _token_request(APIClient(), integrator)
    _assert_database_unavailable(response)


def _error_of(sql: str, before: str = "") -> DatabaseError:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        if before:
            cursor.execute(before)
        cursor.execute(sql)
    return caught.value


@pytest.mark.django_db(transaction=True)
def test_only_errors_that_pass_count_as_the_database_unavailable():
    other = psycopg.connect(**connection.get_connection_params(), autocommit=False)
    other.execute("LOCK TABLE orders_issue IN ACCESS EXCLUSIVE MODE")
    try:
        lock_timeout = _error_of("SELECT 1 FROM orders_issue", before="SET LOCAL lock_timeout = '50ms'")
    finally:
        other.rollback()
        other.close()
    assert db_errors.is_transient(lock_timeout)
    assert not db_errors.is_transient(_error_of("SELECT 1 / 0"))  # a bug, not a passing refusal
    assert not db_errors.is_transient(_error_of("SELECT * FROM no_such_table"))
    assert not db_errors.is_transient(_error_of("SELECT pg_sleep(1)", before="SET LOCAL statement_timeout = '10ms'"))
    assert not db_errors.is_transient(ValueError("not a database error"))


@pytest.mark.django_db(transaction=True)
def test_a_database_error_that_is_a_bug_is_a_500_not_a_503(auth_client, delivery):
    _create(auth_client)
    with connection.cursor() as cursor:  # a migration not applied, say
        cursor.execute("ALTER TABLE orders_issue RENAME COLUMN details TO details_gone")
    try:
        response = auth_client.get("/api/issues/D-1")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE orders_issue RENAME COLUMN details_gone TO details")
    assert response.status_code == 500 and "Retry-After" not in response
    assert response.json()["code"] == 500
