"""The command endpoint (API.md §8), run inline; test_worker.py uses real workers."""

import pytest

from commands.models import Command, IdempotencyRecord
from commands.services import command_run, commands_sweep
from orders.models import Issue, IssueNote
from tests.conftest import client_for
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def send(client, body, **headers):
    return client.post("/api/commands", body, format="json", **headers)


def run_all():
    for pk in Command.objects.filter(status="queued").order_by("id").values_list("pk", flat=True):
        command_run(pk)


@pytest.fixture
def issue(auth_client, delivery):
    assert auth_client.post("/api/issues", {"client_issue_id": "C-1", "details": {"a": {"b": 1}, "keep": True}},
                            format="json").status_code == 201  # fmt: skip
    return Issue.objects.get(client_issue_id="C-1")


def test_accept_is_202_with_location_and_runs_to_success(auth_client, issue):
    response = send(auth_client, {"type": "ChangeStatus", "client_issue_id": "C-1", "status": "En preparación"})
    assert response.status_code == 202
    data = response.json()["data"]
    assert data["status"] == "queued" and data["type"] == "ChangeStatus" and data["command_id"] == f"cmd_{data['id']}"
    assert response.json()["message"] == "Accepted"
    assert response["Location"] == f"/api/commands/{data['id']}"
    assert command_run(data["id"]) == "succeeded"
    done = auth_client.get(response["Location"]).json()["data"]
    assert done["status"] == "succeeded" and done["error"] is None and done["finished_at"]
    event = Event.objects.get(id=done["event_ids"][0])
    assert event.type == "issue.status_changed" and event.data["command_id"] == data["command_id"]
    history = auth_client.get("/api/issues/C-1/history").json()["data"]["results"]
    assert history[-1]["actor"] == {"type": "command", "id": data["command_id"]}


def test_create_issue_command(auth_client, delivery):
    response = send(auth_client, {"type": "CreateIssue", "command_id": "mine-1", "client_issue_id": "N-1",
                                  "children": [{"details": {"sku": 1}}]})  # fmt: skip
    assert response.status_code == 202
    run_all()
    command = Command.objects.get()
    assert command.status == "succeeded" and command.command_id == "mine-1"
    assert [e.type for e in Event.objects.filter(id__in=command.event_ids)] == ["issue.created", "issue.created"]
    assert all(e.data["command_id"] == "mine-1" for e in Event.objects.all())
    assert auth_client.get("/api/issues/N-1").json()["data"]["children"][0]["details"] == {"sku": 1}


def test_update_issue_details_is_a_merge_patch(auth_client, issue):
    send(auth_client, {"type": "UpdateIssueDetails", "client_issue_id": "C-1",
                       "details": {"a": {"c": 2}, "keep": None, "new": [1]}})  # fmt: skip
    run_all()
    issue.refresh_from_db()
    assert issue.details == {"a": {"b": 1, "c": 2}, "new": [1]} and issue.version == 2
    event = Event.objects.get(type="issue.updated")
    assert event.data["changed"] == ["details"] and event.data["issue"]["details"] == issue.details


def test_cancel_issue_and_its_failure_when_not_allowed(auth_client, issue):
    send(auth_client, {"type": "CancelIssue", "client_issue_id": "C-1", "reason": "customer called"})
    run_all()
    issue.refresh_from_db()
    assert issue.step.value == "CANCELLED"
    assert issue.history.last().note == "customer called"
    # Cancelled is final: cancelling a delivered order fails with command.failed.
    auth_client.post("/api/issues", {"client_issue_id": "D", "status": "Entregado"}, format="json")
    response = send(auth_client, {"type": "CancelIssue", "client_issue_id": "D", "reason": "late"})
    run_all()
    command = Command.objects.get(pk=response.json()["data"]["id"])
    assert command.status == "failed" and command.error["code"] == "transition_not_allowed"


def test_add_note(auth_client, issue):
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "ring twice"})
    run_all()
    assert IssueNote.objects.get().text == "ring twice"
    event = Event.objects.get(type="issue.note_added")
    assert event.data["note"]["text"] == "ring twice"


def test_failure_sets_failed_and_emits_command_failed(auth_client, delivery):
    response = send(auth_client, {"type": "ChangeStatus", "client_issue_id": "nope", "status": "Recibido",
                                  "command_id": "x-9"})  # fmt: skip
    run_all()
    command = auth_client.get(response["Location"]).json()["data"]
    assert command["status"] == "failed"
    assert command["error"] == {"code": "not_found", "message": "No issue 'nope'.", "field": "client_issue_id"}
    event = auth_client.get(f"/api/events/{command['event_ids'][0]}").json()["data"]
    assert event["type"] == "command.failed"
    assert event["data"] == {
        "command_id": "x-9", "command_type": "ChangeStatus", "client_issue_id": "nope", "error": command["error"],
    }  # fmt: skip


