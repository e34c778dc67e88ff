"""Delivery with a real Celery worker (threads pool, embedded beat) and a real receiver: the
end-to-end path, a worker killed mid-delivery, and the broker down while events are written."""

import threading
import time

import pytest

from tests.conftest import client_for
from tests.factories import IntegratorFactory
from tests.processes import wait_for
from webhooks.models import Delivery, DeliveryStatus, Event
from webhooks.services import webhook_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(delivery, receiver):
    integrator = IntegratorFactory()
    endpoint = webhook_create(integrator=integrator, url=receiver.url())
    return integrator, endpoint, client_for(integrator)


def _all_delivered(expected_events):
    return Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() >= expected_events


def test_events_reach_the_receiver_through_a_worker(workers, setup, receiver):
    _integrator, endpoint, client = setup
    receiver.respond(500, 200)  # the first attempt fails: the retry comes from the schedule + sweep
    workers.start()
    client.post("/api/issues", {"client_issue_id": "w1"}, format="json")
    client.put("/api/issues/status/w1", {"status": "En preparación"}, format="json")
    wait_for(lambda: _all_delivered(2), timeout=30, message="both deliveries")
    received = {r.headers["webhook-id"] for r in receiver.requests}
    assert received == set(Event.objects.values_list("id", flat=True))
    for request in receiver.requests:
        receiver.verify(request, endpoint.secret)


def test_worker_killed_mid_delivery_loses_nothing(workers, setup, receiver):
    _integrator, _endpoint, client = setup
    in_handler = threading.Event()

    def slow_first(request):
        from werkzeug import Response

        receiver.requests.append(request)
        if len(receiver.requests) == 1:
            in_handler.set()
            time.sleep(3)  # the worker is killed while it waits for this answer
        return Response("ok", status=200)

    receiver.server.expect_request("/hook", method="POST").respond_with_handler(slow_first)
    first = workers.start()
    client.post("/api/issues", {"client_issue_id": "k1"}, format="json")
    assert in_handler.wait(timeout=30), workers.logs()
    workers.kill(first)
    workers.start()
    wait_for(lambda: _all_delivered(1), timeout=40, message="the delivery after the crash")
    event_id = Event.objects.get().id
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event_id}
    assert len(receiver.requests) >= 2  # a duplicate is allowed (dedupe on webhook-id); loss is not


def test_broker_down_while_events_are_written_loses_nothing(workers, setup, receiver, broker):
    _integrator, _endpoint, client = setup
    receiver.respond(200)
    workers.start()
    broker.stop()
    started = time.monotonic()
    for n in range(3):
        response = client.post("/api/issues", {"client_issue_id": f"b{n}"}, format="json")
        assert response.status_code == 201  # the change commits even though nobody can be woken
    assert time.monotonic() - started < 15, "publishing must not hang on a dead broker"
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 3
    broker.start()
    wait_for(lambda: _all_delivered(3), timeout=60, message="deliveries after the broker came back")
    assert {r.headers["webhook-id"] for r in receiver.requests} == set(Event.objects.values_list("id", flat=True))
