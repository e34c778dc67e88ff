"""Signed deliveries to a real local HTTP server, verified with the `standardwebhooks` library.

These run the delivery code inline (what a worker does); tests/webhooks/test_worker.py runs a
real Celery worker for the behaviour that depends on one.
"""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug import Response

from tests.conftest import client_for
from tests.webhooks.conftest import delivery_rows_read, send_all_due
from webhooks.delivery import deliveries_drain, deliveries_sweep, delivery_attempt, retry_delay
from webhooks.delivery.claim import claim
from webhooks.delivery.sql import CLAIM_LOCK
from webhooks.models import Delivery, DeliveryStatus, Event, WebhookEndpoint
from webhooks.services import (
    WAKE_FLAG,
    delivery_retry,
    publish,
    webhook_create,
    webhook_disable,
    webhook_enable,
    webhook_rotate_secret,
    webhook_update,
)  # fmt: skip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0, 0, 0]


def _hook(integrator, receiver, **kwargs):
    return webhook_create(integrator=integrator, url=receiver.url(), **kwargs)


def test_delivery_is_signed_per_standard_webhooks(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "s1"}, format="json")
    assert send_all_due() == ["succeeded"]
    request = receiver.requests[0]
    payload = receiver.verify(request, endpoint.secret)  # raises if the signature is wrong
    event = Event.objects.get()
    assert request.headers["webhook-id"] == event.id
    assert payload == event.representation()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "GetItDone-Webhooks/1"
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 30
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(request.get_data(), dict(request.headers))


def test_failed_attempt_is_retried_with_the_same_id_and_both_attempts_logged(
    auth_client, integrator, receiver, delivery
):
    receiver.respond(500, 200)
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "r1"}, format="json")
    assert send_all_due() == ["retry", "succeeded"]
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    for request in receiver.requests:
        receiver.verify(request, endpoint.secret)
    deliveries = client_for(integrator).get(f"/api/webhooks/{endpoint.pk}/deliveries").json()["data"]["results"]
    assert len(deliveries) == 1
    d = deliveries[0]
    assert d["status"] == "succeeded" and d["event_type"] == "issue.created" and d["next_attempt_at"] is None
    assert [(a["number"], a["http_status"]) for a in d["attempts"]] == [(1, 500), (2, 200)]
    assert d["attempts"][0]["response_body"] == "status 500" and d["attempts"][0]["duration_ms"] >= 0


def test_out_of_attempts_is_failed(auth_client, integrator, receiver, delivery, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0, 0]
    receiver.respond(503)
    _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "f1"}, format="json")
    assert send_all_due() == ["retry", "retry", "failed"]
    assert Delivery.objects.get().status == DeliveryStatus.FAILED


def test_event_type_filter(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    _hook(integrator, receiver, event_types=["issue.status_changed"])
    auth_client.post("/api/issues", {"client_issue_id": "t1"}, format="json")
    auth_client.put("/api/issues/status/t1", {"status": "En preparación"}, format="json")
    send_all_due()
    assert [b["type"] for b in receiver.bodies()] == ["issue.status_changed"]


def test_issue_webhook_url_gets_its_events_signed_with_the_integrators_secret(
    auth_client, integrator, receiver, delivery
):
    receiver.respond(200)
    url = receiver.url()
    auth_client.post("/api/issues", {"client_issue_id": "u1", "webhook_url": url}, format="json")
    auth_client.put("/api/issues/status/u1", {"status": "En preparación"}, format="json")
    send_all_due()
    assert [b["type"] for b in receiver.bodies()] == ["issue.created", "issue.status_changed"]
    for request in receiver.requests:
        receiver.verify(request, integrator.webhook_secret)


def test_410_disables_the_endpoint_at_once(auth_client, integrator, receiver, delivery):
    receiver.respond(410)
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "g1"}, format="json")
    auth_client.post("/api/issues", {"client_issue_id": "g2"}, format="json")
    first = Delivery.objects.order_by("id").first()
    assert delivery_attempt(first.pk) == "gone"
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    second = Delivery.objects.order_by("id").last()
    assert delivery_attempt(second.pk) == "not_due"  # a disabled endpoint's deliveries wait
    assert len(receiver.requests) == 1
    # Events published while disabled get no delivery; re-enabling resumes what was pending.
    auth_client.post("/api/issues", {"client_issue_id": "g3"}, format="json")
    assert Delivery.objects.count() == 2
    receiver.server.clear()
    receiver.respond(200)
    response = auth_client.patch(f"/api/webhooks/{endpoint.pk}", {"active": True}, format="json")
    assert response.json()["data"]["active"] is True
    assert send_all_due() == ["succeeded"]
    assert Delivery.objects.get(pk=second.pk).status == DeliveryStatus.SUCCEEDED


