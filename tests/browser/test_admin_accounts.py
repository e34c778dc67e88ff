"""Integrator accounts and the maintenance switch, as support staff use them: disabling asks
first, a rotated client secret is shown once and is the one that works, and maintenance is one
switch the API obeys within seconds. Each outcome is checked through the API too."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from fulfillment.models import Integrator
from tests.browser.conftest import screenshot
from tests.conftest import client_for
from tests.factories import IntegratorFactory

pytestmark = pytest.mark.slow


def _act_on(page: Page, live_server, integrator: Integrator, action: str) -> None:
    """Tick the integrator in the list and run `action` (its label in the Action menu)."""
    page.goto(f"{live_server.url}/admin/fulfillment/integrator/")
    page.get_by_role("checkbox", name=f"Select this object for an action - {integrator.name}").check()
    page.get_by_role("combobox", name="Action").select_option(label=action)
    page.get_by_role("button", name="Go").click()


def _token(api_client, client_id: str, secret: str):
    return api_client.post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def test_disabling_an_integrator_asks_first_then_its_token_gets_403(admin_page, live_server):
    integrator = IntegratorFactory(name="Tienda Norte")
    api = client_for(integrator)
    assert api.get("/api/workflows").status_code == 200

    _act_on(admin_page, live_server, integrator, "Disable selected integrators (their tokens get 403)")
    expect(admin_page.get_by_role("heading", name="Disable integrators")).to_be_visible()
    expect(admin_page.get_by_role("link", name="Tienda Norte")).to_be_visible()
    expect(admin_page.get_by_text("Their access tokens get 403 from the next request on")).to_be_visible()
    screenshot(admin_page, "integrator-disable-confirm")
    assert api.get("/api/workflows").status_code == 200, "nothing happens before the confirmation"

    admin_page.get_by_role("button", name="Yes, disable them").click()
    expect(admin_page.get_by_text("Disabled: Tienda Norte.")).to_be_visible()
    expect(admin_page.locator(".messagelist li")).to_have_count(1)
    assert api.get("/api/workflows").status_code == 403
    integrator.refresh_from_db()
    assert not integrator.is_active
    screenshot(admin_page, "integrator-disabled")


def test_going_back_from_the_confirmation_disables_nothing(admin_page, live_server):
    integrator = IntegratorFactory(name="Tienda Sur")
    _act_on(admin_page, live_server, integrator, "Disable selected integrators (their tokens get 403)")
    admin_page.get_by_role("link", name="No, take me back").click()
    admin_page.wait_for_url(re.compile(r"/admin/fulfillment/integrator/$"))
    integrator.refresh_from_db()
    assert integrator.is_active


def test_a_rotated_client_secret_is_shown_once_and_only_it_gets_tokens(admin_page, live_server, api_client):
    integrator = IntegratorFactory(name="Tienda Este")
    old = integrator._credentials.client_secret

    _act_on(admin_page, live_server, integrator, "Rotate the OAuth client secret (shown once)")
    expect(admin_page.get_by_role("heading", name="Rotate client secrets")).to_be_visible()
    admin_page.get_by_role("button", name="Yes, rotate them").click()
    expect(admin_page.get_by_role("heading", name="New client secrets")).to_be_visible()
    expect(admin_page.get_by_text("Shown only now")).to_be_visible()
    new = admin_page.get_by_label("New secret of Tienda Este").inner_text().strip()
    screenshot(admin_page, "integrator-new-client-secret")

    assert new and new != old
    assert _token(api_client, integrator.client_id, new).status_code == 200
    refused = _token(api_client, integrator.client_id, old)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    admin_page.goto(f"{live_server.url}/admin/fulfillment/integrator/{integrator.pk}/change/")
    expect(admin_page.get_by_text("Tienda Este", exact=True).first).to_be_visible()
    assert new not in admin_page.content()


def test_a_rotated_webhook_secret_is_shown_once_then_hidden_until_revealed(admin_page, live_server):
    integrator = IntegratorFactory(name="Tienda Oeste")
    _act_on(admin_page, live_server, integrator, "Rotate the default webhook secret (shown once)")
    admin_page.get_by_role("button", name="Yes, rotate them").click()
    new = admin_page.get_by_label("New secret of Tienda Oeste").inner_text().strip()
    integrator.refresh_from_db()
    assert new == integrator.webhook_secret and new.startswith("whsec_")

    admin_page.goto(f"{live_server.url}/admin/fulfillment/integrator/{integrator.pk}/change/")
    assert new not in admin_page.content()
    admin_page.get_by_role("button", name="Reveal").click()
    expect(admin_page.get_by_label("default webhook secret")).to_have_text(new)


def _status_within(api, expected: int, seconds: float) -> tuple[int, float, object]:
    """Ask the API until it answers `expected`; the status, how long it took, the response."""
    start = time.monotonic()
    while True:
        response = api.get("/api/workflows")
        waited = time.monotonic() - start
        if response.status_code == expected or waited > seconds:
            return response.status_code, waited, response
        time.sleep(0.1)


def test_maintenance_is_one_switch_the_api_obeys_within_seconds(admin_page, live_server, integrator):
    api = client_for(integrator)
    page = admin_page
    page.get_by_role("link", name="Maintenance mode").click()
    expect(page.get_by_role("status")).to_have_text("Maintenance mode is off: the API answers as usual.")
    page.get_by_label("Message").fill("Back at 10:00 UTC.")
    page.get_by_label("Retry-After (seconds)").fill("120")
    page.get_by_role("button", name="Turn maintenance on").click()

    expect(page.locator(".messagelist li")).to_have_text(
        "Maintenance mode is on: the API and the token endpoint answer 503 with Retry-After 120 s."
    )
    expect(page.get_by_role("status")).to_contain_text("Maintenance mode is on")
    screenshot(page, "maintenance-switch")
    status, waited, response = _status_within(api, 503, 5)
    assert status == 503, f"still {status} after {waited:.1f} s"
    assert response["Retry-After"] == "120"
    assert response.json()["error"] == [{"field": None, "code": "maintenance", "message": "Back at 10:00 UTC."}]

    page.get_by_role("button", name="Turn maintenance off").click()
    expect(page.get_by_role("status")).to_have_text("Maintenance mode is off: the API answers as usual.")
    status, waited, _ = _status_within(api, 200, 5)
    assert status == 200, f"still {status} after {waited:.1f} s"


def test_a_bad_retry_after_is_refused_on_its_field_and_changes_nothing(admin_page, live_server, integrator):
    page = admin_page
    page.goto(f"{live_server.url}/admin/fulfillment/maintenancemode/")
    page.get_by_label("Retry-After (seconds)").fill("0")
    page.get_by_role("button", name="Turn maintenance on").click()
    expect(page.get_by_text("Retry-After is 1 to 86400 seconds.")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Maintenance mode is off")
    assert client_for(integrator).get("/api/workflows").status_code == 200
