import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import IntegratorFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and the maintenance flag live in Redis (the flag also for a second in
    # each process); each test starts clean, and with wake-ups on (a test with the broker down
    # leaves its process backing off), and with no host's answer kept from another test.
    from fulfillment.selectors import forget_maintenance_state
    from getitdone import wakeups
    from webhooks import transport

    cache.clear()
    forget_maintenance_state()
    wakeups.reset()
    transport.forget_answers()
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def obtain_token(client: APIClient, integrator, scope: str | None = None) -> str:
    credentials = integrator._credentials
    body = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    if scope is not None:
        body["scope"] = scope
    response = client.post("/oauth/token", body)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def integrator(db):
    return IntegratorFactory()


@pytest.fixture
def other_integrator(db):
    return IntegratorFactory()


def client_for(integrator, scope: str | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {obtain_token(client, integrator, scope)}")
    return client


@pytest.fixture
def auth_client(integrator) -> APIClient:
    return client_for(integrator)


@pytest.fixture
def delivery(db):
    from fulfillment.demo import delivery_workflow_seed

    workflow, _ = delivery_workflow_seed()
    return workflow


def step_id(workflow, value: str) -> int:
    return workflow.steps.get(value=value).pk


pytest_plugins = ["tests.processes"]


@pytest.fixture(autouse=True)
def _sequences_at_statement_end(request):
    """Tests inside one rolled-back transaction never COMMIT, so the commit-time sequence
    trigger would never fire: make it fire at statement end there. Tests with real transactions
    (transaction=True) keep the commit-time behaviour they exist to check."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or "db" in request.fixturenames
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    )
    if not uses_db or transactional:
        yield
        return
    request.getfixturevalue("db")
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
