"""The workflow editor, as support staff use it: a step and its transitions added in one save,
a step the API could not tell from another refused on its row, a half-built workflow kept from
integrators until it passes the checks, and the graph laid out by Mermaid."""

import re

import pytest
from playwright.sync_api import Page, expect

from fulfillment.models import Step, Workflow
from tests.browser.conftest import screenshot
from tests.conftest import client_for

pytestmark = pytest.mark.slow


def _open(page: Page, live_server, workflow: Workflow | None = None) -> None:
    path = f"{workflow.pk}/change/" if workflow else "add/"
    page.goto(f"{live_server.url}/admin/fulfillment/workflow/{path}")


def _add_step(page: Page, *, name: str, value: str, category: str, position: int, initial: bool = False):
    group = page.get_by_role("group", name="Steps", exact=True)
    group.get_by_role("button", name="Add another Step").click()
    form = group.get_by_role("row").filter(has=page.get_by_label("Value:")).last  # the new one
    form.get_by_label("Name:", exact=True).fill(name)
    form.get_by_label("Value:").fill(value)
    form.get_by_label("Category:").select_option(label=category)
    form.get_by_label("Position:").fill(str(position))
    if initial:
        form.get_by_label("Initial").check()
    return form


def _add_transition(page: Page, *, name: str, source: str, target: str):
    group = page.get_by_role("group", name="Transitions")
    group.get_by_role("button", name="Add another Transition").click()
    row = group.get_by_role("row").filter(has=page.get_by_role("textbox", name="Name")).last
    row.get_by_role("textbox", name="Name").fill(name)
    row.get_by_role("combobox", name="From step").fill(source)
    row.get_by_role("combobox", name="To step").fill(target)
    return row


def _save_and_continue(page: Page) -> None:
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_load_state()


def test_a_step_and_its_transitions_are_added_in_one_save(admin_page, live_server, delivery, integrator):
    page = admin_page
    _open(page, live_server, delivery)
    _add_step(page, name="Devuelto", value="RETURNED", category="Done", position=6)
    # The transition rows offer the step just typed, before it is saved.
    expect(page.locator("datalist#gid-workflow-steps option[value='RETURNED']")).to_have_count(1)
    # Named as the API matches a status: by name or value, ignoring case and accents.
    _add_transition(page, name="Devolver pedido", source="en RUTA", target="returned")
    _save_and_continue(page)

    expect(
        page.get_by_text("“Delivery” passes the checks and was saved: it is offered to integrators.")
    ).to_be_visible()
    returned = Step.objects.get(workflow=delivery, value="RETURNED")
    data = client_for(integrator).get("/api/workflows/delivery").json()["data"]
    on_route = next(s for s in data["steps"] if s["value"] == "ON_ROUTE")
    assert {(t["name"], t["to_step_id"]) for t in on_route["transitions"]} >= {("Devolver pedido", returned.pk)}
    # The saved transition reads back by value in its row, ready for the next edit.
    row = (
        page.get_by_role("group", name="Transitions")
        .get_by_role("row")
        .filter(has=page.get_by_role("textbox", name="Name").and_(page.locator("[value='Devolver pedido']")))
    )
    expect(row.get_by_role("combobox", name="From step")).to_have_value("ON_ROUTE")
    expect(row.get_by_role("combobox", name="To step")).to_have_value("RETURNED")
    screenshot(page, "workflow-editor")


def test_a_step_named_like_another_ignoring_case_is_refused_on_its_row(admin_page, live_server, delivery):
    page = admin_page
    _open(page, live_server, delivery)
    _add_step(page, name="Recibido de nuevo", value="received", category="To do", position=7)
    _save_and_continue(page)

    expect(page.get_by_text(re.compile(r"Please correct the errors? below"))).to_be_visible()
    steps = page.get_by_role("group", name="Steps", exact=True)
    refusal = "“received” is already step “Recibido (RECEIVED)”: the API matches steps ignoring case and accents."
    expect(steps.get_by_text(refusal)).to_have_count(1)
    # The error is on the row that repeats the value, in its cell (not on RECEIVED's row).
    cell = steps.get_by_role("cell").filter(has=page.get_by_text(refusal))
    expect(cell.get_by_label("Value:")).to_have_value("received")
    original = steps.get_by_role("row").filter(has_text="Recibido [RECEIVED]")
    expect(original.get_by_label("Value:")).to_have_value("RECEIVED")
    expect(original.get_by_text(refusal)).to_have_count(0)
    assert not Step.objects.filter(workflow=delivery, value__iexact="received").exclude(value="RECEIVED").exists()
    screenshot(page, "workflow-duplicate-step")