def test_endpoint_failing_for_five_days_is_disabled(auth_client, integrator, receiver, delivery, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0] * 10
    receiver.respond(500)
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "d1"}, format="json")
    pk = Delivery.objects.get().pk
    assert delivery_attempt(pk) == "retry"
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, seconds=1))
    assert delivery_attempt(pk) == "retry"
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "5 days" in endpoint.disabled_reason


def test_rotation_signs_with_both_secrets(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    endpoint = _hook(integrator, receiver)
    old = endpoint.secret
    response = auth_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret")
    new = response.json()["data"]["secret"]
    assert new != old and new.startswith("whsec_")
    auth_client.post("/api/issues", {"client_issue_id": "k1"}, format="json")
    send_all_due()
    request = receiver.requests[0]
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    receiver.verify(request, old)
    receiver.verify(request, new)


def test_old_secret_stops_signing_after_24h(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    endpoint = _hook(integrator, receiver)
    old = endpoint.secret
    webhook_rotate_secret(endpoint=endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    endpoint.refresh_from_db()
    auth_client.post("/api/issues", {"client_issue_id": "k2"}, format="json")
    send_all_due()
    request = receiver.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    receiver.verify(request, endpoint.secret)
    with pytest.raises(WebhookVerificationError):
        receiver.verify(request, old)


def test_retry_after_pushes_later_up_to_a_day_never_earlier(settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert 5 <= retry_delay(1) <= 5.5  # jitter only adds
    assert retry_delay(1, retry_after=120) == 120
    assert retry_delay(1, retry_after=10**6) == 24 * 3600
    # A Retry-After of 1 s on attempt 5 leaves the schedule's 5 h.
    assert all(retry_delay(5, retry_after=1) >= 5 * 3600 for _ in range(100))
    assert retry_delay(8) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120), (" 7 ", 7), ("soon", None), ("", None), ("-5", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0)],
)
def test_retry_after_header_as_seconds_or_a_past_date(header, seconds):
    from webhooks.transport import _retry_after

    assert _retry_after(header) == seconds


def test_retry_after_header_as_a_future_date():
    from email.utils import format_datetime

    from webhooks.transport import _retry_after

    in_an_hour = format_datetime(timezone.now() + timedelta(hours=1), usegmt=True)
    assert 3590 <= _retry_after(in_an_hour) <= 3601


def test_429_with_retry_after_schedules_later(auth_client, integrator, receiver, delivery, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5, 5]
    receiver.respond(429, headers={"Retry-After": "120"})
    _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "q1"}, format="json")
    assert delivery_attempt(Delivery.objects.get().pk) == "retry"
    wait = (Delivery.objects.get().next_attempt_at - timezone.now()).total_seconds()
    assert 100 < wait < 135