def test_version_conflict_and_bad_transition_fail(auth_client, issue):
    send(auth_client, {"type": "ChangeStatus", "client_issue_id": "C-1", "status": "Entregado"})
    send(auth_client, {"type": "ChangeStatus", "client_issue_id": "C-1", "status": "En preparación",
                       "expected_version": 9})  # fmt: skip
    run_all()
    errors = [c.error["code"] for c in Command.objects.order_by("id")]
    assert errors == ["transition_not_allowed", "version_conflict"]
    assert Event.objects.filter(type="command.failed").count() == 2
    issue.refresh_from_db()
    assert issue.step.value == "RECEIVED"


def test_unexpected_exception_is_a_failed_command_not_a_lost_one(auth_client, issue, monkeypatch):
    from commands import types

    def explode(self, command, data):
        raise RuntimeError("boom")

    monkeypatch.setattr(types.AddNote, "handle", explode)
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "x"})
    run_all()
    command = Command.objects.get()
    assert command.status == "failed" and command.error["code"] == "internal_error"
    assert Event.objects.filter(type="command.failed").exists()


def test_a_refusal_in_a_batch_rolls_back_only_its_own_change(auth_client, issue, monkeypatch):
    # A claimed batch commits once; each command's service runs in a savepoint of it.
    from getitdone.errors import NotAllowed
    from orders import events

    note_added = events.issue_note_added

    def refuse_after_writing(issue_, children, note, **kwargs):
        if note.text == "refused":  # its note row is written by now
            raise NotAllowed("Refused after writing.", code="refused")
        return note_added(issue_, children, note, **kwargs)

    monkeypatch.setattr(events, "issue_note_added", refuse_after_writing)
    for text in ["first", "refused", "third"]:
        send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": text})
    run_all()
    assert [c.status for c in Command.objects.order_by("id")] == ["succeeded", "failed", "succeeded"]
    assert sorted(IssueNote.objects.values_list("text", flat=True)) == ["first", "third"]
    assert Event.objects.filter(type="issue.note_added").count() == 2
    assert Event.objects.filter(type="command.failed").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "Teleport", "client_issue_id": "C-1"}, "type"),
        ({"client_issue_id": "C-1"}, "type"),
        ({"type": "ChangeStatus", "client_issue_id": "C-1"}, "status"),
        ({"type": "AddNote", "client_issue_id": "C-1", "text": "x" * 2001}, "text"),
        ({"type": "UpdateIssueDetails", "client_issue_id": "C-1", "details": [1]}, "details"),
        ({"type": "CreateIssue", "children": [{"status": 5, "details": "no"}]}, "client_issue_id"),
    ],
)
def test_shape_errors_are_422_and_nothing_is_queued(auth_client, body, field):
    response = send(auth_client, body)
    assert response.status_code == 422
    assert response.json()["warning"]["field"] == field
    assert not Command.objects.exists()


def test_idempotency_same_key_same_body_replays(auth_client, issue):
    body = {"type": "AddNote", "client_issue_id": "C-1", "text": "once"}
    first = send(auth_client, body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = send(auth_client, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 202 and again.json()["data"] == first.json()["data"]
    assert Command.objects.count() == 1
    by_command_id = {"type": "AddNote", "client_issue_id": "C-1", "text": "twice", "command_id": "c-7"}
    assert (
        send(auth_client, by_command_id).json()["data"]["id"] == send(auth_client, by_command_id).json()["data"]["id"]
    )
    assert Command.objects.count() == 2


def test_idempotency_same_key_other_body_is_422(auth_client, issue):
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "a"}, HTTP_IDEMPOTENCY_KEY="k-2")
    response = send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "b"}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["warning"]["field"] == "Idempotency-Key"


