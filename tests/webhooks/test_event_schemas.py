"""Every event type's JSON Schema (webhooks/schemas.py, GET /api/events/schemas) against real
events of that type, as the feed serves them: each validates, and each field it carries is one
the schema describes (the schemas stay open to additions for consumers; this keeps them whole)."""

import copy

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from jsonschema import Draft202012Validator

from commands.models import Command
from commands.services import command_run
from tests.webhooks.conftest import send_all_due
from webhooks.catalogue import EVENT_TYPES
from webhooks.schemas import event_schema
from webhooks.services import webhook_create


def _closed(schema):
    """The schema with every object closed to fields it does not name."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def _run_commands():
    for pk in Command.objects.filter(status="queued").order_by("id").values_list("pk", flat=True):
        command_run(pk)


@pytest.fixture
def every_event(auth_client, integrator, receiver, delivery, settings, tmp_path):
    """At least one event of each type, made through the API and the workers' services."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = tmp_path
    settings.WEBHOOKS_RETRY_SCHEDULE = []  # one attempt: a 500 exhausts the delivery
    receiver.respond(500, path="/failing")
    receiver.respond(410, path="/gone")
    failing = webhook_create(integrator=integrator, url=receiver.url("/failing"), event_types=["issue.created"])
    webhook_create(integrator=integrator, url=receiver.url("/gone"), event_types=["issue.status_changed"])
    body = {"client_issue_id": "S-1", "details": {"a": 1}, "children": [{"client_issue_id": "S-1a"}]}
    assert auth_client.post("/api/issues", body, format="json").status_code == 201
    assert auth_client.put("/api/issues/status/S-1", {"status": "En preparación"}, format="json").status_code == 200
    upload = {"file": SimpleUploadedFile("proof.txt", b"signed", "text/plain"), "kind": "proof_of_delivery"}
    assert auth_client.post("/api/issues/S-1/files", upload, format="multipart").status_code == 201
    for command in (
        {"type": "UpdateIssueDetails", "client_issue_id": "S-1", "details": {"b": 2}},
        {"type": "AddNote", "client_issue_id": "S-1", "text": "llamar antes"},
        {"type": "ChangeStatus", "client_issue_id": "S-1", "status": "Entregado"},  # no such move: command.failed
    ):
        assert auth_client.post("/api/commands", command, format="json").status_code == 202
    _run_commands()
    assert auth_client.post(f"/api/webhooks/{failing.pk}/test").status_code == 202
    send_all_due()  # a 500 exhausts issue.created's delivery, a 410 disables the other endpoint
    events = auth_client.get("/api/events?limit=500").json()["data"]["results"]
    assert {e["type"] for e in events} == set(EVENT_TYPES), "an event of every type"
    return events


def test_each_event_validates_against_its_types_schema_and_names_no_field_it_lacks(every_event):
    for event in every_event:
        schema = _closed(event_schema(event["type"]))
        Draft202012Validator.check_schema(schema)
        errors = list(
            Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(event)
        )
        assert not errors, f"{event['type']}: {[e.message for e in errors][:3]}"


def test_the_schemas_are_served_without_a_token(api_client, db):
    response = api_client.get("/api/events/schemas")
    assert response.status_code == 200
    served = response.json()["data"]
    assert set(served) == set(EVENT_TYPES)
    one = api_client.get("/api/events/schemas/issue.note_added").json()["data"]
    assert one == served["issue.note_added"] and one["properties"]["type"] == {"const": "issue.note_added"}
    assert api_client.get("/api/events/schemas/issue.nope").status_code == 404


def test_a_wrong_event_does_not_validate():
    validator = Draft202012Validator(event_schema("command.failed"))
    good = {"id": "evt_01M8VT8F3FVPQXR6V74VK9T5MS", "type": "command.failed", "timestamp": "2026-12-02T10:00:00.000Z",
            "sequence": 3, "api_version": "1",
            "data": {"command_id": "c-1", "command_type": "AddNote", "client_issue_id": None,
                     "error": {"code": "not_found", "message": "No such issue.", "field": None}}}  # fmt: skip
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "type": "issue.created"})
    assert not validator.is_valid({**good, "data": {**good["data"], "error": None}})