def test_retry_after_of_a_second_on_attempt_five_keeps_the_five_hours(
    auth_client, integrator, receiver, delivery, settings
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
    receiver.respond(503, headers={"Retry-After": "1"})
    _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "q5"}, format="json")
    Delivery.objects.update(attempt_count=4)  # four attempts failed before this one
    assert delivery_attempt(Delivery.objects.get().pk) == "retry"
    wait = (Delivery.objects.get().next_attempt_at - timezone.now()).total_seconds()
    assert 5 * 3600 - 5 <= wait <= 5.5 * 3600


def test_redirects_are_not_followed(auth_client, integrator, receiver, delivery):
    receiver.respond(302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
    _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "x1"}, format="json")
    assert delivery_attempt(Delivery.objects.get().pk) == "retry"
    assert Delivery.objects.get().attempts.get().http_status == 302


def test_unreachable_receiver_records_the_error(auth_client, integrator, delivery):
    webhook_create(integrator=integrator, url="http://127.0.0.1:1/nothing-listens")
    auth_client.post("/api/issues", {"client_issue_id": "n1"}, format="json")
    assert delivery_attempt(Delivery.objects.get().pk) == "retry"
    attempt = Delivery.objects.get().attempts.get()
    assert attempt.http_status is None and "Error" in attempt.error


def test_a_claimed_delivery_is_not_sent_twice(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "c1"}, format="json")
    pk = Delivery.objects.get().pk
    Delivery.objects.filter(pk=pk).update(locked_until=timezone.now() + timedelta(seconds=60))
    assert delivery_attempt(pk) == "not_due"
    assert receiver.requests == []


def test_sweep_counts_what_is_due_including_expired_leases(auth_client, integrator, receiver, delivery, settings):
    _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "w1"}, format="json")
    auth_client.post("/api/issues", {"client_issue_id": "w2"}, format="json")
    held, dead = Delivery.objects.order_by("id")
    Delivery.objects.filter(pk=held.pk).update(locked_until=timezone.now() + timedelta(seconds=60))
    Delivery.objects.filter(pk=dead.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_sweep() is True  # the dead worker's lease ran out
    Delivery.objects.filter(pk=dead.pk).update(status="succeeded")
    assert deliveries_sweep() is False  # the live lease is not due


def test_a_retry_waits_out_of_the_claims_way_until_its_time(auth_client, integrator, receiver, delivery, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [60, 60]
    receiver.respond(500, 500, 200)
    _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "r1"}, format="json")
    pk = Delivery.objects.get().pk
    assert delivery_attempt(pk) == "retry"
    assert Delivery.objects.get(pk=pk).readiness == "waiting"
    assert delivery_attempt(pk) == "not_due"

    # Its time comes: a claim makes it ready and sends it in the same turn.
    Delivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert delivery_attempt(pk) == "retry"
    assert Delivery.objects.get(pk=pk).readiness == "waiting"

    # Or the sweep finds it due, makes it ready and wakes a drain.
    Delivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_sweep() is True
    assert Delivery.objects.get(pk=pk).readiness == "ready"
    assert delivery_attempt(pk) == "succeeded"
    assert len(receiver.requests) == 3


def test_a_disabled_endpoints_deliveries_pause_until_it_is_enabled(
    auth_client, integrator, receiver, delivery, settings, django_capture_on_commit_callbacks
):
    receiver.respond(200)
    endpoint = _hook(integrator, receiver)
    for n in range(2):
        auth_client.post("/api/issues", {"client_issue_id": f"p{n}"}, format="json")
    _first, second = Delivery.objects.order_by("id")
    with django_capture_on_commit_callbacks(execute=True):  # they are paused after its commit
        webhook_disable(endpoint=endpoint, reason="a test")
    assert set(Delivery.objects.values_list("readiness", flat=True)) == {"paused"}
    # A retry recorded while the endpoint was being disabled pauses once its time comes.
    Delivery.objects.filter(pk=second.pk).update(readiness="waiting", next_attempt_at=timezone.now())
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_drain() == 0
    assert Delivery.objects.get(pk=second.pk).readiness == "paused"
    assert receiver.requests == []

    webhook_enable(endpoint=endpoint)
    assert deliveries_drain() == 2
    assert len(receiver.requests) == 2


