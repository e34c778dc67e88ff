import pytest
from django.contrib.auth.models import User

from orders.models import Issue, StatusChange
from orders.services import Actor, issue_create
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("support", "s@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client, user


@pytest.fixture
def issue(delivery, integrator):
    return issue_create(integrator=integrator, client_issue_id="A-77", actor=Actor.system(), children=[]).issue


def test_search_by_client_issue_id_and_filter(staff, issue):
    client, _ = staff
    page = client.get("/admin/orders/issue/?q=A-77").content.decode()
    assert "A-77" in page
    assert client.get("/admin/orders/issue/?step__category__exact=TO_DO").status_code == 200
    detail = client.get(f"/admin/orders/issue/{issue.pk}/change/").content.decode()
    assert "history" in detail.lower() and "issue.created" in detail


def test_move_to_step_goes_through_the_service_and_records_staff(staff, issue, delivery):
    client, user = staff
    target = delivery.steps.get(value="PREPARING")
    confirm = client.post("/admin/orders/issue/", {"action": "move_to_step", "_selected_action": [issue.pk]})
    assert confirm.status_code == 200 and "Move issues to a step" in confirm.content.decode()
    done = client.post(
        "/admin/orders/issue/",
        {"action": "move_to_step", "_selected_action": [issue.pk], "apply": "1", "step": target.pk, "note": "phone"},
        follow=True,
    )
    assert "1 issue(s) moved" in done.content.decode()
    change = StatusChange.objects.filter(issue=issue, from_step__isnull=False).get()
    assert (change.actor_type, change.actor_id, change.note) == ("staff", str(user.pk), "phone")
    assert Issue.objects.get(pk=issue.pk).step == target
    assert Event.objects.filter(type="issue.status_changed", issue=issue).count() == 1


def test_move_to_step_without_transition_reports_the_error(staff, issue, delivery):
    client, _ = staff
    delivered = delivery.steps.get(value="DELIVERED")
    done = client.post(
        "/admin/orders/issue/",
        {"action": "move_to_step", "_selected_action": [issue.pk], "apply": "1", "step": delivered.pk},
        follow=True,
    )
    assert "No transition from RECEIVED to DELIVERED" in done.content.decode()
    assert Issue.objects.get(pk=issue.pk).step.value == "RECEIVED"
