"""Workflows as data, and the admin staff edit them in."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from fulfillment.graph import duration_text, normalize_status, workflow_graph, workflow_mermaid
from fulfillment.models import Step, Transition, Workflow
from tests.conftest import client_for

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


def test_admin_shows_the_graph_as_mermaid_source_laid_out_in_the_browser(staff_client, delivery):
    page = staff_client.get(f"/admin/fulfillment/workflow/{delivery.pk}/change/").content.decode()
    assert '<pre class="gid-mermaid"' in page and "flowchart LR" in page
    assert "Asignar pedido" in page and "Por Asignar" in page
    assert "fulfillment/vendor/mermaid/mermaid.min.js" in page and "cdn" not in page.lower()


def test_workflow_mermaid_colours_steps_by_category_and_marks_the_initial_one(delivery):
    source = workflow_mermaid(delivery)
    steps = {s.value: s for s in delivery.steps.all()}
    assert source.startswith("flowchart LR\n")
    assert f'    s{steps["RECEIVED"].pk}["Recibido<br/>RECEIVED"]:::todo' in source
    assert f'    s{steps["TO_BE_ASSIGNED"].pk}("Por Asignar<br/>TO_BE_ASSIGNED"):::inprogress' in source
    assert f'    s{steps["DELIVERED"].pk}(["Entregado<br/>DELIVERED"]):::done' in source
    assert f"    start --> s{steps['RECEIVED'].pk}" in source
    assert f"    style s{steps['RECEIVED'].pk} stroke-width:4px" in source
    assert f'    s{steps["TO_BE_ASSIGNED"].pk} -->|"Asignar pedido"| s{steps["ON_ROUTE"].pk}' in source
    assert source.count("-->|") == 7
    for css_class in ("todo", "inprogress", "done"):
        assert f"classDef {css_class} fill:" in source


def test_workflow_mermaid_shows_a_timeout_on_its_step_and_its_dotted_transition(delivery):
    step = delivery.steps.get(value="TO_BE_ASSIGNED")
    cancel = delivery.transitions.get(from_step=step, to_step__value="CANCELLED")
    step.timeout_seconds, step.timeout_transition = 1800, cancel
    step.save()
    source = workflow_mermaid(delivery)
    assert f'    s{step.pk}("Por Asignar<br/>TO_BE_ASSIGNED<br/>timeout: 30 min"):::inprogress' in source
    assert f'    s{step.pk} -.->|"Cancelar por asignar (after 30 min)"| s{cancel.to_step_id}' in source


def test_workflow_mermaid_keeps_staff_text_as_text(delivery):
    step = delivery.steps.get(value="ON_ROUTE")
    step.name = 'En "ruta"]:::x; click s1 call alert(1) <b>#'
    step.save()
    line = next(line for line in workflow_mermaid(delivery).splitlines() if line.startswith(f"    s{step.pk}("))
    assert line == (
        f'    s{step.pk}("En #34;ruta#34;#93;:::x#59; click s1 call alert(1) #60;b#62;#35;<br/>ON_ROUTE"):::inprogress'
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45 s"), (1800, "30 min"), (5400, "1 h 30 min"), (90061, "1 d 1 h"), (0, "0 s")]
)
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


def _workflow_post(workflow, steps, transitions=(), *, initial=None, draft=False):
    """The editor's form as a browser posts it: steps as (name, value[, category]), transitions
    as (name, from, to) naming their steps by value or name, `initial` the value ticked Initial."""
    data = {
        "code": workflow.code, "name": workflow.name,
        "steps-TOTAL_FORMS": len(steps), "steps-INITIAL_FORMS": 0, "steps-MIN_NUM_FORMS": 0,
        "steps-MAX_NUM_FORMS": 1000,
        "transitions-TOTAL_FORMS": len(transitions), "transitions-INITIAL_FORMS": 0,
        "transitions-MIN_NUM_FORMS": 0, "transitions-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    if draft:
        data["draft"] = "on"
    for n, (name, value, *category) in enumerate(steps):
        data.update({f"steps-{n}-name": name, f"steps-{n}-value": value, f"steps-{n}-color": "#123456",
                     f"steps-{n}-category": category[0] if category else "IN_PROGRESS",
                     f"steps-{n}-position": n})  # fmt: skip
        if value == initial:
            data[f"steps-{n}-initial"] = "on"
    for n, (name, src, dst) in enumerate(transitions):
        data.update({f"transitions-{n}-name": name, f"transitions-{n}-source": src, f"transitions-{n}-target": dst})
    return data


def _errors(response, prefix: str) -> list[dict]:
    formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == prefix).formset
    return formset.errors


def test_admin_refuses_duplicate_step_values(staff_client):
    workflow = Workflow.objects.create(code="w", name="W")
    response = staff_client.post(
        f"/admin/fulfillment/workflow/{workflow.pk}/change/", _workflow_post(workflow, [("A", "SAME"), ("B", "SAME")])
    )
    assert response.status_code == 200  # the form again, with errors
    assert "Please correct the duplicate" in response.content.decode() or "already exists" in response.content.decode()
    assert not Step.objects.filter(workflow=workflow).exists()


def test_admin_refuses_a_step_value_that_differs_only_in_case_on_its_row(staff_client):
    workflow = Workflow.objects.create(code="w", name="W")
    data = _workflow_post(workflow, [("Recibido", "RECEIVED", "TO_DO"), ("Otro", "received")], initial="RECEIVED")
    response = staff_client.post(f"/admin/fulfillment/workflow/{workflow.pk}/change/", data)
    assert response.status_code == 200
    errors = _errors(response, "steps")
    assert errors[0] == {} and list(errors[1]) == ["value"]
    assert "“received” is already step “Recibido (RECEIVED)”" in errors[1]["value"][0]
    assert "The workflow was not saved" in response.content.decode()
    assert not Step.objects.filter(workflow=workflow).exists()


def test_admin_refuses_a_transition_to_no_step_of_the_workflow_on_its_row(staff_client, delivery):
    workflow = Workflow.objects.create(code="w", name="W")
    steps = [("A", "A", "TO_DO"), ("B", "B", "DONE")]
    # ON_ROUTE is a step of another workflow: never found from this one.
    data = _workflow_post(workflow, steps, [("ok", "a", "b"), ("cross", "A", "ON_ROUTE")], initial="A")
    response = staff_client.post(f"/admin/fulfillment/workflow/{workflow.pk}/change/", data)
    assert response.status_code == 200
    assert _errors(response, "transitions") == [{}, {"target": ["No step “ON_ROUTE” in this workflow."]}]
    assert not Transition.objects.filter(workflow=workflow).exists() and not workflow.steps.exists()


def test_admin_adds_a_workflow_with_its_steps_transitions_and_initial_step_in_one_save(staff_client, integrator):
    data = _workflow_post(
        Workflow(code="returns", name="Returns"),
        [("Pedida", "REQUESTED", "TO_DO"), ("Devuelta", "RETURNED", "DONE")],
        [("Devolver", "pedida", "RETURNED")],
        initial="REQUESTED",
    )
    response = staff_client.post("/admin/fulfillment/workflow/add/", data, follow=True)
    workflow = Workflow.objects.get(code="returns")
    assert workflow.initial_step.value == "REQUESTED" and workflow.is_offered
    transition = workflow.transitions.get()
    assert (transition.from_step.value, transition.to_step.value) == ("REQUESTED", "RETURNED")
    assert [str(m) for m in response.context["messages"]] == [
        "“Returns” passes the checks and was saved: it is offered to integrators."
    ]
    assert client_for(integrator).get("/api/workflows/returns").status_code == 200


def test_admin_saves_a_half_built_workflow_as_a_draft_with_one_message_naming_the_problems(staff_client, integrator):
    data = _workflow_post(Workflow(code="half", name="Half"), [("Pedida", "REQUESTED", "TO_DO")])
    response = staff_client.post("/admin/fulfillment/workflow/add/", data, follow=True)
    workflow = Workflow.objects.get(code="half")
    assert not workflow.is_offered and not workflow.checks_passed
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("“Half” was saved as a draft, not offered to integrators until it passes the checks:")
    assert "No initial step" in message and "“Pedida (REQUESTED)” is not DONE and has no transition out" in message
    page = response.content.decode()
    assert "No: it does not pass the checks." in page and "No initial step" in page
    api = client_for(integrator)
    assert api.get("/api/workflows/half").status_code == 404
    assert "half" not in [w["code"] for w in api.get("/api/workflows").json()["data"]["results"]]


def test_admin_lists_whether_each_workflow_is_offered(staff_client, delivery):
    Workflow.objects.create(code="kept", name="Kept", draft=True)
    page = staff_client.get("/admin/fulfillment/workflow/").content.decode()
    assert "Yes: the API lists it" in page and "No: it is a draft." in page


def test_admin_offers_each_existing_transitions_steps_by_value(staff_client, delivery):
    response = staff_client.get(f"/admin/fulfillment/workflow/{delivery.pk}/change/")
    formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "transitions").formset
    pairs = {(form["source"].value(), form["target"].value()) for form in formset.forms}
    assert ("TO_BE_ASSIGNED", "ON_ROUTE") in pairs and len(pairs) == 7
    steps = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "steps").formset
    assert [bool(form["initial"].value()) for form in steps.forms] == [True, False, False, False, False, False]


def test_issues_stay_found_by_status_when_their_workflow_goes_back_to_draft(auth_client, delivery):
    assert auth_client.post("/api/issues", {"client_issue_id": "D-1"}, format="json").status_code == 201
    delivery.draft = True
    delivery.save()
    found = auth_client.get("/api/issues", {"status": "recibido"}).json()["data"]["results"]
    assert [i["client_issue_id"] for i in found] == ["D-1"]
    assert auth_client.post("/api/issues", {"client_issue_id": "D-2"}, format="json").status_code == 422