def test_a_claim_reads_nothing_of_receivers_that_are_down_or_disabled(
    integrator, receiver, settings, django_capture_on_commit_callbacks
):
    """Receivers whose deliveries all wait for a retry, or whose endpoint is disabled, may hold
    any number of deliveries: a claim does not visit them (it walks ready deliveries only)."""
    event = publish(integrator, "webhook.test", {"n": 1})
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.bulk_create(
        Delivery(event=event, integrator=integrator, url=f"https://down{n}.example/hook", next_attempt_at=later,
                 readiness="waiting", attempt_count=1)
        for n in range(300)
    )  # fmt: skip
    disabled = webhook_create(integrator=integrator, url=receiver.url("/off"))
    Delivery.objects.bulk_create(
        Delivery(event=event, integrator=integrator, endpoint=disabled, url=disabled.url,
                 next_attempt_at=timezone.now())
        for _ in range(300)
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        webhook_disable(endpoint=disabled, reason="a test")
    up = receiver.url("/up")
    Delivery.objects.create(event=event, integrator=integrator, url=up, next_attempt_at=timezone.now())
    Delivery.objects.bulk_create(  # what was sent before: a table too big to read whole
        Delivery(event=event, integrator=integrator, url=up, status="succeeded") for _ in range(5000)
    )

    before = delivery_rows_read()
    claimed = claim(limit=32)
    read = delivery_rows_read() - before
    assert [job.url for job in claimed] == [up]
    assert read < 20, f"the claim read {read} delivery rows"


def test_the_sweep_resumes_paused_deliveries_of_an_endpoint_that_is_active(
    auth_client, integrator, receiver, delivery, settings
):
    """However an endpoint became active again (a save that raced a disable, a pausing that ran
    after an enable), its paused deliveries must not wait forever."""
    receiver.respond(200)
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "z1"}, format="json")
    Delivery.objects.update(readiness="paused")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_drain() == 0
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    assert deliveries_sweep() is False  # disabled: it stays paused
    assert Delivery.objects.get().readiness == "paused"
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=True)
    assert deliveries_sweep() is True
    assert Delivery.objects.get().readiness == "ready"
    assert deliveries_drain() == 1


def test_the_sweep_pauses_a_delivery_published_as_its_endpoint_was_disabled(
    auth_client, integrator, receiver, delivery, settings
):
    """A publish that read the endpoint as active writes its delivery ready, and commits after
    the disable's pausing ran (`make faults`, the receivers drill): no claim takes it, yet every
    claim reads past it. The sweep pauses it, out of their way; enabling then sends it."""
    receiver.respond(200)
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "r1"}, format="json")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)  # disabled, its pausing already run
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_sweep() is False  # nothing to send: the row is paused, not left ready
    assert Delivery.objects.get().readiness == "paused"
    endpoint.refresh_from_db()
    webhook_enable(endpoint=endpoint)
    assert deliveries_drain() == 1 and Delivery.objects.get().status == "succeeded"


def test_disabling_leaves_alone_what_a_drain_is_sending(
    auth_client, integrator, receiver, delivery, settings, django_capture_on_commit_callbacks
):
    """The drain sending a delivery records it (pausing it too could deadlock with that record);
    its retry, if any, pauses when due."""
    endpoint = _hook(integrator, receiver)
    for n in range(2):
        auth_client.post("/api/issues", {"client_issue_id": f"l{n}"}, format="json")
    sending, idle = Delivery.objects.order_by("id")
    Delivery.objects.filter(pk=sending.pk).update(locked_until=timezone.now() + timedelta(seconds=60))
    with django_capture_on_commit_callbacks(execute=True):
        webhook_disable(endpoint=endpoint, reason="a test")
    assert Delivery.objects.get(pk=sending.pk).readiness == "ready"
    assert Delivery.objects.get(pk=idle.pk).readiness == "paused"


