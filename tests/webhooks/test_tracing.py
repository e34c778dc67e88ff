"""W3C trace context (API.md §1): a request's trace id is kept on the events it causes, by a
command too, and every delivery of those events carries it, with a span id of its own."""

import re

import pytest

from commands.services import command_run
from tests.webhooks.conftest import send_all_due
from webhooks.models import Event
from webhooks.services import webhook_create

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
CALLER_TRACE, CALLER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def _parts(header: str) -> tuple[str, str]:
    match = TRACEPARENT.match(header or "")
    assert match, f"not a traceparent: {header!r}"
    return match[1], match[2]


def test_a_delivery_carries_the_callers_trace_id_with_a_span_id_of_its_own(auth_client, integrator, receiver,
                                                                           delivery):  # fmt: skip
    receiver.respond(200)
    webhook_create(integrator=integrator, url=receiver.url())
    response = auth_client.post("/api/issues", {"client_issue_id": "T-1"}, format="json",
                                HTTP_TRACEPARENT=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")  # fmt: skip
    assert response.status_code == 201
    trace_id, server_span = _parts(response["traceparent"])
    assert trace_id == CALLER_TRACE and server_span != CALLER_SPAN  # the server's span, in the caller's trace
    assert Event.objects.get().trace_id == CALLER_TRACE
    assert send_all_due() == ["succeeded"]
    delivered_trace, delivered_span = _parts(receiver.requests[0].headers["traceparent"])
    assert delivered_trace == CALLER_TRACE and delivered_span not in (CALLER_SPAN, server_span)


@pytest.mark.parametrize("sent", [None, "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "garbage"])
def test_without_a_valid_traceparent_a_new_trace_starts_and_the_event_keeps_it(auth_client, delivery, sent):
    headers = {"HTTP_TRACEPARENT": sent} if sent else {}
    response = auth_client.post("/api/issues", {"client_issue_id": "T-2"}, format="json", **headers)
    trace_id, _span = _parts(response["traceparent"])
    assert trace_id != "0" * 32 and Event.objects.get().trace_id == trace_id


def test_every_response_names_a_trace(api_client, db):
    assert _parts(api_client.get("/api/issues")["traceparent"])  # a 401, traced all the same
    assert _parts(api_client.get("/healthz")["traceparent"])


def test_the_events_a_command_causes_keep_its_requests_trace(auth_client, delivery):
    auth_client.post("/api/issues", {"client_issue_id": "T-3"}, format="json")
    accepted = auth_client.post(
        "/api/commands", {"type": "AddNote", "client_issue_id": "T-3", "text": "traced"}, format="json",
        HTTP_TRACEPARENT=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
    )  # fmt: skip
    assert accepted.status_code == 202
    assert command_run(accepted.json()["data"]["id"]) == "succeeded"
    assert Event.objects.get(type="issue.note_added").trace_id == CALLER_TRACE
