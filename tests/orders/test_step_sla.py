"""Step SLA: an issue left in a step past its timeout is moved by the system."""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from orders.models import Issue
from orders.services import Actor, ChildSpec, issue_create, issues_apply_step_timeouts
from orders.tasks import apply_step_timeouts
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def sla(delivery):
    """Nobody assigned the order within 30 minutes: cancel it."""
    step = delivery.steps.get(value="TO_BE_ASSIGNED")
    step.timeout_seconds = 1800
    step.timeout_transition = step.outgoing.get(to_step__value="CANCELLED")
    step.full_clean()
    step.save()
    return step


def test_late_issue_is_cancelled_by_the_system(integrator, sla):
    late = issue_create(integrator=integrator, client_issue_id="late", status="Por asignar", actor=Actor.system()).issue
    fresh = issue_create(
        integrator=integrator, client_issue_id="fresh", status="Por asignar", actor=Actor.system()
    ).issue
    Issue.objects.filter(pk=late.pk).update(step_entered_at=timezone.now() - timedelta(minutes=31))
    assert apply_step_timeouts() == 1
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.step.value == "CANCELLED" and fresh.step.value == "TO_BE_ASSIGNED"
    change = late.history.last()
    assert (change.actor_type, change.actor_id) == ("system", "step timeout")
    assert "1800 s" in change.note
    assert Event.objects.filter(type="issue.status_changed", issue=late).count() == 1
    assert issues_apply_step_timeouts() == 0  # nothing more to do


def test_entering_a_step_restarts_its_clock(integrator, sla):
    issue = issue_create(
        integrator=integrator, client_issue_id="c", status="En preparación", actor=Actor.system()
    ).issue
    Issue.objects.filter(pk=issue.pk).update(step_entered_at=timezone.now() - timedelta(hours=2))
    from orders.services import issue_change_status

    issue_change_status(issue=issue, status="Por asignar", actor=Actor.system())
    assert issues_apply_step_timeouts() == 0


def test_timeout_transition_must_leave_the_step(delivery):
    step = delivery.steps.get(value="ON_ROUTE")
    step.timeout_seconds = 60
    step.timeout_transition = delivery.steps.get(value="RECEIVED").outgoing.first()
    with pytest.raises(ValidationError):
        step.full_clean()


def test_late_children_neither_move_alone_nor_take_the_roots_turn(integrator, sla):
    children = [ChildSpec(status="Por asignar") for _ in range(3)]
    root = issue_create(
        integrator=integrator, client_issue_id="fam", status="Por asignar", children=children, actor=Actor.system()
    ).issue
    Issue.objects.filter(parent=root).update(step_entered_at=timezone.now() - timedelta(hours=3))
    Issue.objects.filter(pk=root.pk).update(step_entered_at=timezone.now() - timedelta(hours=1))
    assert issues_apply_step_timeouts(limit=1) == 1  # the root's turn, though its children are later
    assert Issue.objects.get(pk=root.pk).step.value == "CANCELLED"
    assert issues_apply_step_timeouts(limit=1) == 0


@pytest.mark.django_db(transaction=True)
def test_an_issue_moved_while_the_sweep_waited_for_its_lock_stays_where_it_was_moved(integrator, sla):
    issue = issue_create(integrator=integrator, client_issue_id="race", status="Por asignar", actor=Actor.system())
    issue = issue.issue
    Issue.objects.filter(pk=issue.pk).update(step_entered_at=timezone.now() - timedelta(hours=1))
    preparing = sla.workflow.steps.get(value="PREPARING").pk
    other = psycopg.connect(**connection.get_connection_params())  # a request moving it meanwhile
    try:
        other.execute("SELECT id FROM orders_issue WHERE id = %s FOR UPDATE", [issue.pk])
        outcome = []

        def run_sweep():
            try:
                outcome.append(issues_apply_step_timeouts())
            finally:
                connection.close()  # this thread's

        sweep = threading.Thread(target=run_sweep)
        sweep.start()
        sweep.join(0.5)
        assert sweep.is_alive()  # it found the issue late and waits for its lock
        other.execute(
            "UPDATE orders_issue SET step_id = %s, version = version + 1, step_entered_at = now() WHERE id = %s",
            [preparing, issue.pk],
        )
        other.commit()
        sweep.join(10)
    finally:
        other.close()
    assert outcome == [0]
    assert Issue.objects.get(pk=issue.pk).step_id == preparing