def test_a_patch_enables_an_endpoint_a_drain_disabled_after_it_was_read(
    auth_client, integrator, receiver, delivery, settings, django_capture_on_commit_callbacks
):
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "e1"}, format="json")
    stale = WebhookEndpoint.objects.get(pk=endpoint.pk)  # read by the request, still active
    with django_capture_on_commit_callbacks(execute=True):
        webhook_disable(endpoint=endpoint, reason="the receiver answered 410 Gone")  # by a drain
    assert Delivery.objects.get().readiness == "paused"
    webhook_update(endpoint=stale, active=True, description="back")
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.description == "back"
    assert Delivery.objects.get().readiness == "ready"


def test_a_claim_leases_by_key_whatever_the_statistics_say(integrator, receiver):
    """Statistics taken while the table was empty (a new deployment, before autovacuum analyzes
    it) must not turn the lease into a scan of every ready delivery."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_delivery")
    event = publish(integrator, "webhook.test", {"n": 1})
    Delivery.objects.bulk_create(
        Delivery(event=event, integrator=integrator, url=receiver.url(f"/r{n % 10}"), next_attempt_at=timezone.now())
        for n in range(3000)
    )

    before = delivery_rows_read(analyze=False)
    assert len(claim(limit=32)) == 32
    read = delivery_rows_read(analyze=False) - before
    assert read < 300, f"the claim read {read} delivery rows"


def test_drain_sends_a_backlog_in_batches(auth_client, integrator, receiver, delivery, settings):
    receiver.respond(200)
    _hook(integrator, receiver)
    for n in range(7):
        auth_client.post("/api/issues", {"client_issue_id": f"b{n}"}, format="json")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # a full batch tries to wake another drain
    assert deliveries_drain(batch_size=3) == 7
    assert len(receiver.requests) == 7
    assert not Delivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()


def test_a_drain_clears_the_wake_up_flag_only_when_it_runs_out_of_work(auth_client, integrator, receiver, delivery):
    """While the flag is set, commits send no wake-up: a drain keeps it set while it has work,
    so commits under load do not each cost a broker message."""
    flag_while_sending = []

    def handler(request):
        flag_while_sending.append(cache.get(WAKE_FLAG))
        return Response(status=200)

    receiver.server.expect_request("/hook", method="POST").respond_with_handler(handler)
    _hook(integrator, receiver)
    for n in range(3):
        auth_client.post("/api/issues", {"client_issue_id": f"w{n}"}, format="json")
    cache.set(WAKE_FLAG, 1, timeout=60)  # as the first commit's wake-up left it
    assert deliveries_drain(batch_size=4) == 3  # not a full batch: no extra drain is woken
    assert flag_while_sending == [1, 1, 1]
    assert cache.get(WAKE_FLAG) is None

    # A drain at work sets the flag again if it was cleared (by its own last look, or another
    # drain's) or has expired: commits meanwhile need not wake more drains.
    flag_while_sending.clear()
    auth_client.post("/api/issues", {"client_issue_id": "w3"}, format="json")
    cache.delete(WAKE_FLAG)
    assert deliveries_drain(batch_size=4) == 1
    assert flag_while_sending == [1]
    assert cache.get(WAKE_FLAG) is None


def test_per_receiver_cap_counts_other_workers_leases(auth_client, integrator, receiver, delivery, settings):
    receiver.respond(200)
    _hook(integrator, receiver)
    settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT = 2
    for n in range(4):
        auth_client.post("/api/issues", {"client_issue_id": f"c{n}"}, format="json")
    first, second, third, _fourth = Delivery.objects.order_by("id")
    # Two sends to this receiver are in flight elsewhere: nothing more may start.
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(locked_until=timezone.now() + timedelta(seconds=60))
    assert delivery_attempt(third.pk) == "not_due"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_drain(batch_size=10) == 0
    Delivery.objects.filter(pk=first.pk).update(locked_until=None, status="succeeded")
    assert deliveries_drain(batch_size=10) == 2  # one slot was free, then another after that batch


def test_a_receiver_with_a_long_backlog_does_not_hide_the_others(auth_client, integrator, receiver, delivery, settings):
    """One slow receiver must not starve the others: here one has more due deliveries than a
    claim takes, and its cap's worth in flight elsewhere; the other's delivery, newer than all of
    them, still goes out at once."""
    receiver.respond(200, path="/quick")
    webhook_create(integrator=integrator, url=receiver.url("/slow"))
    for n in range(40):
        auth_client.post("/api/issues", {"client_issue_id": f"s{n}"}, format="json")
    webhook_create(integrator=integrator, url=receiver.url("/quick"))
    auth_client.post("/api/issues", {"client_issue_id": "q"}, format="json")
    settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT = 2
    slow = Delivery.objects.filter(url=receiver.url("/slow")).order_by("id")
    backlog = slow.count()
    Delivery.objects.filter(pk__in=[d.pk for d in slow[:2]]).update(locked_until=timezone.now() + timedelta(seconds=60))
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_drain(batch_size=2) == 1
    assert [r.path for r in receiver.requests] == ["/quick"]
    assert slow.filter(status=DeliveryStatus.PENDING).count() == backlog > 2 * 8  # more than a claim ever looked at


def test_a_410_anywhere_in_a_batch_disables_the_endpoint(auth_client, integrator, receiver, delivery, settings):
    receiver.respond(410, 200)  # a batch's requests arrive in any order: one gets 410, one 200
    endpoint = _hook(integrator, receiver)
    auth_client.post("/api/issues", {"client_issue_id": "m1"}, format="json")
    auth_client.post("/api/issues", {"client_issue_id": "m2"}, format="json")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert deliveries_drain(batch_size=2) == 2
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["failed", "succeeded"]


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_deleted_while_its_delivery_is_sent_fails_nothing_else(
    auth_client, integrator, receiver, delivery, settings
):
    """The integrator deletes an endpoint (its deliveries go with it) while a batch holding one
    of them is being sent: the rest of the batch is recorded as usual, not sent again."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    gone = webhook_create(integrator=integrator, url=receiver.url("/gone"))
    _hook(integrator, receiver)
    receiver.respond(200)

    def delete_endpoint(request):
        from django.db import connection

        try:
            WebhookEndpoint.objects.filter(pk=gone.pk).delete()  # committed, from another connection
        finally:
            connection.close()
        return Response(status=500)

    receiver.server.expect_request("/gone", method="POST").respond_with_handler(delete_endpoint)
    auth_client.post("/api/issues", {"client_issue_id": "d1"}, format="json")
    assert deliveries_drain(batch_size=10) == 2
    assert not WebhookEndpoint.objects.filter(pk=gone.pk).exists()
    kept = Delivery.objects.get()
    assert kept.status == DeliveryStatus.SUCCEEDED and kept.attempts.count() == 1
    assert deliveries_drain(batch_size=10) == 0


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_waited_for_its_turn_sees_the_leases_taken_meanwhile(
    auth_client, integrator, receiver, delivery, settings
):
    """The per-receiver cap across workers: while another worker's claim holds the turn, ours
    waits; when that one commits its leases, ours must count them (a snapshot taken before the
    wait would not, and would send past the cap)."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT = 2
    _hook(integrator, receiver)
    for n in range(3):
        auth_client.post("/api/issues", {"client_issue_id": f"t{n}"}, format="json")
    first, second, _third = Delivery.objects.order_by("id").values_list("pk", flat=True)
    claimed: list[list[int]] = []

    def claim_elsewhere() -> None:  # a drain on another thread, with a connection of its own
        try:
            claimed.append([job.id for job in claim(limit=10)])
        finally:
            connection.close()

    other = psycopg.connect(**connection.get_connection_params())  # the other worker
    try:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK])  # its turn
        waiting = threading.Thread(target=claim_elsewhere)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # ours waits for the turn
        other.execute(
            "UPDATE webhooks_delivery SET locked_until = now() + interval '60 s' WHERE id = ANY(%s)", [[first, second]]
        )
        other.commit()  # its leases, and the turn passes to ours
        waiting.join(10)
    finally:
        other.close()
    assert claimed == [[]]  # the cap's two are in flight elsewhere


@pytest.mark.django_db(transaction=True)
def test_a_410_pauses_the_endpoints_other_deliveries_once_the_batch_is_recorded(
    auth_client, integrator, receiver, delivery, settings
):
    """The drain that gets a 410 disables the endpoint while recording its batch; the endpoint's
    other pending deliveries are paused after that commit, in a transaction of their own (in the
    batch's, they would be locked in the opposite order to other drains' records)."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    receiver.respond(410)
    endpoint = _hook(integrator, receiver)
    for n in range(3):
        auth_client.post("/api/issues", {"client_issue_id": f"g{n}"}, format="json")
    assert deliveries_drain(batch_size=1) == 1
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert len(receiver.requests) == 1
    assert sorted(Delivery.objects.values_list("status", "readiness")) == [
        ("failed", "ready"), ("pending", "paused"), ("pending", "paused"),
    ]  # fmt: skip


