"""Brute force and floods (API.md §2): failed token requests per client id and per address, the
admin login, and unauthenticated API requests per address."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import IntegratorFactory

pytestmark = pytest.mark.django_db


def token(client, integrator, secret=None, address="10.0.0.1"):
    credentials = integrator._credentials
    body = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": secret or credentials.client_secret,
    }
    return client.post("/oauth/token", body, REMOTE_ADDR=address)


def test_a_client_id_past_its_failures_waits_even_with_the_right_secret(api_client, integrator, settings):
    settings.TOKEN_FAILURES_PER_CLIENT = 3
    for _ in range(3):
        assert token(api_client, integrator, secret="wrong").status_code == 401
    refused = token(api_client, integrator, address="10.9.9.9")  # the right secret, from elsewhere too
    assert refused.status_code == 429 and refused.json()["error"] == "slow_down"
    assert 0 < int(refused["Retry-After"]) <= settings.FAILED_ATTEMPTS_WINDOW
    assert token(api_client, IntegratorFactory()).status_code == 200  # other clients are not affected


def test_an_address_past_its_failures_waits_even_with_a_right_secret(api_client, settings):
    settings.TOKEN_FAILURES_PER_ADDRESS = 4
    integrators = [IntegratorFactory() for _ in range(5)]
    statuses = [token(api_client, i, secret="wrong").status_code for i in integrators]
    assert statuses == [401, 401, 401, 401, 429]  # one failure each, but all from one address
    refused = token(api_client, integrators[1])
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert token(api_client, integrators[1], address="10.0.0.2").status_code == 200


def test_a_client_named_twice_is_refused(api_client, integrator, settings):
    """HTTP Basic naming one client and the body another: which one a failure counted against
    would be the attacker's choice (RFC 6749 §2.3.1 allows one method per request)."""
    import base64

    settings.TOKEN_FAILURES_PER_CLIENT = 2
    credentials = integrator._credentials
    body = {"grant_type": "client_credentials", "client_id": credentials.client_id, "client_secret": "guess"}
    for n in range(5):
        basic = base64.b64encode(f"decoy{n}:x".encode()).decode()
        response = api_client.post("/oauth/token", body, HTTP_AUTHORIZATION=f"Basic {basic}")
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/oauth/revoke_token/", "/oauth/introspect/"])
def test_revoke_and_introspect_limit_failed_client_authentication(api_client, integrator, settings, path):
    settings.TOKEN_FAILURES_PER_CLIENT = 3
    credentials = integrator._credentials
    body = {"token": "x", "client_id": credentials.client_id, "client_secret": "wrong"}
    assert all(api_client.post(path, body).status_code in (401, 403) for _ in range(3))
    assert api_client.post(path, body | {"client_secret": credentials.client_secret}).status_code == 429


def test_a_burst_in_parallel_gets_no_more_tries_than_the_limit(integrator, settings):
    from concurrent.futures import ThreadPoolExecutor

    from django.test import Client

    settings.TOKEN_FAILURES_PER_CLIENT = 5
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: token(Client(), integrator, secret="wrong").status_code, range(24)))
    assert statuses.count(401) <= 5 and statuses.count(429) >= 19


def test_successful_token_requests_are_not_limited_by_address(api_client, integrator, settings):
    settings.TOKEN_FAILURES_PER_ADDRESS = 2
    assert all(token(api_client, integrator).status_code == 200 for _ in range(10))


def test_admin_login_failures_are_limited(client, settings):
    settings.LOGIN_FAILURES_PER_USER = 3
    get_user_model().objects.create_superuser("staff", "staff@example.com", "right-password-123")
    for _ in range(3):
        failed = client.post("/admin/login/", {"username": "staff", "password": "wrong"})
        assert failed.status_code == 200  # the form again, with its error
    refused = client.post("/admin/login/", {"username": "staff", "password": "right-password-123"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    settings.LOGIN_FAILURES_PER_USER = 100
    logged_in = client.post("/admin/login/", {"username": "staff", "password": "right-password-123"})
    assert logged_in.status_code == 302


def test_admin_login_failures_per_address(client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    get_user_model().objects.create_superuser("staff", "staff@example.com", "right-password-123")
    assert client.post("/admin/login/", {"username": "a", "password": "x"}).status_code == 200
    assert client.post("/admin/login/", {"username": "b", "password": "x"}).status_code == 200
    assert client.post("/admin/login/", {"username": "c", "password": "x"}).status_code == 429
    right = {"username": "staff", "password": "right-password-123"}
    assert client.post("/admin/login/", right).status_code == 429  # password spraying stops here too
    assert client.post("/admin/login/", right, REMOTE_ADDR="10.3.3.3").status_code == 302


def test_unauthenticated_api_requests_are_limited_per_address(api_client, auth_client, settings):
    settings.API_ANONYMOUS_RATE_LIMIT = 3
    for _ in range(3):
        assert api_client.get("/api/issues").status_code == 401
    refused = api_client.get("/api/issues")
    assert refused.status_code == 429 and refused.json()["message"] == "Too Many Attempts"
    assert int(refused["Retry-After"]) > 0
    for public in ("/api/schema/", "/api/docs/", "/api/redoc/"):  # public, but anonymous all the same
        assert api_client.get(public).status_code == 429
    assert api_client.get("/api/issues", REMOTE_ADDR="10.1.1.1").status_code == 401
    assert auth_client.get("/api/issues").status_code == 200  # a token is counted per integrator instead


def test_the_schema_is_built_once_per_process(api_client, django_assert_max_num_queries):
    first = api_client.get("/api/schema/?format=json")
    assert first.status_code == 200
    from getitdone.api.schema import CachedSchemaView

    assert CachedSchemaView._built
    second = api_client.get("/api/schema/?format=json")
    assert second.content == first.content
    spanish = api_client.get("/api/schema/?format=json", HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.status_code == 200


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke_token/", "/oauth/introspect/"])
def test_the_client_endpoints_need_no_csrf_token(integrator, path):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(path, {"grant_type": "client_credentials"})
    assert response.status_code != 403 or b"CSRF" not in response.content
    assert token(Client(enforce_csrf_checks=True), integrator).status_code == 200
