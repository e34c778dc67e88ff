"""Support staff and webhooks, in Chromium at 1400 px: the delivery list, a manual retry (checked
through the API too), an endpoint's secret revealed and recorded, and disabling and rotating."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from getitdone.formats import iso_timestamp
from tests.browser.conftest import WIDTH, screenshot
from tests.conftest import client_for
from tests.webhooks.conftest import Receiver, send_all_due
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery, Event
from webhooks.services import delivery_retry, webhook_create, webhook_send_test


@pytest.fixture
def receiver(httpserver) -> Receiver:
    return Receiver(httpserver)


def _choose_action(page: Page, text: str) -> None:
    """Pick the action whose label starts with `text`, and run it on the ticked rows."""
    actions = page.get_by_label("Action:")
    actions.select_option(actions.locator("option", has_text=text).get_attribute("value"))
    page.get_by_role("button", name="Go").click()


def _order(integrator, client_issue_id: str) -> None:
    body = {"client_issue_id": client_issue_id, "details": {"customer": {"name": "Ana Pérez"}}}
    response = client_for(integrator).post("/api/issues", body, format="json")
    assert response.status_code == 201, response.content


def _open_deliveries(page: Page) -> None:
    page.get_by_role("link", name="Deliveries", exact=True).click()
    expect(page.get_by_role("heading", name="Select delivery to view")).to_be_visible()


def test_the_delivery_list_fits_1400_px_and_a_failed_delivery_reads_failed(
    admin_page, integrator, other_integrator, receiver, delivery, settings
):
    settings.WEBHOOKS_RETRY_SCHEDULE = []  # one attempt, then failed
    receiver.respond(500)
    endpoint = webhook_create(
        integrator=integrator, url=receiver.url("/a-rather-long-path/for-our-partner/orders-webhook-receiver")
    )
    api = client_for(integrator)
    _order(integrator, "SUP-1001")
    assert send_all_due() == ["failed"]
    # The widest cells: a status change waiting for its retry, after a manual one.
    api.put("/api/issues/status/SUP-1001", {"status": "En preparación"}, format="json")
    settings.WEBHOOKS_RETRY_SCHEDULE = [3600]
    assert send_all_due() == ["retry", "not_due"]
    waiting = Delivery.objects.get(event__type="issue.status_changed")
    delivery_retry(delivery=waiting)
    assert delivery_attempt(waiting.pk) == "retry"
    _order(integrator, "SUP-1002")  # pending, ready
    webhook_send_test(endpoint=webhook_create(integrator=other_integrator, url="https://hooks.example.com/theirs"))

    _open_deliveries(admin_page)
    for column in ("Order", "Endpoint", "Event type", "Status", "Attempts", "Next attempt"):
        expect(admin_page.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    for title in ("status", "endpoint", "integrator", "event type"):
        expect(admin_page.get_by_text(f"By {title}", exact=True)).to_be_visible()
    failed = admin_page.get_by_role("row").filter(has_text="SUP-1001").filter(has_text="issue.created")
    expect(failed.get_by_text("Failed", exact=True)).to_be_visible()
    expect(failed).not_to_contain_text("Ready")
    expect(failed.get_by_role("cell").nth(5)).to_have_text("1")  # attempts
    retried = admin_page.get_by_role("row").filter(has_text="issue.status_changed")
    expect(retried).to_contain_text("Pending (waiting for retry)")
    expect(retried).to_contain_text("2 (1 manual)")
    expect(admin_page.get_by_role("row").filter(has_text="SUP-1002")).to_contain_text("Pending (ready)")
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    # Nor is the table cut off (its box scrolls sideways rather than widen the page): every
    # column ends before the filters begin.
    table = admin_page.get_by_role("table").filter(has_text="SUP-1001").bounding_box()
    filters = admin_page.get_by_role("heading", name="Filter").bounding_box()
    assert table["x"] + table["width"] <= filters["x"], (table, filters)
    screenshot(admin_page, "deliveries-list")

    admin_page.locator("#changelist-filter").get_by_role("link", name="Failed", exact=True).click()
    expect(admin_page.get_by_role("row").filter(has_text="SUP-")).to_have_count(1)
    expect(admin_page.get_by_role("row").filter(has_text="SUP-1001")).to_contain_text("Failed")

    # The order links to its page.
    admin_page.get_by_role("link", name="SUP-1001").click()
    expect(admin_page).to_have_url(re.compile(r"/admin/orders/issue/\d+/change/"))
    assert endpoint.deliveries.count() == 3


def test_a_retry_from_admin_is_an_extra_attempt_and_the_schedule_stays(
    admin_page, integrator, receiver, delivery, settings
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0, 0, 1800, 7200]  # the 3rd failure waits 30 min
    receiver.respond(500)
    endpoint = webhook_create(integrator=integrator, url=receiver.url())
    _order(integrator, "SUP-2001")
    assert send_all_due()[:3] == ["retry", "retry", "retry"]
    before = Delivery.objects.get()
    assert before.next_attempt_at - timezone.now() > timedelta(minutes=25)

    _open_deliveries(admin_page)
    row = admin_page.get_by_role("row").filter(has_text="SUP-2001")
    expect(row).to_contain_text("Pending (waiting for retry)")
    row.get_by_role("checkbox").check()
    _choose_action(admin_page, "Retry now")
    expect(admin_page.get_by_text(f"Queued a manual attempt of delivery #{before.pk}")).to_be_visible()
    expect(admin_page.get_by_role("row").filter(has_text="SUP-2001")).to_contain_text("Pending (ready)")

    assert delivery_attempt(before.pk) == "retry"  # what a worker does, woken by the retry: it fails

    deliveries = client_for(integrator).get(f"/api/webhooks/{endpoint.pk}/deliveries").json()["data"]["results"]
    [shown] = deliveries
    assert [(a["number"], a["manual"]) for a in shown["attempts"]] == [(1, False), (2, False), (3, False), (4, True)]
    assert shown["status"] == "pending"
    assert shown["next_attempt_at"] == iso_timestamp(before.next_attempt_at)  # not pushed later
    assert Delivery.objects.get().attempt_count == 3  # none of the schedule used up

    admin_page.reload()
    row = admin_page.get_by_role("row").filter(has_text="SUP-2001")
    expect(row).to_contain_text("4 (1 manual)")
    expect(row).to_contain_text("Pending (waiting for retry)")
    row.get_by_role("link", name=str(before.pk), exact=True).click()
    attempts = admin_page.get_by_role("table").filter(has_text="HTTP status").get_by_role("row").filter(has_text="UTC")
    expect(attempts).to_have_count(4)
    expect(attempts.nth(3)).to_contain_text("manual")
    for automatic in range(3):
        expect(attempts.nth(automatic)).to_contain_text("automatic")
    expect(admin_page.get_by_text('"name": "Ana Pérez"')).to_be_visible()  # the event data, indented
    screenshot(admin_page, "delivery-retried")

    admin_page.get_by_role("button", name="Retry now").click()  # the page's own button
    expect(admin_page.get_by_text("Queued a manual attempt of delivery")).to_be_visible()
    assert Delivery.objects.get().status_before_retry == "pending"


def test_revealing_an_endpoint_secret_is_recorded_in_its_history(admin_page, integrator):
    endpoint = webhook_create(integrator=integrator, url="https://hooks.example.com/orders")
    admin_page.get_by_role("link", name="Webhook endpoints").click()
    admin_page.get_by_role("link", name=endpoint.url).click()
    expect(admin_page.get_by_text("••••••••")).to_be_visible()
    assert endpoint.secret not in admin_page.content()
    screenshot(admin_page, "endpoint-page")
    admin_page.get_by_role("button", name="Reveal").click()
    expect(admin_page.get_by_label("signing secret")).to_have_text(endpoint.secret)
    screenshot(admin_page, "endpoint-secret-revealed")
    admin_page.get_by_role("link", name="Back").click()
    admin_page.get_by_role("link", name="History").click()
    expect(admin_page.get_by_role("row").filter(has_text="Revealed the signing secret.")).to_contain_text("support")
    screenshot(admin_page, "endpoint-history")


def test_disabling_an_endpoint_asks_first_and_rotating_shows_the_secret_once(admin_page, integrator):
    endpoint = webhook_create(integrator=integrator, url="https://hooks.example.com/orders")
    admin_page.get_by_role("link", name="Webhook endpoints").click()

    def act(label: str) -> None:
        admin_page.get_by_role("row").filter(has_text=endpoint.url).get_by_role("checkbox").check()
        _choose_action(admin_page, label)

    act("Disable")
    expect(admin_page.get_by_text("Disable this endpoint?")).to_be_visible()
    expect(admin_page.get_by_text("its pending deliveries are paused", exact=False)).to_be_visible()
    screenshot(admin_page, "endpoint-disable-confirmation")
    endpoint.refresh_from_db()
    assert endpoint.is_active
    admin_page.get_by_role("button", name="Yes, disable").click()
    expect(admin_page.locator(".messagelist li")).to_have_count(1)
    expect(admin_page.locator(".messagelist")).to_contain_text(f"Disabled {endpoint.url}.")
    endpoint.refresh_from_db()
    assert not endpoint.is_active

    act("Rotate secret")
    endpoint.refresh_from_db()
    expect(admin_page.locator(".messagelist li")).to_have_count(1)
    expect(admin_page.locator(".messagelist code")).to_have_text(endpoint.secret)
    screenshot(admin_page, "endpoint-secret-rotated")
    admin_page.get_by_role("link", name="Back to the endpoints").click()
    expect(admin_page.get_by_role("link", name=endpoint.url)).to_be_visible()
    assert endpoint.secret not in admin_page.content()  # shown once


def test_recover_since_sends_a_windows_failed_events_again(admin_page, integrator, receiver, delivery, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []  # one attempt, then failed
    receiver.respond(500, 500, 200, path="/orders")
    endpoint = webhook_create(integrator=integrator, url=receiver.url("/orders"))
    _order(integrator, "REC-1")
    _order(integrator, "REC-2")
    assert send_all_due() == ["failed", "failed"]
    admin_page.get_by_role("link", name="Webhook endpoints").click()

    def recover(since: str) -> None:
        admin_page.get_by_role("row").filter(has_text=endpoint.url).get_by_role("checkbox").check()
        _choose_action(admin_page, "Recover since")
        expect(admin_page.get_by_text("Send events again to this endpoint:")).to_be_visible()
        admin_page.get_by_label("Since").fill(since)
        admin_page.get_by_role("button", name="Send them again").click()

    recover("2020-01-01T00:00")
    expect(admin_page.get_by_text("Events are kept 30 days", exact=False)).to_be_visible()
    admin_page.get_by_label("Since").fill((timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    screenshot(admin_page, "endpoint-recover-form")
    admin_page.get_by_role("button", name="Send them again").click()
    expect(admin_page.locator(".messagelist")).to_contain_text(f"2 events queued again to {endpoint.url}.")
    assert send_all_due() == ["succeeded", "succeeded"]
    deliveries = client_for(integrator).get(f"/api/webhooks/{endpoint.pk}/deliveries").json()["data"]["results"]
    assert sorted(d["status"] for d in deliveries) == ["failed", "failed", "succeeded", "succeeded"]


def test_an_event_page_shows_its_data_and_deliveries(admin_page, integrator, receiver, delivery, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.respond(200)
    webhook_create(integrator=integrator, url=receiver.url())
    _order(integrator, "SUP-3001")
    assert send_all_due() == ["succeeded"]
    admin_page.get_by_role("link", name="Events", exact=True).click()
    admin_page.get_by_role("row").filter(has_text="SUP-3001").get_by_role("link").first.click()
    expect(admin_page.get_by_text('"client_issue_id": "SUP-3001"')).to_be_visible()
    deliveries = admin_page.get_by_role("table").filter(has_text="Attempts")
    expect(deliveries.get_by_text("Succeeded", exact=True)).to_be_visible()
    expect(deliveries.get_by_role("row").filter(has_text="Succeeded")).not_to_contain_text("None")
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    screenshot(admin_page, "event-page")


def test_an_events_page_shows_the_trace_id_of_the_call_that_caused_it(admin_page, integrator, delivery, live_server):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = client_for(integrator).post(
        "/api/issues", {"client_issue_id": "SUP-TRACE"}, format="json",
        HTTP_TRACEPARENT=f"00-{trace_id}-00f067aa0ba902b7-01",
    )  # fmt: skip
    assert response.status_code == 201
    event = Event.objects.get(type="issue.created")
    admin_page.goto(f"{live_server.url}/admin/webhooks/event/{event.pk}/change/")
    expect(admin_page.locator(".field-trace_id")).to_contain_text(trace_id)
    screenshot(admin_page, "event-trace-id")
