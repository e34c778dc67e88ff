"""Polling (API.md §6)."""

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

EVENT_KEYS = {"id", "type", "timestamp", "sequence", "api_version", "data"}


def test_feed_pages_with_after_and_has_more(auth_client, delivery):
    for n in range(5):
        auth_client.post("/api/issues", {"client_issue_id": f"e{n}"}, format="json")
    first = auth_client.get("/api/events?limit=2").json()["data"]
    assert [e["sequence"] for e in first["results"]] == [1, 2]
    assert first["next_after"] == 2 and first["has_more"] is True
    event = first["results"][0]
    assert set(event) == EVENT_KEYS
    assert event["id"].startswith("evt_") and event["type"] == "issue.created" and event["api_version"] == "1"
    assert event["timestamp"].endswith("Z")
    assert event["data"]["issue"]["client_issue_id"] == "e0"
    rest = auth_client.get("/api/events?after=2&limit=500").json()["data"]
    assert [e["sequence"] for e in rest["results"]] == [3, 4, 5]
    assert rest["has_more"] is False and rest["next_after"] == 5
    empty = auth_client.get("/api/events?after=5").json()["data"]
    assert empty == {"results": [], "next_after": 5, "has_more": False}
    single = auth_client.get(f"/api/events/{event['id']}").json()["data"]
    assert single == event


def test_feed_type_filter_and_validation(auth_client, delivery):
    auth_client.post("/api/issues", {"client_issue_id": "t"}, format="json")
    auth_client.put("/api/issues/status/t", {"status": "En preparación"}, format="json")
    changed = auth_client.get("/api/events?type=issue.status_changed").json()["data"]["results"]
    assert [e["type"] for e in changed] == ["issue.status_changed"]
    for query, field in [("limit=0", "limit"), ("limit=501", "limit"), ("after=-1", "after"), ("type=nope", "type")]:
        response = auth_client.get(f"/api/events?{query}")
        assert response.status_code == 422 and response.json()["warning"]["field"] == field


def test_sequences_are_per_integrator(delivery, integrator, other_integrator):
    a, b = client_for(integrator), client_for(other_integrator)
    a.post("/api/issues", {"client_issue_id": "1"}, format="json")
    b.post("/api/issues", {"client_issue_id": "1"}, format="json")
    assert [e["sequence"] for e in b.get("/api/events").json()["data"]["results"]] == [1]


def test_prune_removes_only_events_past_retention(auth_client, delivery):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.models import Event
    from webhooks.tasks import prune_events

    auth_client.post("/api/issues", {"client_issue_id": "old"}, format="json")
    auth_client.post("/api/issues", {"client_issue_id": "new"}, format="json")
    Event.objects.filter(data__issue__client_issue_id="old").update(created_at=timezone.now() - timedelta(days=31))
    assert prune_events() == 1
    assert list(Event.objects.values_list("data__issue__client_issue_id", flat=True)) == ["new"]


def test_prune_goes_in_batches_and_keeps_what_is_still_being_delivered(auth_client, integrator, delivery):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.models import Delivery, DeliveryAttempt, Event
    from webhooks.services import events_prune, webhook_create

    endpoint = webhook_create(integrator=integrator, url="http://127.0.0.1:9/hook")
    for n in range(5):
        auth_client.post("/api/issues", {"client_issue_id": f"p{n}"}, format="json")
    Event.objects.update(created_at=timezone.now() - timedelta(days=31))
    delivered = Delivery.objects.exclude(event__data__issue__client_issue_id="p4")
    delivered.update(status="succeeded")
    DeliveryAttempt.objects.bulk_create(DeliveryAttempt(delivery=d, number=1, http_status=200) for d in delivered)
    batches = []
    assert events_prune(batch_size=2, on_batch=batches.append) == 4
    assert batches == [2, 2]
    # p4's delivery is still pending: its event stays until the delivery ends.
    assert list(Event.objects.values_list("data__issue__client_issue_id", flat=True)) == ["p4"]
    assert list(Delivery.objects.values_list("endpoint", flat=True)) == [endpoint.pk]
    assert not DeliveryAttempt.objects.exists()


def test_feed_data_is_the_stored_json_as_valid_javascript(auth_client, delivery):
    details = {"note": "línea\u2028dos\u2029tres", "quote": 'say "hi" \\ bye', "n": [1, 2.5, None, True]}
    auth_client.post("/api/issues", {"client_issue_id": "raw", "details": details}, format="json")
    issue = auth_client.get("/api/issues/raw").json()["data"]
    for accept in ("application/json", "application/json; indent=2"):
        response = auth_client.get("/api/events?limit=1", HTTP_ACCEPT=accept)
        assert "\u2028".encode() not in response.content and b"\\u2028" in response.content
        (event,) = response.json()["data"]["results"]
        assert event["data"]["issue"] == issue
        assert event == auth_client.get(f"/api/events/{event['id']}").json()["data"]
