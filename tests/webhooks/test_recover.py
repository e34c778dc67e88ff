"""POST /api/webhooks/{id}/recover (API.md §7): a time window's failed (or all) events sent again
to one endpoint, as new deliveries with the same webhook-id."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.conftest import send_all_due
from webhooks.models import Delivery, Event
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_try(settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []  # the first failure is final


def _recover(client, endpoint, **body):
    return client.post(f"/api/webhooks/{endpoint.pk}/recover", body, format="json")


def test_recover_resends_the_failed_events_of_the_window_with_their_ids(auth_client, integrator, receiver, delivery):
    receiver.respond(500, 500, 500, 200)
    endpoint = webhook_create(integrator=integrator, url=receiver.url(), event_types=["issue.created"])
    for n in range(3):
        auth_client.post("/api/issues", {"client_issue_id": f"r{n}"}, format="json")
    assert send_all_due() == ["failed"] * 3
    old = Event.objects.get(data__issue__client_issue_id="r0")
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    response = _recover(auth_client, endpoint, since=since)
    assert response.status_code == 202, response.content
    assert response.json()["data"] == {"queued": 2}
    assert _recover(auth_client, endpoint, since=since).json()["data"] == {"queued": 0}  # pending already
    assert send_all_due() == ["succeeded", "succeeded"]
    resent = [r.headers["webhook-id"] for r in receiver.requests[3:]]
    expected = Event.objects.filter(type="issue.created").exclude(pk=old.pk).order_by("created_at")
    expected = expected.values_list("pk", flat=True)
    assert resent == list(expected)
    assert Delivery.objects.filter(endpoint=endpoint, status="failed").count() == 3  # the record stays


def test_recover_all_sends_what_the_endpoint_subscribes_to(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    auth_client.post("/api/issues", {"client_issue_id": "a1"}, format="json")
    auth_client.put("/api/issues/status/a1", {"status": "En preparación"}, format="json")
    late = webhook_create(integrator=integrator, url=receiver.url(), event_types=["issue.status_changed"])
    body = {"since": (timezone.now() - timedelta(minutes=5)).isoformat(), "status": "all"}
    assert _recover(auth_client, late, **body).json()["data"] == {"queued": 1}
    send_all_due()
    assert [b["type"] for b in receiver.bodies()] == ["issue.status_changed"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"since": "2020-01-01T00:00:00Z"}, "since", "out_of_retention"),
        ({"since": "now"}, "since", "invalid"),
        ({}, "since", "required"),
        ({"since": "-1h", "until": "-2h"}, "until", "invalid_window"),
        ({"since": "-1h", "status": "some"}, "status", "invalid_choice"),
    ],
)
def test_recover_refuses_a_bad_window(auth_client, integrator, body, field, code):
    endpoint = webhook_create(integrator=integrator, url="http://127.0.0.1:9/hook")
    hours = {"-1h": timezone.now() - timedelta(hours=1), "-2h": timezone.now() - timedelta(hours=2)}
    body = {k: hours[v].isoformat() if v in hours else v for k, v in body.items()}
    response = _recover(auth_client, endpoint, **body)
    assert response.status_code == 422, response.content
    [error] = response.json()["error"]
    assert (error["field"], error["code"]) == (field, code)


def test_recover_is_for_your_own_endpoints(auth_client, other_integrator):
    theirs = webhook_create(integrator=other_integrator, url="http://127.0.0.1:9/hook")
    assert _recover(auth_client, theirs, since=timezone.now().isoformat()).status_code == 404