def test_a_half_built_workflow_is_saved_as_a_draft_and_not_offered_until_it_passes(
    admin_page, live_server, delivery, integrator
):
    page, api = admin_page, client_for(integrator)
    _open(page, live_server)
    page.get_by_label("Code").fill("returns")
    page.get_by_role("textbox", name="Name:", exact=True).fill("Returns")
    _add_step(page, name="Pedida", value="REQUESTED", category="To do", position=0, initial=True)
    _add_step(page, name="Recogida", value="PICKED_UP", category="In progress", position=1)
    _save_and_continue(page)

    expect(page.get_by_text(re.compile("“Returns” was saved as a draft, not offered to integrators"))).to_be_visible()
    checks = page.locator(".field-checks")
    expect(checks).to_contain_text("Step “Recogida (PICKED_UP)” cannot be reached from the initial step")
    expect(checks).to_contain_text("Step “Pedida (REQUESTED)” is not DONE and has no transition out")
    expect(page.locator(".field-offered")).to_contain_text("No: it does not pass the checks.")
    screenshot(page, "workflow-draft")
    assert "returns" not in [w["code"] for w in api.get("/api/workflows").json()["data"]["results"]]
    assert api.get("/api/workflows/returns").status_code == 404
    created = api.post("/api/issues", {"client_issue_id": "R-1", "workflow": "returns"}, format="json")
    assert created.status_code == 422 and created.json()["warning"]["field"] == "workflow"

    # Finished: it passes, and is offered from this save on.
    _add_step(page, name="Devuelta", value="RETURNED", category="Done", position=2)
    _add_transition(page, name="Recoger", source="REQUESTED", target="PICKED_UP")
    _add_transition(page, name="Devolver", source="PICKED_UP", target="RETURNED")
    _save_and_continue(page)
    expect(page.get_by_text("“Returns” passes the checks and was saved: it is offered to integrators.")).to_be_visible()
    assert api.get("/api/workflows/returns").status_code == 200
    assert api.post("/api/issues", {"client_issue_id": "R-1", "workflow": "returns"}, format="json").status_code == 201

    # Staff may keep a passing workflow back with the Draft switch.
    page.get_by_role("checkbox", name="Draft").check()
    _save_and_continue(page)
    expect(page.get_by_text(re.compile("passes the checks and was saved as a draft"))).to_be_visible()
    assert api.get("/api/workflows/returns").status_code == 404


def test_the_graph_is_laid_out_by_mermaid_with_every_step_and_transition(admin_page, live_server, delivery):
    page = admin_page
    waiting = delivery.steps.get(value="TO_BE_ASSIGNED")
    waiting.timeout_seconds = 1800
    waiting.timeout_transition = delivery.transitions.get(from_step=waiting, to_step__value="CANCELLED")
    waiting.save()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    _open(page, live_server, delivery)
    svg = page.get_by_label("Graph of the workflow").locator("svg")
    expect(svg).to_be_visible()
    for step in delivery.steps.all():
        expect(svg).to_contain_text(step.name)
    for name in ("Asignar pedido", "Entregar pedido", "timeout: 30 min", "Cancelar por asignar (after 30 min)"):
        expect(svg).to_contain_text(name)
    assert all(url.startswith(live_server.url) for url in requests), "everything from our own server, no CDN"
    assert any(url.endswith("mermaid.min.js") for url in requests)
    page.get_by_label("Graph of the workflow").scroll_into_view_if_needed()
    screenshot(page, "workflow-graph")
