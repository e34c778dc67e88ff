import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User

from fulfillment.models import Integrator, MaintenanceMode
from tests.conftest import client_for
from tests.factories import IntegratorFactory

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


# --- Accounts: actions that ask first, secrets shown once -------------------------------------


CHANGELIST = "/admin/fulfillment/integrator/"


def _act(staff_client, action: str, *integrators, confirm: bool = True):
    data = {"action": action, "_selected_action": [i.pk for i in integrators]}
    if confirm:
        data["post"] = "yes"
    return staff_client.post(CHANGELIST, data, follow=True)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_disable_asks_first_and_changes_nothing_until_confirmed(staff_client, integrator):
    page = _act(staff_client, "disable", integrator, confirm=False)
    assert page.templates[0].name == "admin/fulfillment/integrator/action_confirmation.html"
    html = page.content.decode()
    assert "Disable integrators" in html and integrator.name in html and 'name="post" value="yes"' in html
    assert Integrator.objects.get(pk=integrator.pk).is_active
    assert client_for(integrator).get("/api/workflows").status_code == 200


def test_disable_once_confirmed_reports_in_one_message(staff_client, integrator, other_integrator):
    other_integrator.is_active = False
    other_integrator.save()
    response = _act(staff_client, "disable", integrator, other_integrator)
    assert _messages(response) == [f"Disabled: {integrator.name}. Already disabled: {other_integrator.name}."]
    assert not Integrator.objects.get(pk=integrator.pk).is_active
    again = _act(staff_client, "disable", integrator)
    assert _messages(again) == [f"Nothing changed: already disabled: {integrator.name}."]


def test_enable_reports_in_one_message(staff_client, integrator):
    assert _messages(_act(staff_client, "enable", integrator)) == [
        f"Nothing changed: already enabled: {integrator.name}."
    ]
    integrator.is_active = False
    integrator.save()
    assert _messages(_act(staff_client, "enable", integrator)) == [f"Enabled: {integrator.name}."]
    assert client_for(integrator).get("/api/workflows").status_code == 200


def test_rotating_the_client_secret_shows_the_new_one_once_and_the_old_one_stops(staff_client, api_client):
    integrator = IntegratorFactory()
    old = integrator._credentials.client_secret
    assert _act(staff_client, "rotate_client_secret", integrator, confirm=False).context["title"] == (
        "Rotate client secrets"
    )
    assert Integrator.objects.get(pk=integrator.pk).application.client_secret == integrator.application.client_secret
    page = _act(staff_client, "rotate_client_secret", integrator)
    ((shown_for, new),) = page.context["shown"]
    assert shown_for == integrator and new in page.content.decode() and new != old
    body = {"grant_type": "client_credentials", "client_id": integrator.client_id}
    assert api_client.post("/oauth/token", body | {"client_secret": new}).status_code == 200
    assert api_client.post("/oauth/token", body | {"client_secret": old}).status_code == 401
    assert not Integrator.objects.get(pk=integrator.pk).application.client_secret.endswith(new)  # hashed
    assert new not in staff_client.get(f"{CHANGELIST}{integrator.pk}/change/").content.decode()


def test_the_default_webhook_secret_is_hidden_until_revealed_and_the_reveal_is_logged(staff_client, integrator):
    page = _act(staff_client, "rotate_webhook_secret", integrator)
    ((_, new),) = page.context["shown"]
    assert Integrator.objects.get(pk=integrator.pk).webhook_secret == new
    change = staff_client.get(f"{CHANGELIST}{integrator.pk}/change/").content.decode()
    assert new not in change and "Reveal" in change
    revealed = staff_client.post(f"{CHANGELIST}{integrator.pk}/reveal/webhook_secret/")
    assert new in revealed.content.decode()
    assert LogEntry.objects.filter(object_id=str(integrator.pk), change_message="Revealed the default webhook secret.")


# --- The maintenance switch --------------------------------------------------------------------

SWITCH = "/admin/fulfillment/maintenancemode/"


def test_maintenance_is_one_switch_with_its_message_and_retry_after(staff_client, auth_client):
    page = staff_client.get(SWITCH).content.decode()
    assert "Maintenance mode is off" in page and "Turn maintenance on" in page
    response = staff_client.post(SWITCH, {"turn": "on", "message": "Back soon.", "retry_after": "45"}, follow=True)
    assert _messages(response) == [
        "Maintenance mode is on: the API and the token endpoint answer 503 with Retry-After 45 s."
    ]
    answer = auth_client.get("/api/workflows")
    assert answer.status_code == 503 and answer["Retry-After"] == "45"
    # While on, the message can change without turning it off.
    changed = staff_client.post(SWITCH, {"turn": "", "message": "Back at noon.", "retry_after": "45"}, follow=True)
    assert _messages(changed) == [
        "Maintenance mode is on: the API and the token endpoint answer 503 with Retry-After 45 s."
    ]
    assert auth_client.get("/api/workflows").json()["error"][0]["message"] == "Back at noon."
    response = staff_client.post(SWITCH, {"turn": "off", "message": "", "retry_after": "45"}, follow=True)
    assert _messages(response) == ["Maintenance mode is off: the API answers as usual."]
    assert auth_client.get("/api/workflows").status_code == 200


def test_a_retry_after_the_service_refuses_shows_on_its_field(staff_client):
    response = staff_client.post(SWITCH, {"turn": "on", "message": "", "retry_after": "0"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"retry_after": ["Retry-After is 1 to 86400 seconds."]}
    assert not MaintenanceMode.objects.exists()


def test_staff_who_may_only_view_cannot_flip_the_switch(client):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", "v@example.com", "pw-for-tests-only", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_maintenancemode"))
    client.force_login(viewer)
    assert client.get(SWITCH).status_code == 200
    assert client.post(SWITCH, {"turn": "on", "message": "", "retry_after": "60"}).status_code == 403
    assert not MaintenanceMode.objects.exists()
