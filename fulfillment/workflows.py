"""The checks a workflow passes before integrators are offered it, and the save that runs them.

Staff build a workflow in admin a piece at a time, so the checks find two kinds of thing:

- refusals, which nothing may be saved with: two steps a status could not tell apart (the API
  matches a status to a step's value, name or name for customers ignoring case and accents), a
  transition naming no step of the workflow, two transitions for one pair of steps, one back to
  its own step, two initial steps, a timeout along a transition that does not leave its step;
- problems, which a half-built workflow has: no initial step, an initial step that is DONE, a
  step the initial one cannot reach, a step that is not DONE and has no way out. It is saved with
  them, but it is not offered to integrators (`selectors.workflows_offered`) until a save passes.

Transitions name their steps by value or name, as the API does, and not by id: so one save can
add a step and the transitions to and from it.
"""

import logging
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from fulfillment.graph import normalize_status
from fulfillment.models import Integrator, Step, StepCategory, Transition, Workflow
from getitdone.errors import InvalidInput

logger = logging.getLogger(__name__)

# The step fields a status is matched against (orders.services, through WorkflowGraph.resolve).
STATUS_FIELDS = ("value", "name", "name_frontend")


@dataclass(frozen=True)
class Finding:
    """One thing wrong, where it is: `key` is the caller's name for the step or transition (the
    admin's inline row), `field` the field it is about."""

    message: str
    code: str
    key: Hashable | None = None
    field: str | None = None


@dataclass(eq=False)
class StepDraft:
    """A step the workflow is to have after the save: new, changed or as it is."""

    step: Step
    initial: bool = False
    key: Hashable | None = None  # None: the draft itself

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = self


@dataclass(eq=False)
class TransitionDraft:
    """A transition the workflow is to have: `source` and `target` name its steps by value or
    name, ignoring case and accents, and may name steps of the same save."""

    transition: Transition
    source: str
    target: str
    key: Hashable | None = None  # None: the draft itself

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = self


@dataclass(frozen=True)
class WorkflowCheck:
    refusals: list[Finding]
    problems: list[Finding]
    # The steps each transition (by key) leaves and enters, for those that name two steps.
    ends: dict[Hashable, tuple[StepDraft, StepDraft]] = field(repr=False)

    @property
    def passed(self) -> bool:
        return not self.refusals and not self.problems


class WorkflowRefused(InvalidInput):
    """422: the workflow cannot be saved as it is; `findings` say where and why."""

    default_code = "workflow_refused"

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(_("The workflow was not saved: correct the steps and transitions marked."))
        self.findings = findings


def _label(step: Step) -> str:
    return f"{step.name} ({step.value})" if step.name != step.value else step.value


def _check_step_names(steps: Sequence[StepDraft]) -> list[Finding]:
    """What a status names must be one step: no value or name may repeat another step's."""
    found, taken = [], {}
    for draft in steps:
        for name in STATUS_FIELDS:
            text = getattr(draft.step, name)
            if not text:
                continue
            owner = taken.setdefault(normalize_status(text), draft)
            if owner is not draft:
                message = _(
                    "“%(text)s” is already step “%(other)s”: the API matches steps ignoring case and accents."
                ) % {"text": text, "other": _label(owner.step)}
                found.append(Finding(message, "duplicate_step", draft.key, name))
    return found


def _step_lookup(steps: Sequence[StepDraft]) -> dict[str, StepDraft]:
    lookup: dict[str, StepDraft] = {}
    for name in STATUS_FIELDS:  # a value before a name, as the API resolves a status
        for draft in steps:
            text = getattr(draft.step, name)
            if text:
                lookup.setdefault(normalize_status(text), draft)
    return lookup


def _check_transitions(
    steps: Sequence[StepDraft], transitions: Sequence[TransitionDraft]
) -> tuple[list[Finding], dict[Hashable, tuple[StepDraft, StepDraft]]]:
    found, ends, pairs = [], {}, {}
    lookup = _step_lookup(steps)
    for draft in transitions:
        source, target = (lookup.get(normalize_status(text or "")) for text in (draft.source, draft.target))
        for name, text, step in (("source", draft.source, source), ("target", draft.target, target)):
            if step is None:
                message = _("No step “%(text)s” in this workflow.") % {"text": text}
                found.append(Finding(message, "unknown_step", draft.key, name))
        if source is None or target is None:
            continue
        if source is target:
            message = _("A transition leads to another step: this one starts and ends at “%(step)s”.")
            found.append(Finding(message % {"step": _label(source.step)}, "loop", draft.key, "target"))
            continue
        other = pairs.setdefault((id(source), id(target)), draft)
        if other is not draft:
            message = _("Transition “%(other)s” already leads from “%(from)s” to “%(to)s”.") % {
                "other": other.transition.name, "from": _label(source.step), "to": _label(target.step),
            }  # fmt: skip
            found.append(Finding(message, "duplicate_transition", draft.key, "target"))
            continue
        ends[draft.key] = (source, target)
    return found, ends


def _check_timeouts(steps: Sequence[StepDraft], transitions: Sequence[TransitionDraft], ends: dict) -> list[Finding]:
    found, by_pk = [], {t.transition.pk: t for t in transitions if t.transition.pk}
    for draft in steps:
        pk = draft.step.timeout_transition_id
        if pk is None:
            continue
        kept = by_pk.get(pk)
        if kept is None:
            message = _("Its timeout transition is no longer a transition of this workflow.")
        elif kept.key in ends and ends[kept.key][0] is not draft:
            message = _("Its timeout transition “%(transition)s” does not leave this step.") % {
                "transition": kept.transition.name
            }
        else:
            continue
        found.append(Finding(message, "timeout_transition", draft.key, "timeout_transition"))
    return found


