"""GET /metrics (API.md §10): the work of every process on the host, the web's and a real
Celery worker's, in the Prometheus text format, behind METRICS_TOKEN when it is set."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import client_for
from tests.factories import IntegratorFactory
from tests.processes import wait_for
from tests.webhooks.conftest import delivery_rows_read
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import webhook_create


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_scrape_counts_the_web_and_the_worker_processes_work(workers, delivery, receiver, client):
    integrator = IntegratorFactory()
    webhook_create(integrator=integrator, url=receiver.url())
    receiver.respond(200)
    api = client_for(integrator)
    before = scrape(client)
    workers.start()
    assert api.post("/api/issues", {"client_issue_id": "M-1"}, format="json").status_code == 201
    sent = api.post("/api/commands", {"type": "AddNote", "client_issue_id": "M-1", "text": "n"}, format="json")
    assert sent.status_code == 202

    # The worker counts after each commit: wait for all its counts, not only for its rows.
    def counted() -> bool:
        now = scrape(client)
        return (moved(before, now, "getitdone_webhook_deliveries_total", outcome="succeeded") == 2
                and moved(before, now, "getitdone_webhook_delivery_seconds_count") == 2
                and moved(before, now, "getitdone_commands_total", status="succeeded") == 1)  # fmt: skip

    wait_for(counted, timeout=30, message="the deliveries and the command, counted")
    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 2
    after = scrape(client)
    route = {"method": "POST", "route": "/api/issues"}
    assert moved(before, after, "getitdone_http_requests_total", **route, status="201") == 1
    assert moved(before, after, "getitdone_http_request_duration_seconds_count", **route) == 1
    # Counted in the worker's process, found by the web's scrape:
    assert moved(before, after, "getitdone_webhook_deliveries_total", outcome="succeeded") == 2
    assert moved(before, after, "getitdone_webhook_delivery_seconds_count") == 2
    assert moved(before, after, "getitdone_commands_total", status="succeeded") == 1
    assert moved(before, after, "getitdone_events_total", type="issue.created") == 1
    assert moved(before, after, "getitdone_events_total", type="issue.note_added") == 1  # committed by the worker
    assert after[("getitdone_webhook_backlog", ())] == 0


def test_the_backlog_counts_deliveries_due_now(client, auth_client, integrator, receiver, delivery):
    webhook_create(integrator=integrator, url=receiver.url())
    for n in range(3):
        auth_client.post("/api/issues", {"client_issue_id": f"B-{n}"}, format="json")
    assert scrape(client)[("getitdone_webhook_backlog", ())] == 3
    Delivery.objects.filter(pk=Delivery.objects.order_by("id").first().pk).update(status=DeliveryStatus.SUCCEEDED)
    assert scrape(client)[("getitdone_webhook_backlog", ())] == 2


def test_with_metrics_token_set_a_scrape_needs_it(client, settings, db):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION="Bearer scrape-me")


def test_routes_are_patterns_not_paths(client, auth_client, delivery):
    """One series per route, however many orders: no ids, no query strings (and their secrets)."""
    before = scrape(client)
    for key in ("R-1", "R-2"):
        auth_client.get(f"/api/issues/{key}?token=hunter2")
    after = scrape(client)
    labels = {"method": "GET", "route": "/api/issues/<client_issue_id:client_issue_id>", "status": "404"}
    assert moved(before, after, "getitdone_http_requests_total", **labels) == 2
    assert not any("R-1" in str(key) or "hunter2" in str(key) for key in after)


def test_the_backlog_reads_only_the_rows_that_are_due(client, auth_client, integrator, receiver, delivery):
    """A scrape costs the same with a year of sent deliveries behind it."""
    webhook_create(integrator=integrator, url=receiver.url())
    auth_client.post("/api/issues", {"client_issue_id": "B-1"}, format="json")
    event = Delivery.objects.get().event
    Delivery.objects.bulk_create(
        Delivery(event=event, integrator=integrator, url=receiver.url(), status=DeliveryStatus.SUCCEEDED)
        for _ in range(5000)
    )

    before = delivery_rows_read()
    assert scrape(client)[("getitdone_webhook_backlog", ())] == 1
    assert delivery_rows_read() - before < 20


def test_a_sample_that_cannot_be_written_fails_nothing(auth_client, delivery, monkeypatch, caplog):
    """As when the metrics directory is removed under a running process, or the disk is full."""
    from getitdone import metrics

    def unwritable(*labels):
        raise FileNotFoundError("var/metrics/counter_1234.db")

    monkeypatch.setattr(metrics.HTTP_REQUESTS, "labels", unwritable)
    monkeypatch.setattr(metrics.EVENTS, "labels", unwritable)
    monkeypatch.setattr(metrics, "_failed_at", 0.0)
    assert auth_client.post("/api/issues", {"client_issue_id": "F-1"}, format="json").status_code == 201
    assert "samples not recorded" in caplog.text