def test_idempotency_key_still_being_accepted_is_409(auth_client, issue, integrator):
    import hashlib
    import json

    body = {"type": "AddNote", "client_issue_id": "C-1", "text": "slow"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    IdempotencyRecord.objects.create(integrator=integrator, key="k-3", request_hash=digest)  # a request in flight
    response = send(auth_client, body, HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 409
    assert not Command.objects.exists()


def test_idempotency_keys_are_per_integrator(auth_client, issue, other_integrator):
    body = {"type": "AddNote", "client_issue_id": "C-1", "text": "a"}
    send(auth_client, body, HTTP_IDEMPOTENCY_KEY="shared")
    assert send(client_for(other_integrator), body, HTTP_IDEMPOTENCY_KEY="shared").status_code == 202
    assert Command.objects.count() == 2


def test_batch_with_valid_and_invalid_commands(auth_client, issue):
    response = auth_client.post(
        "/api/commands/batch",
        {"commands": [
            {"type": "AddNote", "client_issue_id": "C-1", "text": "one"},
            {"type": "Nope"},
            {"type": "ChangeStatus", "client_issue_id": "C-1", "status": "En preparación"},
            {"type": "AddNote", "client_issue_id": "C-1"},
        ]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 202
    body = response.json()
    results = body["data"]["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted", "rejected"]
    assert results[1]["error"][0]["field"] == "type" and results[3]["error"][0]["field"] == "text"
    assert (body["data"]["accepted"], body["data"]["rejected"]) == (2, 2)
    assert [w["field"] for w in body["warning"]] == ["commands.1", "commands.3"]
    run_all()
    assert set(Command.objects.values_list("status", flat=True)) == {"succeeded"}


def test_batch_limit(auth_client):
    response = auth_client.post("/api/commands/batch", {"commands": [{"type": "AddNote"}] * 101}, format="json")
    assert response.status_code == 422 and response.json()["warning"]["field"] == "commands"


def test_list_filters_and_tenancy(auth_client, issue, other_integrator):
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "ok"})
    send(auth_client, {"type": "AddNote", "client_issue_id": "missing", "text": "x"})
    run_all()
    failed = auth_client.get("/api/commands?status=failed").json()["data"]["results"]
    assert [c["client_issue_id"] for c in failed] == ["missing"]
    assert len(auth_client.get("/api/commands?type=AddNote").json()["data"]["results"]) == 2
    assert auth_client.get("/api/commands?status=weird").status_code == 422
    stranger = client_for(other_integrator)
    assert stranger.get("/api/commands").json()["data"]["results"] == []
    assert stranger.get(f"/api/commands/{failed[0]['id']}").status_code == 404


def test_commands_for_one_issue_wait_for_earlier_ones(auth_client, issue):
    first = send(auth_client, {"type": "ChangeStatus", "client_issue_id": "C-1", "status": "En preparación"})
    second = send(auth_client, {"type": "ChangeStatus", "client_issue_id": "C-1", "status": "Por asignar"})
    assert command_run(second.json()["data"]["id"]) == "not_runnable"  # the first has not run
    assert command_run(first.json()["data"]["id"]) == "succeeded"
    # The thread that ran the first ran the one queued behind it, too.
    assert Command.objects.get(pk=second.json()["data"]["id"]).status == "succeeded"
    assert command_run(second.json()["data"]["id"]) == "not_runnable"


def test_sweep_requeues_commands_of_dead_workers(auth_client, issue, settings):
    from datetime import timedelta

    from django.utils import timezone

    response = send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "z"})
    Command.objects.filter(pk=response.json()["data"]["id"]).update(
        status="running", lease_token="dead", locked_until=timezone.now() - timedelta(seconds=1)
    )
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert commands_sweep() >= 1
    assert Command.objects.get().status == "queued"
    run_all()
    assert Command.objects.get().status == "succeeded" and IssueNote.objects.count() == 1


def test_a_runner_whose_lease_was_taken_over_rolls_back(auth_client, issue):
    from commands.services import _claim, _run_batch

    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "once"})
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "twice"})
    first, second = _claim(issue.integrator_id, "C-1", "slow-runner", limit=10)
    assert set(Command.objects.values_list("status", flat=True)) == {"running"}
    # Meanwhile their lease ran out, the sweep queued them again and another runner leased the
    # second: the first's change, made under the lost lease, rolls back with it.
    Command.objects.filter(pk=second.pk).update(lease_token="next-runner")
    assert _run_batch([first, second], "slow-runner") is None
    assert IssueNote.objects.count() == 0 and not Event.objects.filter(type="issue.note_added").exists()
    assert set(Command.objects.values_list("status", flat=True)) == {"running"}


def test_a_failure_is_not_recorded_by_a_runner_that_lost_its_lease(auth_client, issue):
    from commands.services import _claim, _run_batch

    send(auth_client, {"type": "AddNote", "client_issue_id": "nope", "text": "x"})
    [command] = _claim(issue.integrator_id, "nope", "slow-runner", limit=10)
    Command.objects.update(lease_token="next-runner")
    assert _run_batch([command], "slow-runner") is None
    assert not Event.objects.filter(type="command.failed").exists()


@pytest.fixture
def lock_timeout():
    """The database gives up waiting for a row lock after 100 ms: a real, passing refusal."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '100ms'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


def _hold_issue_lock(client_issue_id: str, seconds: float):
    """Another connection holds the issue's row lock for `seconds`, in a thread."""
    import threading

    import psycopg
    from django.db import connection

    other = psycopg.connect(**connection.get_connection_params())
    other.execute("SELECT id FROM orders_issue WHERE client_issue_id = %s FOR UPDATE", [client_issue_id])

    def release():
        other.commit()
        other.close()

    timer = threading.Timer(seconds, release)
    timer.start()
    return timer