def _check_initial(steps: Sequence[StepDraft]) -> tuple[list[Finding], StepDraft | None]:
    initials = [d for d in steps if d.initial]
    if len(initials) > 1:
        names = ", ".join(f"“{_label(d.step)}”" for d in initials)
        message = _("Only one step is the initial one; ticked on %(steps)s.") % {"steps": names}
        return [Finding(message, "several_initial_steps", d.key, "initial") for d in initials], None
    return [], (initials[0] if initials else None)


def _check_graph(
    steps: Sequence[StepDraft], initial: StepDraft | None, ends: dict[Hashable, tuple[StepDraft, StepDraft]]
) -> list[Finding]:
    found = []
    outgoing: dict[int, list[StepDraft]] = {id(d): [] for d in steps}
    for source, target in ends.values():
        outgoing[id(source)].append(target)
    if initial is None:
        message = _("No initial step: tick “Initial” on the step new issues start in.")
        found.append(Finding(message, "no_initial_step"))
    else:
        if initial.step.category == StepCategory.DONE:
            message = _("The initial step “%(step)s” is DONE: issues would be finished as they start.")
            found.append(Finding(message % {"step": _label(initial.step)}, "initial_step_done", initial.key, "initial"))
        reached, todo = {id(initial)}, [initial]
        while todo:
            for target in outgoing[id(todo.pop())]:
                if id(target) not in reached:
                    reached.add(id(target))
                    todo.append(target)
        for draft in steps:
            if id(draft) not in reached:
                message = _("Step “%(step)s” cannot be reached from the initial step “%(initial)s”.") % {
                    "step": _label(draft.step), "initial": _label(initial.step),
                }  # fmt: skip
                found.append(Finding(message, "unreachable_step", draft.key))
    for draft in steps:
        if draft.step.category != StepCategory.DONE and not outgoing[id(draft)]:
            message = _("Step “%(step)s” is not DONE and has no transition out: its issues could never move on.")
            found.append(Finding(message % {"step": _label(draft.step)}, "no_way_out", draft.key))
    return found


def workflow_check(*, steps: Sequence[StepDraft], transitions: Sequence[TransitionDraft]) -> WorkflowCheck:
    """Every refusal and problem of the workflow these steps and transitions make."""
    refusals = _check_step_names(steps)
    initial_refusals, initial = _check_initial(steps)
    transition_refusals, ends = _check_transitions(steps, transitions)
    refusals += initial_refusals + transition_refusals + _check_timeouts(steps, transitions, ends)
    problems = _check_graph(steps, initial, ends) if not initial_refusals else []
    return WorkflowCheck(refusals=refusals, problems=problems, ends=ends)


def workflow_drafts(workflow: Workflow) -> tuple[list[StepDraft], list[TransitionDraft]]:
    """The workflow as it is saved, as drafts keyed by their rows' ids (("step", pk), ("transition", pk))."""
    steps = list(Step.objects.filter(workflow=workflow).order_by("position", "id"))
    transitions = Transition.objects.filter(workflow=workflow).select_related("from_step", "to_step").order_by("id")
    return (
        [StepDraft(step, initial=step.pk == workflow.initial_step_id, key=("step", step.pk)) for step in steps],
        [TransitionDraft(t, t.from_step.value, t.to_step.value, key=("transition", t.pk)) for t in transitions],
    )


def workflow_check_saved(workflow: Workflow) -> WorkflowCheck:
    steps, transitions = workflow_drafts(workflow)
    return workflow_check(steps=steps, transitions=transitions)


@dataclass(frozen=True)
class WorkflowSaved:
    workflow: Workflow
    problems: list[Finding]

    @property
    def offered(self) -> bool:
        return self.workflow.is_offered


@transaction.atomic
def workflow_save(
    *,
    workflow: Workflow,
    steps: Sequence[StepDraft],
    transitions: Sequence[TransitionDraft],
    deleted_steps: Iterable[Step] = (),
    deleted_transitions: Iterable[Transition] = (),
    integrators: Iterable[Integrator] | None = None,
) -> WorkflowSaved:
    """Save the workflow (new or not) with every step and transition it is to have, as staff
    edited them: the steps first, then the transitions, whose steps are found by what they name.

    Raises WorkflowRefused (422) for any refusal, with nothing saved. A workflow with problems is
    saved, and stays from integrators until a save passes; one that passes is offered unless
    `workflow.draft` keeps it back.
    """
    if workflow.pk:  # two staff saving one workflow: the second waits, then writes over the first
        Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    check = workflow_check(steps=steps, transitions=transitions)
    if check.refusals:
        raise WorkflowRefused(check.refusals)
    initial = next((d.step for d in steps if d.initial), None)
    workflow.checks_passed = check.passed
    workflow.initial_step = initial if initial is not None and initial.pk else None  # a new one: once saved
    workflow.save()
    if integrators is not None:
        workflow.integrators.set(integrators)
    for old in deleted_transitions:
        old.delete()
    for old in deleted_steps:
        old.delete()
    for draft in steps:
        draft.step.workflow = workflow
        draft.step.save()
    for draft in transitions:
        source, target = check.ends[draft.key]
        draft.transition.workflow = workflow
        draft.transition.from_step, draft.transition.to_step = source.step, target.step
        draft.transition.save()
    if workflow.initial_step_id != (initial.pk if initial else None):
        workflow.initial_step = initial
        workflow.save(update_fields=["initial_step", "revision"])
    logger.info(
        "workflow %s saved: %s steps, %s transitions, %s", workflow.code, len(steps), len(transitions),
        "offered" if workflow.is_offered else "not offered",
    )  # fmt: skip
    return WorkflowSaved(workflow=workflow, problems=check.problems)
