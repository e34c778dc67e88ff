"""The limits of API.md §11 at their edges: just inside passes, just over is a 422 on the field
(dotted path for nested ones) with nothing written."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from commands.models import Command
from orders.models import Issue, IssueNote
from orders.services import Actor, IssueRef, issue_update_details
from webhooks.models import Event, WebhookEndpoint

pytestmark = pytest.mark.django_db


def nested(depth: int) -> dict:
    """A details object `depth` levels deep (the object itself is level 1)."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def sized(size: int) -> dict:
    """A details object that serializes to exactly `size` bytes."""
    frame = len(json.dumps({"k": ""}, separators=(",", ":")))
    return {"k": "x" * (size - frame)}


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Issue, Event, Command, WebhookEndpoint, IssueNote))


def field_of(response) -> str:
    assert response.status_code == 422, response.content
    return response.json()["warning"]["field"]


def post(client, path: str, body: dict, **extra):
    # json.dumps writes a lone surrogate as its \u escape, as a hostile client would send it.
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


def create(client, **body):
    return post(client, "/api/issues", {"client_issue_id": "L-1", **body})


@pytest.mark.parametrize(
    ("body", "ok", "field"),
    [
        ({"client_issue_id": "x" * 100}, True, None),
        ({"client_issue_id": "x" * 101}, False, "client_issue_id"),
        ({"client_issue_id": "a\x01b"}, False, "client_issue_id"),
        ({"client_issue_id": "a\x00b"}, False, "client_issue_id"),
        ({"details": nested(20)}, True, None),
        ({"details": nested(21)}, False, "details"),
        ({"details": sized(64 * 1024)}, True, None),
        ({"details": sized(64 * 1024 + 1)}, False, "details"),
        ({"details": {"na\x00me": 1}}, False, "details"),
        ({"details": {"address": {"city": "Li\x00ma"}}}, False, "details.address.city"),
        ({"details": {"items": ["ok", "\ud800"]}}, False, "details.items.1"),
        ({"details": []}, False, "details"),
        ({"children": [{}] * 100}, True, None),
        ({"children": [{}] * 101}, False, "children"),
        ({"children": [{}, {"details": nested(21)}]}, False, "children.1.details"),
        ({"children": [{"details": {"x": "\x00"}}]}, False, "children.0.details.x"),
    ],
)
def test_issue_create_limits(auth_client, delivery, body, ok, field):
    before = counts()
    response = create(auth_client, **body)
    if ok:
        assert response.status_code == 201, response.content
    else:
        assert field_of(response) == field
        assert counts() == before


def test_status_change_note_limit(auth_client, delivery):
    assert create(auth_client).status_code == 201
    before = counts()
    over = auth_client.put("/api/issues/status/L-1", {"status": "PREPARING", "note": "n" * 2001}, format="json")
    assert field_of(over) == "note" and counts() == before
    inside = auth_client.put("/api/issues/status/L-1", {"status": "PREPARING", "note": "n" * 2000}, format="json")
    assert inside.status_code == 200


@pytest.mark.parametrize(
    ("command", "ok", "field"),
    [
        ({"type": "AddNote", "client_issue_id": "L-1", "text": "t" * 2000}, True, None),
        ({"type": "AddNote", "client_issue_id": "L-1", "text": "t" * 2001}, False, "text"),
        ({"type": "CancelIssue", "client_issue_id": "L-1", "reason": "r" * 2001}, False, "reason"),
        ({"type": "UpdateIssueDetails", "client_issue_id": "L-1", "details": nested(21)}, False, "details"),
        ({"type": "UpdateIssueDetails", "client_issue_id": "L-1", "details": {"a": {"\x00": 1}}}, False, "details.a"),
        ({"type": "CreateIssue", "client_issue_id": "y" * 101}, False, "client_issue_id"),
        ({"type": "ChangeStatus", "client_issue_id": "L-1\x7f", "status": "x"}, False, "client_issue_id"),
        ({"type": "AddNote", "client_issue_id": "L-1", "text": "t", "command_id": "c" * 255}, True, None),
        ({"type": "AddNote", "client_issue_id": "L-1", "text": "t", "command_id": "c" * 256}, False, "command_id"),
        ({"type": "AddNote", "client_issue_id": "L-1", "text": "t", "command_id": "señal"}, False, "command_id"),
        ({"type": "AddNote", "client_issue_id": "L-1", "text": "t", "command_id": "a\x00"}, False, "command_id"),
        ({"type": "AddNote", "client_issue_id": "L-1", "text": "t", "command_id": 7}, False, "command_id"),
    ],
)
def test_command_limits(auth_client, command, ok, field):
    before = counts()
    response = auth_client.post("/api/commands", command, format="json")
    if ok:
        assert response.status_code == 202, response.content
    else:
        assert field_of(response) == field
        assert counts() == before


