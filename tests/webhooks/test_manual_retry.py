"""A manual retry is an extra attempt (API.md §7): logged, numbered after the others and marked
manual, but it neither uses up the automatic schedule nor pushes it later. Sent inline to a real
local receiver, through the PostgreSQL claim and record (tests/webhooks/test_embedded_database.py
runs the SQLite ones)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from getitdone.errors import NotAllowed
from getitdone.formats import iso_timestamp
from tests.webhooks.conftest import send_all_due
from webhooks.delivery import delivery_attempt
from webhooks.delivery.claim import claim
from webhooks.models import Delivery, DeliveryStatus, Readiness
from webhooks.services import delivery_retry, webhook_create, webhook_disable, webhook_send_test

pytestmark = pytest.mark.django_db

HALF_HOUR = 1800


@pytest.fixture(autouse=True)
def schedule(settings):
    # Attempts 1 and 2 are retried at once, the 3rd after 30 min, the 4th after 2 h; then failed.
    settings.WEBHOOKS_RETRY_SCHEDULE = [0, 0, HALF_HOUR, 7200]


def _delivery(integrator, receiver) -> Delivery:
    return webhook_send_test(endpoint=webhook_create(integrator=integrator, url=receiver.url()))


def _after_three_failed_attempts(integrator, receiver) -> Delivery:
    """A delivery whose 3rd automatic attempt failed: the next one is 30 min away."""
    delivery = _delivery(integrator, receiver)
    assert send_all_due()[:3] == ["retry", "retry", "retry"]
    delivery.refresh_from_db()
    assert (delivery.attempt_count, delivery.status, delivery.readiness) == (3, "pending", "waiting")
    assert delivery.next_attempt_at - timezone.now() > timedelta(seconds=HALF_HOUR * 0.9 - 5)
    return delivery


def _attempts(delivery: Delivery) -> list[tuple[int, bool, int | None]]:
    return list(delivery.attempts.values_list("number", "manual", "http_status"))


def test_a_failed_manual_retry_leaves_the_schedule_as_it_was_and_logs_an_extra_attempt(integrator, receiver):
    receiver.respond(500)
    before = _after_three_failed_attempts(integrator, receiver)
    delivery_retry(delivery=before)
    assert delivery_attempt(before.pk) == "retry"
    after = Delivery.objects.get(pk=before.pk)
    assert after.next_attempt_at == before.next_attempt_at
    assert (after.attempt_count, after.manual_attempt_count, after.status) == (3, 1, "pending")
    assert after.readiness == Readiness.WAITING and after.status_before_retry == ""
    assert _attempts(after) == [(1, False, 500), (2, False, 500), (3, False, 500), (4, True, 500)]
    assert len(receiver.requests) == 4
    assert delivery_attempt(before.pk) == "not_due"  # not sent again before its time


def test_ten_failed_manual_retries_never_make_a_delivery_failed(integrator, receiver):
    receiver.respond(500)
    before = _after_three_failed_attempts(integrator, receiver)
    for _click in range(10):
        delivery_retry(delivery=before)
        assert delivery_attempt(before.pk) == "retry"
    after = Delivery.objects.get(pk=before.pk)
    assert (after.status, after.attempt_count, after.manual_attempt_count) == ("pending", 3, 10)
    assert after.next_attempt_at == before.next_attempt_at
    assert [n for n, _manual, _status in _attempts(after)] == list(range(1, 14))
    # When its time comes the schedule goes on from where it was: automatic attempt 4 of 5,
    # then 2 h to the 5th.
    Delivery.objects.filter(pk=before.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert delivery_attempt(before.pk) == "retry"
    after.refresh_from_db()
    assert (after.attempt_count, after.manual_attempt_count) == (4, 10)
    assert after.next_attempt_at - timezone.now() > timedelta(hours=1.7)
    assert _attempts(after)[-1] == (14, False, 500)


def test_a_retried_failed_delivery_that_fails_again_stays_failed(integrator, receiver, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0]
    receiver.respond(500)
    delivery = _delivery(integrator, receiver)
    assert send_all_due() == ["retry", "failed"]
    delivery_retry(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.next_attempt_at <= timezone.now()  # as the API shows it
    assert delivery_attempt(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at, delivery.attempt_count) == ("failed", None, 2)
    assert _attempts(delivery) == [(1, False, 500), (2, False, 500), (3, True, 500)]
    assert send_all_due() == []  # nothing pending


def test_a_manual_retry_that_succeeds_makes_the_delivery_succeeded(integrator, receiver):
    receiver.respond(500, 500, 500, 200)
    delivery = _after_three_failed_attempts(integrator, receiver)
    delivery_retry(delivery=delivery)
    assert delivery_attempt(delivery.pk) == "succeeded"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at, delivery.attempt_count) == ("succeeded", None, 3)
    assert _attempts(delivery)[-1] == (4, True, 200)


def test_a_failed_delivery_retried_and_delivered_is_succeeded(integrator, receiver, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.respond(503, 204)
    delivery = _delivery(integrator, receiver)
    assert send_all_due() == ["failed"]
    delivery_retry(delivery=delivery)
    assert send_all_due() == ["succeeded"]
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and _attempts(delivery) == [(1, False, 503), (2, True, 204)]


def test_a_delivered_event_sent_again_by_hand_stays_succeeded_if_that_fails(integrator, receiver):
    receiver.respond(200, 500)
    delivery = _delivery(integrator, receiver)
    assert send_all_due() == ["succeeded"]
    delivery_retry(delivery=delivery)
    assert delivery_attempt(delivery.pk) == "failed"  # the attempt failed; the delivery did not
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("succeeded", None)
    assert _attempts(delivery) == [(1, False, 200), (2, True, 500)]


def test_a_second_retry_before_the_first_is_made_asks_for_nothing_more(integrator, receiver):
    receiver.respond(500)
    before = _after_three_failed_attempts(integrator, receiver)
    delivery_retry(delivery=before)
    delivery_retry(delivery=Delivery.objects.get(pk=before.pk))
    assert delivery_attempt(before.pk) == "retry"
    assert delivery_attempt(before.pk) == "not_due"
    after = Delivery.objects.get(pk=before.pk)
    # The second retry did not take the first one's "now" for the automatic attempt's time.
    assert after.next_attempt_at == before.next_attempt_at and after.manual_attempt_count == 1


def test_a_delivery_being_sent_cannot_be_retried_until_its_attempt_is_recorded(integrator, receiver):
    receiver.respond(500)
    delivery = _delivery(integrator, receiver)
    assert [job.id for job in claim(ids=[delivery.pk])] == [delivery.pk]  # a worker holds it
    with pytest.raises(NotAllowed) as refused:
        delivery_retry(delivery=delivery)
    assert refused.value.code == "delivery_in_flight"
    delivery.refresh_from_db()
    assert delivery.status_before_retry == "" and delivery.locked_until > timezone.now()


def test_the_retry_call_is_refused_while_the_delivery_is_being_sent(auth_client, integrator, receiver):
    delivery = _delivery(integrator, receiver)
    claim(ids=[delivery.pk])
    response = auth_client.post(f"/api/webhooks/{delivery.endpoint_id}/deliveries/{delivery.pk}/retry")
    assert response.status_code == 400 and response.json()["error"][0]["code"] == "delivery_in_flight"


def test_a_manual_retry_answered_410_disables_the_endpoint_and_pauses_the_delivery(integrator, receiver):
    receiver.respond(500, 500, 500, 410)
    delivery = _after_three_failed_attempts(integrator, receiver)
    delivery_retry(delivery=delivery)
    assert delivery_attempt(delivery.pk) == "retry"
    delivery.refresh_from_db()
    delivery.endpoint.refresh_from_db()
    assert not delivery.endpoint.is_active and "410" in delivery.endpoint.disabled_reason
    # Still pending with its automatic attempt where it was: re-enabling the endpoint resumes it.
    assert (delivery.status, delivery.attempt_count) == ("pending", 3)


def test_a_manual_retry_of_a_disabled_endpoints_delivery_waits_for_it(integrator, receiver):
    receiver.respond(200)
    delivery = _delivery(integrator, receiver)
    webhook_disable(endpoint=delivery.endpoint, reason="test")
    delivery_retry(delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.readiness) == (DeliveryStatus.PENDING, Readiness.PAUSED)
    assert delivery_attempt(delivery.pk) == "not_due" and receiver.requests == []


def test_the_api_lists_each_attempt_with_its_kind(auth_client, integrator, receiver):
    receiver.respond(500)
    delivery = _after_three_failed_attempts(integrator, receiver)
    response = auth_client.post(f"/api/webhooks/{delivery.endpoint_id}/deliveries/{delivery.pk}/retry")
    assert response.status_code == 202 and response.json()["data"]["status"] == "pending"
    delivery_attempt(delivery.pk)
    listed = auth_client.get(f"/api/webhooks/{delivery.endpoint_id}/deliveries").json()["data"]["results"]
    [shown] = listed
    assert [(a["number"], a["manual"]) for a in shown["attempts"]] == [(1, False), (2, False), (3, False), (4, True)]
    assert shown["status"] == "pending"
    assert shown["next_attempt_at"] == iso_timestamp(delivery.next_attempt_at)  # not pushed later
