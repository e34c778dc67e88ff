import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import IntegratorFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and the maintenance flag live in Redis; each test starts clean.
    cache.clear()
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
