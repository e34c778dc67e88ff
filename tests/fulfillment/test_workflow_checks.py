"""The checks a workflow passes before integrators are offered it (fulfillment.workflows), one by
one on workflows as staff would draft them, then the save that runs them."""

import pytest

from fulfillment.models import Step, StepCategory, Transition, Workflow
from fulfillment.selectors import workflow_for, workflows_for
from fulfillment.workflows import (
    StepDraft,
    TransitionDraft,
    WorkflowRefused,
    workflow_check,
    workflow_check_saved,
    workflow_save,
)
from getitdone.errors import InvalidInput
from orders.services import Actor, issue_create

TO_DO, IN_PROGRESS, DONE = StepCategory.TO_DO, StepCategory.IN_PROGRESS, StepCategory.DONE


def step(value: str, category: str = IN_PROGRESS, *, name: str = "", name_frontend: str = "", initial=False):
    return StepDraft(
        Step(value=value, name=name or value.title(), name_frontend=name_frontend, category=category),
        initial=initial,
        key=value,
    )


def move(source: str, target: str, name: str = ""):
    return TransitionDraft(Transition(name=name or f"{source}→{target}"), source, target, key=f"{source}→{target}")


def good_steps():
    return [step("RECEIVED", TO_DO, initial=True), step("ON_ROUTE"), step("DELIVERED", DONE)]


def good_transitions():
    return [move("RECEIVED", "ON_ROUTE"), move("ON_ROUTE", "DELIVERED")]


def codes(findings):
    return [(f.code, f.key, f.field) for f in findings]


def test_a_complete_workflow_passes():
    check = workflow_check(steps=good_steps(), transitions=good_transitions())
    assert check.passed and check.refusals == [] and check.problems == []


# --- Refusals: nothing can be saved with these -----------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (step("received", name="Otro"), "value"),  # RECEIVED, in other case
        (step("RECIBIDO_2", name="received"), "name"),  # a name equal to another step's value
        (step("X", name="Delivered"), "name"),
        (step("Y", name="Otro", name_frontend="RÉCEIVED "), "name_frontend"),  # accents and spaces too
    ],
    ids=["value", "name-vs-value", "name-vs-value-case", "frontend-name-accents"],
)
def test_a_step_the_api_could_not_tell_from_another_is_refused_on_its_field(extra, field):
    check = workflow_check(steps=[*good_steps(), extra], transitions=good_transitions())
    assert codes(check.refusals) == [("duplicate_step", extra.key, field)]
    assert "already step" in check.refusals[0].message and "ignoring case and accents" in check.refusals[0].message


def test_entregado_beside_entregado_in_lower_case_is_refused():
    steps = [step("A", TO_DO, name="Entregado", initial=True), step("B", DONE, name="entregado")]
    check = workflow_check(steps=steps, transitions=[move("A", "B")])
    assert codes(check.refusals) == [("duplicate_step", "B", "name")]


def test_a_step_may_repeat_its_own_value_in_its_names():
    steps = good_steps()
    steps[0] = step("Recibido", TO_DO, name="Recibido", name_frontend="recibido", initial=True)
    check = workflow_check(steps=steps, transitions=[move("Recibido", "ON_ROUTE"), move("ON_ROUTE", "DELIVERED")])
    assert check.passed


def test_two_initial_steps_are_refused_on_both():
    steps = good_steps()
    steps[1].initial = True
    check = workflow_check(steps=steps, transitions=good_transitions())
    assert codes(check.refusals) == [
        ("several_initial_steps", "RECEIVED", "initial"),
        ("several_initial_steps", "ON_ROUTE", "initial"),
    ]


@pytest.mark.parametrize("field", ["source", "target"])
def test_a_transition_naming_no_step_of_the_workflow_is_refused_on_that_end(field):
    bad = move("ON_ROUTE", "NOWHERE") if field == "target" else move("NOWHERE", "ON_ROUTE")
    check = workflow_check(steps=good_steps(), transitions=[*good_transitions(), bad])
    assert codes(check.refusals) == [("unknown_step", bad.key, field)]
    assert check.refusals[0].message == "No step “NOWHERE” in this workflow."


def test_a_transition_finds_its_steps_by_name_or_value_ignoring_case_and_accents():
    steps = [step("RECEIVED", TO_DO, name="Recibido", initial=True), step("PREP", name="En preparación"),
             step("DONE", DONE)]  # fmt: skip
    check = workflow_check(steps=steps, transitions=[move(" recibído", "EN PREPARACION"), move("prep", "done")])
    assert check.passed
    assert [(a.step.value, b.step.value) for a, b in check.ends.values()] == [("RECEIVED", "PREP"), ("PREP", "DONE")]


