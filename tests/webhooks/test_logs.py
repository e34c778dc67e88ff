"""Log lines as ops read them (API.md §10): one JSON object each, `request_id` on every line of
a request, the ids of the work on a worker's lines, one access line per request, no secrets."""

import io
import json
import logging

import pytest

from getitdone.logs import JsonFormatter, RequestIdLogFilter, TextFormatter
from tests.webhooks.conftest import send_all_due
from webhooks.services import webhook_create


@pytest.fixture
def lines():
    """What the root logger writes, through the formatter and filter settings.LOGGING names."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_every_line_of_a_request_has_its_id_and_one_access_line_sums_it_up(auth_client, delivery, lines):
    response = auth_client.post("/api/issues?signature=leaked", {"client_issue_id": "L-1"}, format="json",
                                HTTP_X_REQUEST_ID="req-1404")  # fmt: skip
    assert response.status_code == 201
    written = [line for line in lines() if line.get("request_id") == "req-1404"]
    assert {"ts", "level", "logger", "message"} <= set(written[0])
    event_line = next(line for line in written if line["logger"] == "webhooks.services")
    assert event_line["event_id"].startswith("evt_")
    [access] = [line for line in written if line["logger"] == "getitdone.access"]
    assert (access["method"], access["route"], access["status"]) == ("POST", "/api/issues", 201)
    assert access["duration_ms"] >= 0 and access["ts"].endswith("Z")
    assert not any("leaked" in json.dumps(line) for line in lines())  # the query string is nobody's business


def test_a_failed_attempt_is_logged_with_its_delivery_and_event(auth_client, integrator, receiver, delivery, lines):
    receiver.respond(500, 200)
    webhook_create(integrator=integrator, url=receiver.url())
    auth_client.post("/api/issues", {"client_issue_id": "L-2"}, format="json")
    send_all_due(max_rounds=1)
    [attempt] = [line for line in lines() if line.get("delivery_id")]
    assert attempt["event_id"].startswith("evt_") and "retry" in attempt["message"]
    assert "request_id" not in attempt  # not written while serving a request


def test_the_readable_format_shows_the_same_ids():
    record = logging.LogRecord("webhooks", logging.INFO, __file__, 1, "sent %s", (3,), None)
    record.delivery_id, record.request_id = 7, ""
    assert TextFormatter().format(record).endswith("INFO webhooks [-] sent 3 (delivery_id=7)")


def test_neither_a_receivers_query_string_nor_a_5xx_requests_reach_a_log_line(auth_client, integrator, receiver,
                                                                              delivery, lines, settings):  # fmt: skip
    receiver.respond(500, 200)
    webhook_create(integrator=integrator, url=receiver.url() + "?token=hunter2")
    auth_client.post("/api/issues", {"client_issue_id": "L-3"}, format="json")
    send_all_due(max_rounds=1)
    logging.getLogger("django.request").error("Internal Server Error: /api/x", extra={"request": object()})
    written = json.dumps([line for line in lines() if line["logger"] != "werkzeug"])  # the test receiver's own
    assert "hunter2" not in written and "object at" not in written
    assert any(line.get("delivery_id") and "…" in line["message"] for line in lines())  # the query, elided