def test_a_patched_url_takes_the_pending_deliveries(auth_client, integrator, receiver, delivery):
    receiver.respond(500, path="/old")
    receiver.respond(200, path="/new")
    endpoint = webhook_create(integrator=integrator, url=receiver.url("/old"))
    auth_client.post("/api/issues", {"client_issue_id": "u1"}, format="json")
    assert delivery_attempt(Delivery.objects.get().pk) == "retry"
    done = Delivery.objects.create(
        event=Event.objects.get(), integrator=integrator, endpoint=endpoint, url=receiver.url("/old"),
        status=DeliveryStatus.SUCCEEDED, next_attempt_at=timezone.now(),
    )  # fmt: skip
    response = auth_client.patch(f"/api/webhooks/{endpoint.pk}", {"url": receiver.url("/new")}, format="json")
    assert response.status_code == 200
    assert send_all_due() == ["succeeded"]
    assert [r.path for r in receiver.requests] == ["/old", "/new"]
    done.refresh_from_db()
    assert done.url == receiver.url("/old")  # what was delivered keeps the URL it went to


@pytest.mark.django_db(transaction=True)
def test_a_retry_pressed_after_a_lease_ran_out_mid_send_is_not_lost(
    auth_client, integrator, receiver, delivery, settings
):
    """A worker's lease runs out while it is still sending (a slow receiver, a paused process);
    staff press Retry meanwhile. The late outcome of the stale attempt must not overwrite the
    retry's "send now" with the schedule's next attempt an hour later."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.WEBHOOKS_RETRY_SCHEDULE = [3600, 3600]
    _hook(integrator, receiver)
    answers = iter([500, 200])

    def expire_and_retry(request):
        from django.db import connection

        if len(receiver.requests) == 0:
            try:
                Delivery.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
                delivery_retry(delivery=Delivery.objects.get())
            finally:
                connection.close()
        receiver.requests.append(request)
        return Response(status=next(answers))

    receiver.server.expect_request("/hook", method="POST").respond_with_handler(expire_and_retry)
    auth_client.post("/api/issues", {"client_issue_id": "r1"}, format="json")
    # The stale attempt (a 500, not recorded), then the retry it left due, in the same drain.
    assert deliveries_drain(batch_size=10) == 2
    done = Delivery.objects.get()
    assert done.status == DeliveryStatus.SUCCEEDED and len(receiver.requests) == 2
    assert [(a.manual, a.http_status) for a in done.attempts.all()] == [(True, 200)]