def test_a_transition_back_to_its_own_step_is_refused():
    check = workflow_check(steps=good_steps(), transitions=[*good_transitions(), move("ON_ROUTE", "on_route")])
    assert codes(check.refusals) == [("loop", "ON_ROUTE→on_route", "target")]


def test_two_transitions_for_one_pair_of_steps_are_refused():
    twice = move("received", "On_Route", name="Again")
    check = workflow_check(steps=good_steps(), transitions=[*good_transitions(), twice])
    assert codes(check.refusals) == [("duplicate_transition", twice.key, "target")]


# --- Problems: saved as a draft, not offered ---------------------------------------------------


def test_no_initial_step_is_a_problem():
    steps = good_steps()
    steps[0].initial = False
    check = workflow_check(steps=steps, transitions=good_transitions())
    assert check.refusals == [] and codes(check.problems) == [("no_initial_step", None, None)]


def test_an_initial_step_that_is_done_is_a_problem_on_it():
    steps = [step("RECEIVED", TO_DO), step("CLOSED", DONE, initial=True)]
    check = workflow_check(steps=steps, transitions=[move("RECEIVED", "CLOSED")])
    assert ("initial_step_done", "CLOSED", "initial") in codes(check.problems)


def test_a_step_the_initial_one_cannot_reach_is_a_problem_naming_it():
    check = workflow_check(steps=[*good_steps(), step("LOST", DONE)], transitions=good_transitions())
    assert codes(check.problems) == [("unreachable_step", "LOST", None)]
    assert (
        check.problems[0].message == "Step “Lost (LOST)” cannot be reached from the initial step “Received (RECEIVED)”."
    )


def test_reachability_follows_transitions_in_their_direction():
    # LOST leads into the workflow, but nothing leads to it.
    steps, transitions = [*good_steps(), step("LOST")], [*good_transitions(), move("LOST", "DELIVERED")]
    check = workflow_check(steps=steps, transitions=transitions)
    assert codes(check.problems) == [("unreachable_step", "LOST", None)]


@pytest.mark.parametrize("category", [TO_DO, IN_PROGRESS])
def test_a_step_that_is_not_done_with_no_way_out_is_a_problem(category):
    steps = [step("RECEIVED", TO_DO, initial=True), step("STUCK", category), step("DELIVERED", DONE)]
    check = workflow_check(steps=steps, transitions=[move("RECEIVED", "STUCK"), move("RECEIVED", "DELIVERED")])
    assert codes(check.problems) == [("no_way_out", "STUCK", None)]
    assert "“Stuck (STUCK)” is not DONE and has no transition out" in check.problems[0].message


def test_a_done_step_needs_no_way_out_but_may_have_one():
    transitions = [*good_transitions(), move("DELIVERED", "ON_ROUTE", name="Reopen")]
    assert workflow_check(steps=good_steps(), transitions=transitions).passed


def test_an_empty_workflow_has_the_no_initial_step_problem_only():
    check = workflow_check(steps=[], transitions=[])
    assert codes(check.problems) == [("no_initial_step", None, None)]


# --- The seeded workflow, and saving ---------------------------------------------------------


@pytest.mark.django_db
def test_the_seeded_delivery_workflow_passes_and_is_offered(delivery, integrator):
    assert workflow_check_saved(delivery).passed
    delivery.refresh_from_db()
    assert delivery.checks_passed and not delivery.draft
    assert workflow_for(integrator, "delivery") == delivery


@pytest.mark.django_db
def test_seed_workflows_loads_a_workflow_that_passes(integrator):
    from django.core.management import call_command

    call_command("seed_workflows")
    workflow = Workflow.objects.get(code="delivery")
    assert workflow.checks_passed and workflow_check_saved(workflow).passed
    assert list(workflows_for(integrator)) == [workflow]


def _drafts(workflow: Workflow):
    """Every step and transition of the workflow, as a save that changes nothing passes them."""
    steps = {s.value: StepDraft(s, s.pk == workflow.initial_step_id, s.value) for s in workflow.steps.all()}
    transitions = [
        TransitionDraft(t, t.from_step.value, t.to_step.value, t.pk)
        for t in workflow.transitions.select_related("from_step", "to_step")
    ]
    return steps, transitions


@pytest.mark.django_db
def test_a_step_and_its_transitions_are_saved_in_one_save(delivery, integrator):
    steps, transitions = _drafts(delivery)
    new = StepDraft(Step(name="Devuelto", value="RETURNED", category=DONE, position=9), key="new")
    back = TransitionDraft(Transition(name="Devolver"), "en ruta", "devuelto", key="back")
    saved = workflow_save(workflow=delivery, steps=[*steps.values(), new], transitions=[*transitions, back])
    assert saved.problems == [] and saved.offered
    returned = Step.objects.get(workflow=delivery, value="RETURNED")
    transition = Transition.objects.get(workflow=delivery, name="Devolver")
    assert (transition.from_step.value, transition.to_step_id) == ("ON_ROUTE", returned.pk)