@pytest.mark.parametrize(("key", "ok"), [("k" * 255, True), ("k" * 256, False), ("clé", False), ("", False)])
def test_idempotency_key_limit(auth_client, key, ok):
    command = {"type": "AddNote", "client_issue_id": "L-1", "text": "t"}
    response = auth_client.post("/api/commands", command, format="json", HTTP_IDEMPOTENCY_KEY=key)
    if ok:
        assert response.status_code == 202, response.content
    else:
        assert field_of(response) == "Idempotency-Key"
        assert Command.objects.count() == 0


def test_a_batch_rejects_an_item_over_a_limit_and_accepts_the_rest(auth_client):
    batch = {
        "commands": [
            {"type": "AddNote", "client_issue_id": "L-1", "text": "fine"},
            {"type": "AddNote", "client_issue_id": "L-1", "text": "t" * 2001},
            {"type": "AddNote", "client_issue_id": "L-1", "text": "fine", "command_id": "x" * 256},
        ]
    }
    body = auth_client.post("/api/commands/batch", batch, format="json").json()
    assert [r["status"] for r in body["data"]["results"]] == ["accepted", "rejected", "rejected"]
    assert [r["error"][0]["field"] for r in body["data"]["results"][1:]] == ["text", "command_id"]
    assert Command.objects.count() == 1


def test_merged_details_over_the_limit_are_refused_with_nothing_written(auth_client, integrator, delivery):
    assert create(auth_client, details=sized(64 * 1024 - 20)).status_code == 201
    before = counts()
    from getitdone.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        issue_update_details(
            issue=IssueRef(integrator=integrator, client_issue_id="L-1"),
            details_patch={"more": "y" * 100},
            actor=Actor.system("test"),
        )
    assert refused.value.field == "details"
    assert counts() == before and Issue.objects.get().version == 1


def test_webhook_endpoints_limit(auth_client):
    for n in range(20):
        assert auth_client.post("/api/webhooks", {"url": f"https://e.com/{n}"}, format="json").status_code == 201
    over = auth_client.post("/api/webhooks", {"url": "https://e.com/21"}, format="json")
    assert over.status_code == 422 and over.json()["error"][0]["code"] == "limit_reached"
    assert WebhookEndpoint.objects.count() == 20


def test_event_types_limit(auth_client):
    body = {"url": "https://e.com", "event_types": ["issue.created"] * 50}
    inside = auth_client.post("/api/webhooks", body, format="json")
    assert inside.status_code == 201 and inside.json()["data"]["event_types"] == ["issue.created"]
    over = auth_client.post(
        "/api/webhooks", {"url": "https://e.com", "event_types": ["issue.created"] * 51}, format="json"
    )
    assert field_of(over) == "event_types" and WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize(("size", "status"), [(10 * 1024 * 1024, 201), (10 * 1024 * 1024 + 1, 413)])
def test_upload_limit_counts_the_file_not_the_multipart_framing(auth_client, delivery, size, status):
    assert create(auth_client).status_code == 201
    upload = SimpleUploadedFile("big.bin", b"\x00" * size, content_type="application/octet-stream")
    response = auth_client.post("/api/issues/L-1/files", {"file": upload, "kind": "other"}, format="multipart")
    assert response.status_code == status, response.content[:300]
    if status == 201:
        assert response.json()["data"]["size"] == size


@pytest.mark.parametrize("stem", ["n" * 400, "送" * 200], ids=["ascii", "three bytes a letter"])
def test_an_over_long_upload_name_is_cut_to_100_bytes_with_its_extension(auth_client, delivery, stem):
    assert create(auth_client).status_code == 201
    upload = SimpleUploadedFile(stem + ".pdf", b"%PDF-1.4 hello", content_type="application/pdf")
    response = auth_client.post("/api/issues/L-1/files", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    name = response.json()["data"]["name"]
    assert 95 < len(name.encode()) <= 100 and name.endswith(".pdf") and name.startswith(stem[0])


def test_a_command_id_at_the_limit_runs_and_is_the_actor_in_history(auth_client, delivery):
    from commands.services import command_run

    assert create(auth_client).status_code == 201
    command_id = "c" * 255
    accepted = post(
        auth_client, "/api/commands", {"type": "ChangeStatus", "client_issue_id": "L-1", "status": "PREPARING",
                                       "command_id": command_id},
    )  # fmt: skip
    assert accepted.status_code == 202, accepted.content
    assert command_run(accepted.json()["data"]["id"]) == "succeeded"
    history = auth_client.get("/api/issues/L-1/history").json()["data"]["results"]
    assert history[-1]["actor"] == {"type": "command", "id": command_id}
