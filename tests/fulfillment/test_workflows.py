"""Workflows as data, and the admin staff edit them in."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from fulfillment.graph import normalize_status, workflow_graph
from fulfillment.models import Step, Transition, Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("staff", "s@example.com", "pw-for-tests-only"))
    return client


def test_seed_demo_delivery_workflow_is_exactly_as_specified(delivery):
    graph = workflow_graph(delivery)
    steps = {s["value"]: s for s in graph.steps.values()}
    assert list(steps) == ["RECEIVED", "PREPARING", "TO_BE_ASSIGNED", "ON_ROUTE", "DELIVERED", "CANCELLED"]
    assert graph.initial_step_id == steps["RECEIVED"]["id"]
    assert steps["RECEIVED"]["category"] == "TO_DO"
    assert steps["DELIVERED"]["category"] == steps["CANCELLED"]["category"] == "DONE"
    por = steps["TO_BE_ASSIGNED"]
    assert (por["name"], por["category"], por["color"], por["description_frontend"]) == (
        "Por Asignar", "IN_PROGRESS", "#EBA859", "Estamos buscando un repartidor para ti.",
    )  # fmt: skip
    pairs = {(graph.values[a], graph.values[b]) for a, b in graph.transitions}
    assert pairs == {
        ("RECEIVED", "PREPARING"), ("PREPARING", "TO_BE_ASSIGNED"), ("TO_BE_ASSIGNED", "ON_ROUTE"),
        ("ON_ROUTE", "DELIVERED"), ("RECEIVED", "CANCELLED"), ("PREPARING", "CANCELLED"),
        ("TO_BE_ASSIGNED", "CANCELLED"),
    }  # fmt: skip
    names = {t["name"] for t in por["transitions"]}
    assert names == {"Asignar pedido", "Cancelar por asignar"}


def test_seed_demo_twice_changes_nothing(delivery):
    from fulfillment.demo import delivery_workflow_seed

    before = (Step.objects.count(), Transition.objects.count(), delivery.revision)
    delivery_workflow_seed()
    delivery.refresh_from_db()
    assert (Step.objects.count(), Transition.objects.count(), delivery.revision) == before


def test_transition_across_workflows_is_refused(delivery):
    other = Workflow.objects.create(code="other", name="Other")
    foreign = Step.objects.create(workflow=other, name="X", value="X")
    with pytest.raises(ValidationError):
        Transition.objects.create(workflow=delivery, name="bad", from_step=delivery.steps.first(), to_step=foreign)


def test_editing_a_step_refreshes_the_cached_graph(delivery):
    graph = workflow_graph(delivery)
    step = delivery.steps.get(value="ON_ROUTE")
    step.name = "Camino"
    step.save()
    delivery.refresh_from_db()
    assert workflow_graph(delivery) is not graph
    assert workflow_graph(delivery).resolve("camino") == step.pk


def test_normalize_status():
    assert normalize_status("  Por ASIGNÁR ") == normalize_status("por asignar") == "por asignar"


def test_admin_shows_the_graph(staff_client, delivery):
    page = staff_client.get(f"/admin/fulfillment/workflow/{delivery.pk}/change/").content.decode()
    assert "<svg" in page and "Asignar pedido" in page and "Por Asignar" in page


def _workflow_post(workflow, steps, transitions=()):
    data = {
        "code": workflow.code, "name": workflow.name, "initial_step": workflow.initial_step_id or "",
        "steps-TOTAL_FORMS": len(steps), "steps-INITIAL_FORMS": 0, "steps-MIN_NUM_FORMS": 0,
        "steps-MAX_NUM_FORMS": 1000,
        "transitions-TOTAL_FORMS": len(transitions), "transitions-INITIAL_FORMS": 0,
        "transitions-MIN_NUM_FORMS": 0, "transitions-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    for n, (name, value) in enumerate(steps):
        data.update({f"steps-{n}-name": name, f"steps-{n}-value": value, f"steps-{n}-category": "TO_DO",
                     f"steps-{n}-color": "#123456", f"steps-{n}-position": n})  # fmt: skip
    for n, (name, src, dst) in enumerate(transitions):
        data.update({f"transitions-{n}-name": name, f"transitions-{n}-from_step": src, f"transitions-{n}-to_step": dst})
    return data


def test_admin_refuses_duplicate_step_values(staff_client):
    workflow = Workflow.objects.create(code="w", name="W")
    response = staff_client.post(
        f"/admin/fulfillment/workflow/{workflow.pk}/change/", _workflow_post(workflow, [("A", "SAME"), ("B", "SAME")])
    )
    assert response.status_code == 200  # the form again, with errors
    assert "Please correct the duplicate" in response.content.decode() or "already exists" in response.content.decode()
    assert not Step.objects.filter(workflow=workflow).exists()


def test_admin_refuses_initial_step_of_another_workflow(staff_client, delivery):
    workflow = Workflow.objects.create(code="w", name="W")
    data = _workflow_post(workflow, [])
    data["initial_step"] = delivery.initial_step_id
    response = staff_client.post(f"/admin/fulfillment/workflow/{workflow.pk}/change/", data)
    assert response.status_code == 200
    workflow.refresh_from_db()
    assert workflow.initial_step_id is None


def test_admin_refuses_transition_to_another_workflows_step(staff_client, delivery):
    workflow = Workflow.objects.create(code="w", name="W")
    own = Step.objects.create(workflow=workflow, name="A", value="A")
    data = _workflow_post(workflow, [], [("cross", own.pk, delivery.initial_step_id)])
    response = staff_client.post(f"/admin/fulfillment/workflow/{workflow.pk}/change/", data)
    assert response.status_code == 200
    assert not Transition.objects.filter(workflow=workflow).exists()
