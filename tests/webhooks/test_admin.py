"""The webhooks admin as support staff use it, through Django's test client (the browser tests in
tests/browser/test_admin_webhooks.py do the same tasks in Chromium)."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.auth.models import User
from django.urls import reverse

from tests.webhooks.conftest import send_all_due
from webhooks.delivery.claim import claim
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.services import webhook_create, webhook_send_test

pytestmark = pytest.mark.django_db

DELIVERIES = reverse("admin:webhooks_delivery_changelist")
ENDPOINTS = reverse("admin:webhooks_webhookendpoint_changelist")


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("support", "s@example.com", "pw-for-tests-only"))
    return client


@pytest.fixture(autouse=True)
def no_retries(settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []  # one attempt, then failed


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def _failed_order_delivery(auth_client, integrator, receiver) -> Delivery:
    """An order's event, delivered once to an endpoint that answered 500: failed."""
    receiver.respond(500)
    webhook_create(integrator=integrator, url=receiver.url())
    auth_client.post("/api/issues", {"client_issue_id": "ADM-1", "details": {"name": "Ana"}}, format="json")
    assert send_all_due() == ["failed"]
    return Delivery.objects.get()


def test_the_delivery_list_shows_order_endpoint_type_status_attempts_and_next_attempt(
    staff, auth_client, integrator, other_integrator, receiver, delivery
):  # two integrators: the integrator filter is shown when it has a choice to make
    failed = _failed_order_delivery(auth_client, integrator, receiver)
    waiting = webhook_send_test(endpoint=failed.endpoint)  # a test event: no order
    page = staff.get(DELIVERIES)
    html = page.content.decode()
    headers = [str(h["text"]) for h in result_headers(page.context["cl"])][1:]  # after the checkbox
    assert headers == ["ID", "order", "endpoint", "event type", "status", "attempts", "next attempt"]
    order_url = reverse("admin:orders_issue_change", args=[failed.event.issue_id])
    assert f'<a href="{order_url}">ADM-1</a>' in html
    assert '<span class="gid-badge gid-failed">Failed</span>' in html
    assert '<span class="gid-badge gid-pending">Pending</span> <span class="gid-status-why">(ready)</span>' in html
    assert "issue.created" in html and "webhook.test" in html and "Ready" not in html
    filters = [f.title for f in page.context["cl"].filter_specs]
    assert [str(t) for t in filters] == ["status", "endpoint", "integrator", "event type"]
    only_failed = staff.get(DELIVERIES, {"status": "failed"}).context["cl"].result_list
    assert [d.pk for d in only_failed] == [failed.pk]
    by_type = staff.get(DELIVERIES, {"event_type": "webhook.test"}).context["cl"].result_list
    assert [d.pk for d in by_type] == [waiting.pk]


def test_the_delivery_page_lists_attempts_and_the_event_data(staff, auth_client, integrator, receiver, delivery):
    failed = _failed_order_delivery(auth_client, integrator, receiver)
    staff.post(reverse("admin:webhooks_delivery_retry", args=[failed.pk]))
    send_all_due()
    page = staff.get(reverse("admin:webhooks_delivery_change", args=[failed.pk]))
    html = page.content.decode()
    [attempts] = [f for f in page.context["inline_admin_formsets"] if f.opts.model is DeliveryAttempt]
    rows = [(form.original.number, form.original.manual) for form in attempts]
    assert rows == [(1, False), (2, True)]
    assert "automatic" in html and "manual" in html and "status 500" in html  # the response excerpt
    data = Event.objects.get(pk=failed.event_id).data
    assert data["issue"]["details"] == {"name": "Ana"}
    assert '<pre class="gid-json">' in html and "\n      &quot;name&quot;: &quot;Ana&quot;\n" in html  # indented


def test_retry_now_reports_each_outcome_in_one_message(staff, auth_client, integrator, receiver, delivery):
    failed = _failed_order_delivery(auth_client, integrator, receiver)
    sending = webhook_send_test(endpoint=failed.endpoint)
    claim(ids=[sending.pk])  # a worker holds it
    response = staff.post(DELIVERIES, {"action": "retry_now", "_selected_action": [failed.pk, sending.pk]}, follow=True)
    [(level, text)] = _messages(response)
    assert level == "warning"
    assert f"#{failed.pk}" in text and f"Delivery {sending.pk} is being sent right now" in text
    failed.refresh_from_db()
    assert (failed.status, failed.status_before_retry, failed.attempt_count) == ("pending", "failed", 1)

    response = staff.post(DELIVERIES, {"action": "retry_now", "_selected_action": [sending.pk]}, follow=True)
    [(level, text)] = _messages(response)
    assert level == "error" and "Queued" not in text