@pytest.mark.django_db(transaction=True)
def test_a_command_the_database_refuses_for_a_moment_is_tried_again_in_order(auth_client, issue, lock_timeout):
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "first"})
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "second"})
    timer = _hold_issue_lock("C-1", 0.25)
    try:
        run_all()
    finally:
        timer.join()
    first, second = Command.objects.order_by("id")
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert 2 <= first.attempts <= 5 and second.attempts == 1  # the second waited its turn, untried
    assert list(IssueNote.objects.order_by("id").values_list("text", flat=True)) == ["first", "second"]


@pytest.mark.django_db(transaction=True)
def test_a_refused_command_of_no_issue_is_tried_again_at_once_not_at_the_sweep(auth_client, issue, lock_timeout):
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "alone"})
    Command.objects.update(issue_key="")  # a command no issue queue orders: it runs by itself
    command = Command.objects.get()
    timer = _hold_issue_lock("C-1", 0.25)
    try:
        assert command_run(command.pk) == "succeeded"  # one run: refused, queued again, run again
    finally:
        timer.join()
    command.refresh_from_db()
    assert command.status == "succeeded" and command.attempts >= 2


@pytest.mark.django_db(transaction=True)
def test_a_command_the_database_keeps_refusing_fails_after_its_attempts(auth_client, issue, lock_timeout, settings):
    settings.COMMANDS_MAX_ATTEMPTS = 3
    send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": "never"})
    timer = _hold_issue_lock("C-1", 1.5)
    try:
        run_all()
    finally:
        timer.join()
    command = Command.objects.get()
    assert (command.status, command.attempts, command.error["code"]) == ("failed", 3, "too_many_attempts")
    assert "lock timeout" in command.error["message"]
    assert Event.objects.filter(type="command.failed").count() == 1 and not IssueNote.objects.exists()


def test_a_command_whose_worker_keeps_dying_fails_and_its_neighbours_run(auth_client, issue, settings):
    from datetime import timedelta

    from django.utils import timezone

    from commands.services import _claim

    settings.COMMANDS_MAX_ATTEMPTS = 2
    for text in ["poison", "after"]:
        send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": text})
    poison, after = Command.objects.order_by("id")
    expired = timezone.now() - timedelta(seconds=1)
    assert len(_claim(issue.integrator_id, "C-1", "dies", limit=10)) == 2
    Command.objects.update(locked_until=expired)  # its worker died mid-batch
    commands_sweep()
    # Tried before: each now runs in a batch of its own, so only the culprit's attempts add up.
    assert [c.pk for c in _claim(issue.integrator_id, "C-1", "dies again", limit=10)] == [poison.pk]
    Command.objects.filter(pk=poison.pk).update(locked_until=expired)
    commands_sweep()
    poison.refresh_from_db()
    assert (poison.status, poison.attempts, poison.error["code"]) == ("failed", 2, "too_many_attempts")
    assert "worker" in poison.error["message"]
    assert Event.objects.filter(type="command.failed").count() == 1
    run_all()
    after.refresh_from_db()
    assert after.status == "succeeded"
    assert list(IssueNote.objects.values_list("text", flat=True)) == ["after"]


@pytest.fixture
def refused_at_commit():
    """A deferred constraint trigger: a note whose text is 'poison' is refused at COMMIT, when
    the batch's transaction ends, not when the note is written."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_poison() RETURNS trigger AS $$ BEGIN"
            " IF NEW.text = 'poison' THEN RAISE EXCEPTION 'poison refused at commit'; END IF; RETURN NULL;"
            " END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE CONSTRAINT TRIGGER test_refuse_poison AFTER INSERT ON orders_issuenote"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_poison()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_refuse_poison ON orders_issuenote")
        cursor.execute("DROP FUNCTION test_refuse_poison()")


@pytest.mark.django_db(transaction=True)
def test_a_command_whose_commit_is_refused_fails_alone_and_its_neighbours_run_in_order(
    auth_client, issue, refused_at_commit, settings
):
    settings.COMMANDS_MAX_ATTEMPTS = 3
    for text in ["before", "poison", "after"]:
        send(auth_client, {"type": "AddNote", "client_issue_id": "C-1", "text": text})
    run_all()
    before, poison, after = Command.objects.order_by("id")
    assert (before.status, after.status) == ("succeeded", "succeeded")
    assert (poison.status, poison.attempts, poison.error["code"]) == ("failed", 3, "too_many_attempts")
    assert "poison refused at commit" in poison.error["message"]
    assert list(IssueNote.objects.order_by("id").values_list("text", flat=True)) == ["before", "after"]
    failed = Event.objects.get(type="command.failed")
    assert failed.data["command_id"] == poison.command_id
    assert not Command.objects.filter(status__in=["queued", "running"]).exists()