@pytest.mark.django_db
def test_a_refused_save_saves_nothing(delivery):
    steps, transitions = _drafts(delivery)
    before = (Step.objects.count(), Transition.objects.count(), delivery.revision)
    new = StepDraft(Step(name="Otra", value="received", category=TO_DO), key="new")
    with pytest.raises(WorkflowRefused) as refused:
        workflow_save(workflow=delivery, steps=[*steps.values(), new], transitions=transitions)
    assert isinstance(refused.value, InvalidInput) and codes(refused.value.findings) == [
        ("duplicate_step", "new", "value")
    ]
    delivery.refresh_from_db()
    assert (Step.objects.count(), Transition.objects.count(), delivery.revision) == before


@pytest.mark.django_db
def test_a_half_built_workflow_is_saved_but_not_offered_until_a_save_passes(integrator):
    workflow = Workflow(code="returns", name="Returns")
    first = [StepDraft(Step(name="Pedida", value="REQUESTED", category=TO_DO), initial=True, key="a"),
             StepDraft(Step(name="Recogida", value="PICKED_UP"), key="b")]  # fmt: skip
    saved = workflow_save(workflow=workflow, steps=first, transitions=[])
    assert [f.code for f in saved.problems] == ["unreachable_step", "no_way_out", "no_way_out"]
    assert not saved.offered and not workflow.checks_passed
    assert workflow.initial_step.value == "REQUESTED"  # a step new in this save can be the initial one
    assert workflow_for(integrator, "returns") is None and "returns" not in workflows_for(integrator).values_list(
        "code", flat=True
    )
    with pytest.raises(InvalidInput) as refused:
        issue_create(integrator=integrator, client_issue_id="R-1", workflow="returns", actor=Actor.system())
    assert refused.value.field == "workflow"

    steps, transitions = _drafts(workflow)
    done = StepDraft(Step(name="Devuelta", value="RETURNED", category=DONE), key="c")
    more = [TransitionDraft(Transition(name="Recoger"), "REQUESTED", "PICKED_UP", key="t1"),
            TransitionDraft(Transition(name="Devolver"), "PICKED_UP", "RETURNED", key="t2")]  # fmt: skip
    saved = workflow_save(workflow=workflow, steps=[*steps.values(), done], transitions=[*transitions, *more])
    assert saved.problems == [] and saved.offered
    assert workflow_for(integrator, "returns") == workflow
    issue = issue_create(integrator=integrator, client_issue_id="R-1", workflow="returns", actor=Actor.system())
    assert issue.issue.step.value == "REQUESTED"


@pytest.mark.django_db
def test_the_draft_switch_keeps_a_passing_workflow_from_integrators(delivery, integrator):
    steps, transitions = _drafts(delivery)
    delivery.draft = True
    saved = workflow_save(workflow=delivery, steps=list(steps.values()), transitions=transitions)
    assert saved.problems == [] and delivery.checks_passed and not saved.offered
    assert workflow_for(integrator, "delivery") is None
    delivery.draft = False
    assert workflow_save(workflow=delivery, steps=list(steps.values()), transitions=transitions).offered


@pytest.mark.django_db
def test_a_workflow_that_stops_passing_stops_being_offered(delivery, integrator):
    steps, transitions = _drafts(delivery)
    kept = [t for t in transitions if (t.source, t.target) != ("ON_ROUTE", "DELIVERED")]
    saved = workflow_save(workflow=delivery, steps=list(steps.values()), transitions=kept,
                          deleted_transitions=[t.transition for t in transitions if t not in kept])  # fmt: skip
    assert [f.code for f in saved.problems] == ["unreachable_step", "no_way_out"]
    assert workflow_for(integrator, "delivery") is None


@pytest.mark.django_db
def test_a_timeout_along_a_transition_that_does_not_leave_its_step_is_refused(delivery):
    steps, transitions = _drafts(delivery)
    cancel = next(t for t in transitions if (t.source, t.target) == ("TO_BE_ASSIGNED", "CANCELLED"))
    steps["TO_BE_ASSIGNED"].step.timeout_seconds, steps["TO_BE_ASSIGNED"].step.timeout_transition = (
        1800,
        cancel.transition,
    )
    assert workflow_check(steps=list(steps.values()), transitions=transitions).passed
    cancel.source = "PREPARING"  # edited in the same save: it leaves another step now
    others = [t for t in transitions if t is not cancel and (t.source, t.target) != ("PREPARING", "CANCELLED")]
    check = workflow_check(steps=list(steps.values()), transitions=[*others, cancel])
    assert codes(check.refusals) == [("timeout_transition", "TO_BE_ASSIGNED", "timeout_transition")]
