"""Step SLA: an issue left in a step past its timeout is moved by the system."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from orders.models import Issue
from orders.services import Actor, issue_create, issues_apply_step_timeouts
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
