import pytest
from django.contrib.auth.models import User

from fulfillment.models import Integrator

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("staff", "staff@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_admin_creates_integrator_and_shows_secret_once(staff_client, api_client):
    response = staff_client.post(
        "/admin/fulfillment/integrator/add/",
        {"name": "From Admin", "scopes": "read write", "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    integrator = Integrator.objects.get(name="From Admin")
    messages = [str(m) for m in response.context["messages"]]
    shown = next(m for m in messages if "client_secret" in m)
    secret = shown.split("client_secret ")[1].split(" ·")[0]
    token = api_client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": integrator.client_id, "client_secret": secret},
    )
    assert token.status_code == 200
    page = staff_client.get(f"/admin/fulfillment/integrator/{integrator.pk}/change/")
    assert secret not in page.content.decode()


def test_admin_lists_integrators(staff_client, integrator):
    response = staff_client.get("/admin/fulfillment/integrator/?q=" + integrator.name)
    assert integrator.name in response.content.decode()
