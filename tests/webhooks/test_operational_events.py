"""Operational events (API.md §7): the integrator hears that an endpoint was disabled or that a
delivery used up its attempts, on its other endpoints and in the feed, never on the endpoint the
event is about."""

import pytest

from tests.webhooks.conftest import send_all_due
from webhooks.models import Delivery, Event
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0, 0, 0]


def _feed(auth_client, type_):
    return [e["data"] for e in auth_client.get(f"/api/events?type={type_}").json()["data"]["results"]]


def _received(receiver, path, type_):
    return [b["data"] for r, b in zip(receiver.requests, receiver.bodies(), strict=True) if r.path == path and
            b["type"] == type_]  # fmt: skip


def test_a_410_disables_the_endpoint_and_the_others_hear_of_it(auth_client, integrator, receiver, delivery):
    receiver.respond(410, path="/gone")
    receiver.respond(200, path="/ops")
    gone = webhook_create(integrator=integrator, url=receiver.url("/gone"))
    webhook_create(integrator=integrator, url=receiver.url("/ops"))
    auth_client.post("/api/issues", {"client_issue_id": "o1"}, format="json")
    send_all_due()
    gone.refresh_from_db()
    assert not gone.is_active
    disabled = {"endpoint_id": gone.pk, "url": gone.url, "reason": "gone"}
    assert _feed(auth_client, "webhook.endpoint.disabled") == [disabled]
    assert _received(receiver, "/ops", "webhook.endpoint.disabled") == [disabled]
    [failed] = Delivery.objects.filter(endpoint=gone, status="failed")
    exhausted = {
        "endpoint_id": gone.pk, "delivery_id": failed.pk, "event_id": failed.event_id, "event_type": "issue.created",
        "attempts": 1,
    }  # fmt: skip
    assert _feed(auth_client, "webhook.delivery.exhausted") == [exhausted]
    assert _received(receiver, "/ops", "webhook.delivery.exhausted") == [exhausted]
    # Never to the endpoint they are about.
    assert not Delivery.objects.filter(endpoint=gone, event__type__startswith="webhook.").exists()


def test_a_delivery_that_uses_up_its_schedule_is_reported_once(auth_client, integrator, receiver, delivery):
    receiver.respond(500, path="/down")
    receiver.respond(200, path="/ops")
    down = webhook_create(integrator=integrator, url=receiver.url("/down"))
    webhook_create(integrator=integrator, url=receiver.url("/ops"), event_types=["webhook.delivery.exhausted"])
    auth_client.post("/api/issues", {"client_issue_id": "o2"}, format="json")
    send_all_due()
    [failed] = Delivery.objects.filter(endpoint=down)
    assert failed.status == "failed" and failed.attempt_count == 4  # the first try and 3 retries
    [reported] = _received(receiver, "/ops", "webhook.delivery.exhausted")
    assert reported == {
        "endpoint_id": down.pk, "delivery_id": failed.pk, "event_id": failed.event_id, "event_type": "issue.created",
        "attempts": 4,
    }  # fmt: skip
    # One report: not sent to /down, the endpoint it is about.
    assert Event.objects.filter(type="webhook.delivery.exhausted").count() == 1


def test_an_endpoint_its_owner_disables_publishes_nothing(auth_client, integrator, receiver, delivery):
    endpoint = webhook_create(integrator=integrator, url=receiver.url("/mine"))
    assert auth_client.patch(f"/api/webhooks/{endpoint.pk}", {"active": False}, format="json").status_code == 200
    assert not Event.objects.filter(type__startswith="webhook.").exists()