def test_the_retry_button_on_a_delivery_page_queues_a_manual_attempt(
    staff, auth_client, integrator, receiver, delivery
):
    failed = _failed_order_delivery(auth_client, integrator, receiver)
    page = staff.get(reverse("admin:webhooks_delivery_change", args=[failed.pk]))
    assert reverse("admin:webhooks_delivery_retry", args=[failed.pk]) in page.content.decode()
    response = staff.post(reverse("admin:webhooks_delivery_retry", args=[failed.pk]), follow=True)
    [(level, text)] = _messages(response)
    assert level == "success" and "manual attempt" in text
    assert response.redirect_chain[-1][0] == reverse("admin:webhooks_delivery_change", args=[failed.pk])
    assert send_all_due() == ["failed"]  # the receiver still answers 500: failed as it was
    assert list(Delivery.objects.get().attempts.values_list("manual", flat=True)) == [False, True]
    assert staff.get(reverse("admin:webhooks_delivery_retry", args=[failed.pk])).status_code == 405


def test_the_event_page_shows_its_data_and_its_deliveries(staff, auth_client, integrator, receiver, delivery):
    failed = _failed_order_delivery(auth_client, integrator, receiver)
    page = staff.get(reverse("admin:webhooks_event_change", args=[failed.event_id]))
    html = page.content.decode()
    assert '<pre class="gid-json">' in html and "&quot;client_issue_id&quot;: &quot;ADM-1&quot;" in html
    assert reverse("admin:webhooks_delivery_change", args=[failed.pk]) in html
    assert '<span class="gid-badge gid-failed">Failed</span>' in html


def test_endpoint_secrets_are_hidden_until_revealed_and_a_reveal_is_recorded(staff, integrator):
    endpoint = webhook_create(integrator=integrator, url="https://hooks.example.com/a")
    change = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    assert endpoint.secret not in staff.get(change).content.decode()
    revealed = staff.post(reverse("admin:webhooks_webhookendpoint_reveal", args=[endpoint.pk, "secret"]))
    assert endpoint.secret in revealed.content.decode()
    [entry] = LogEntry.objects.filter(object_id=str(endpoint.pk))
    assert entry.get_change_message() == "Revealed the signing secret."
    assert staff.post(reverse("admin:webhooks_webhookendpoint_reveal", args=[endpoint.pk, "url"])).status_code == 404


def test_rotating_shows_the_new_secret_once_in_its_message(staff, integrator):
    endpoint = webhook_create(integrator=integrator, url="https://hooks.example.com/a")
    old = endpoint.secret
    response = staff.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    [(level, text)] = _messages(response)
    assert level == "warning" and endpoint.secret in text and "shown only now" in text
    again = staff.get(ENDPOINTS).content.decode()
    assert endpoint.secret not in again  # the message was shown, and kept nowhere
    assert "Rotated the signing secret." in [e.get_change_message() for e in LogEntry.objects.all()]


def test_disabling_asks_first_then_reports_in_one_message(staff, integrator):
    endpoint = webhook_create(integrator=integrator, url="https://hooks.example.com/a")
    asked = staff.post(ENDPOINTS, {"action": "disable", "_selected_action": [endpoint.pk]})
    assert asked.status_code == 200 and "Disable this endpoint?" in asked.content.decode()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
    done = staff.post(ENDPOINTS, {"action": "disable", "_selected_action": [endpoint.pk], "post": "yes"}, follow=True)
    [(level, text)] = _messages(done)
    assert level == "success" and text.startswith(f"Disabled {endpoint.url}.")
    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
    again = staff.post(ENDPOINTS, {"action": "disable", "_selected_action": [endpoint.pk]}, follow=True)
    assert _messages(again) == [("info", "Nothing changed: the selected endpoints are disabled already.")]
    enabled = staff.post(ENDPOINTS, {"action": "enable", "_selected_action": [endpoint.pk]}, follow=True)
    assert _messages(enabled) == [("success", f"Enabled {endpoint.url}.")]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active


def test_sending_a_test_event_reports_in_one_message(staff, integrator):
    endpoints = [webhook_create(integrator=integrator, url=f"https://hooks.example.com/{n}") for n in range(2)]
    selected = {"action": "send_test", "_selected_action": [e.pk for e in endpoints]}
    response = staff.post(ENDPOINTS, selected, follow=True)
    [(level, text)] = _messages(response)
    assert level == "success" and text.startswith("Queued a test event to 2 endpoints:")
    assert Delivery.objects.filter(event__type="webhook.test").count() == 2
