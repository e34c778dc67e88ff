"""getitdone.rows writes as the ORM would: what it inserts or updates reads back through the ORM
unchanged (JSON, datetimes, foreign keys, auto fields)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from commands.models import Command
from getitdone import rows
from orders.models import IssueNote
from orders.services import Actor, issue_create
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def test_insert_reads_back_the_auto_primary_key_and_auto_now_add(integrator, delivery):
    issue = issue_create(integrator=integrator, client_issue_id="R-1", actor=Actor.system()).issue
    before = timezone.now()
    notes = [IssueNote(issue=issue, text=text, actor_type="system") for text in ["uno", "dos ✓"]]
    rows.insert(notes)
    assert all(note.pk and note.created_at >= before and not note._state.adding for note in notes)
    stored = list(IssueNote.objects.filter(issue=issue).order_by("id").values_list("pk", "text", "created_at"))
    assert stored == [(note.pk, note.text, note.created_at) for note in notes]


def test_insert_writes_json_and_a_given_primary_key(integrator):
    data = {"issue": {"details": {"texto": "añadido\u2028", "n": [1, 2.5, None, True]}}, "empty": {}}
    event = Event(integrator=integrator, type="issue.updated", data=data)
    rows.insert([event])
    assert Event.objects.get(pk=event.pk).data == data


def test_assignments_write_json_datetimes_and_null(integrator):
    command = Command.objects.create(integrator=integrator, type="AddNote", command_id="c-1", payload={})
    finished = timezone.now() - timedelta(seconds=3)
    error = {"code": "not_found", "message": "No issue 'ñ'.", "field": "client_issue_id"}
    sets, values = rows.assignments(
        Command, {"status": "failed", "error": error, "finished_at": finished, "locked_until": None}
    )
    assert rows.execute(f"UPDATE {Command._meta.db_table} SET {sets} WHERE id = %s", [*values, command.pk]) == 1
    command.refresh_from_db()
    assert (command.status, command.error, command.finished_at, command.locked_until) == (
        "failed",
        error,
        finished,
        None,
    )
