"""events_resend: staff send an order's events again to one endpoint, as new deliveries."""

import pytest
from django.core.cache import cache

from getitdone.errors import DomainError
from tests.webhooks.conftest import send_all_due
from webhooks.models import Delivery, Event, Readiness
from webhooks.services import WAKE_FLAG, events_resend, webhook_create, webhook_disable

pytestmark = pytest.mark.django_db


def _events(auth_client, client_issue_id: str) -> list[Event]:
    auth_client.post("/api/issues", {"client_issue_id": client_issue_id}, format="json")
    auth_client.put(f"/api/issues/status/{client_issue_id}", {"status": "En preparación"}, format="json")
    return list(Event.objects.filter(issue__client_issue_id=client_issue_id).order_by("sequence"))


def test_resent_events_are_new_deliveries_with_the_same_webhook_id(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    events = _events(auth_client, "r1")
    assert [e.type for e in events] == ["issue.created", "issue.status_changed"]
    # Subscribed to neither type: staff chose the events, the endpoint's filter does not apply.
    endpoint = webhook_create(integrator=integrator, url=receiver.url(), event_types=["command.failed"])
    assert events_resend(events=events, endpoint=endpoint) == 2
    queued = Delivery.objects.filter(endpoint=endpoint)
    assert sorted(queued.values_list("event_id", flat=True)) == sorted(e.id for e in events)
    assert send_all_due() == ["succeeded", "succeeded"]
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(e.id for e in events)
    for request in receiver.requests:
        receiver.verify(request, endpoint.secret)
    # Again: each time a delivery of its own, beside the ones already made.
    assert events_resend(events=events[:1], endpoint=endpoint) == 1
    assert Delivery.objects.filter(endpoint=endpoint, event=events[0]).count() == 2


def test_events_of_another_integrator_are_refused_and_nothing_is_queued(
    auth_client, integrator, other_integrator, delivery
):
    events = _events(auth_client, "r2")
    stranger = webhook_create(integrator=other_integrator, url="https://hooks.example.com/theirs")
    before = Delivery.objects.count()
    with pytest.raises(DomainError) as refused:
        events_resend(events=events, endpoint=stranger)
    assert refused.value.field == "events" and events[0].id in refused.value.message
    assert Delivery.objects.count() == before


def test_resending_to_a_disabled_endpoint_waits_for_it(auth_client, integrator, delivery):
    events = _events(auth_client, "r3")
    endpoint = webhook_create(integrator=integrator, url="https://hooks.example.com/off")
    webhook_disable(endpoint=endpoint, reason="test")
    assert events_resend(events=events, endpoint=endpoint) == 2
    assert set(Delivery.objects.filter(endpoint=endpoint).values_list("readiness", flat=True)) == {Readiness.PAUSED}


def test_resending_wakes_a_drain_once_committed(auth_client, integrator, delivery, django_capture_on_commit_callbacks):
    events = _events(auth_client, "r4")
    endpoint = webhook_create(integrator=integrator, url="https://hooks.example.com/wake")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert events_resend(events=events, endpoint=endpoint) == 2
        assert cache.get(WAKE_FLAG) is None  # not before the commit
    assert len(callbacks) == 1 and cache.get(WAKE_FLAG) == 1  # wake_drain sets it as it wakes one
    with django_capture_on_commit_callbacks() as callbacks:
        assert events_resend(events=[], endpoint=endpoint) == 0
    assert callbacks == []
