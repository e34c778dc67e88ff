"""Commands with real Celery workers: per-issue order across two worker processes, and a worker
killed in the middle of a command."""

import threading

import pytest
from django.db import connection, transaction

from commands.models import Command
from fulfillment.models import Step, Transition, Workflow
from orders.models import Issue, StatusChange
from tests.conftest import client_for
from tests.factories import IntegratorFactory
from tests.processes import wait_for
from webhooks.models import Event

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ring():
    """A workflow A → B → C → A: any out-of-order ChangeStatus would fail (no such transition)."""
    workflow = Workflow.objects.create(code="ring", name="Ring")
    steps = {v: Step.objects.create(workflow=workflow, name=v, value=v, position=n) for n, v in enumerate("ABC")}
    for src, dst in (("A", "B"), ("B", "C"), ("C", "A")):
        Transition.objects.create(workflow=workflow, name=f"{src}{dst}", from_step=steps[src], to_step=steps[dst])
    workflow.initial_step = steps["A"]
    workflow.save()
    return workflow


def _done(n):
    return Command.objects.filter(status__in=["succeeded", "failed"]).count() >= n


def test_ten_status_changes_for_one_issue_run_in_order_on_two_workers(workers, ring):
    client = client_for(IntegratorFactory())
    assert client.post("/api/issues", {"client_issue_id": "R", "workflow": "ring"}, format="json").status_code == 201
    workers.start()
    workers.start(beat=False)
    path = ["B", "C", "A", "B", "C", "A", "B", "C", "A", "B"]
    for status in path:
        assert (
            client.post(
                "/api/commands", {"type": "ChangeStatus", "client_issue_id": "R", "status": status}, format="json"
            ).status_code
            == 202
        )
    wait_for(lambda: _done(10), timeout=60, message="ten commands")
    assert list(Command.objects.order_by("id").values_list("status", flat=True)) == ["succeeded"] * 10
    moves = StatusChange.objects.filter(issue__client_issue_id="R", from_step__isnull=False).order_by("id")
    assert [m.to_step.value for m in moves] == path
    finished = list(Command.objects.order_by("id").values_list("finished_at", flat=True))
    assert finished == sorted(finished)


def test_worker_killed_during_a_command_completes_it_once(workers, delivery):
    integrator = IntegratorFactory()
    client = client_for(integrator)
    client.post("/api/issues", {"client_issue_id": "K"}, format="json")
    issue = Issue.objects.get(client_issue_id="K")
    held, release = threading.Event(), threading.Event()

    def hold_the_issue_row():
        # Another transaction holds the issue: the worker's command blocks inside its handler.
        with transaction.atomic():
            Issue.objects.select_for_update().get(pk=issue.pk)
            held.set()
            release.wait(timeout=60)
        connection.close()

    holder = threading.Thread(target=hold_the_issue_row)
    holder.start()
    assert held.wait(timeout=10)
    first = workers.start()
    response = client.post(
        "/api/commands", {"type": "ChangeStatus", "client_issue_id": "K", "status": "En preparación"}, format="json"
    )
    pk = response.json()["data"]["id"]
    wait_for(lambda: Command.objects.get(pk=pk).status == "running", timeout=30, message="the command to start")
    workers.kill(first)  # mid-command: its transaction dies with it
    release.set()
    holder.join(timeout=10)
    workers.start()
    wait_for(lambda: Command.objects.get(pk=pk).status == "succeeded", timeout=60, message="the re-run")
    command = Command.objects.get(pk=pk)
    assert command.attempts == 2
    assert StatusChange.objects.filter(issue=issue, from_step__isnull=False).count() == 1
    assert Event.objects.filter(type="issue.status_changed", issue=issue).count() == 1
    issue.refresh_from_db()
    assert issue.step.value == "PREPARING" and issue.version == 2
