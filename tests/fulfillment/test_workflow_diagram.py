"""docs/order-lifecycle.md's diagram is the `delivery` workflow the API runs: regenerated from
the seeded rows, it must be what the page holds."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

DOC = Path(__file__).resolve().parents[2] / "docs" / "order-lifecycle.md"


def test_the_documented_diagram_is_the_seeded_workflow(delivery):
    out = StringIO()
    call_command("workflow_diagram", "delivery", stdout=out)
    documented = re.search(r"```mermaid\n(.*?)```", DOC.read_text(), re.S)[1]
    assert out.getvalue() == documented, "regenerate: python manage.py workflow_diagram delivery"


def test_the_diagram_has_every_step_and_transition(delivery):
    out = StringIO()
    call_command("workflow_diagram", "delivery", stdout=out)
    text = out.getvalue()
    for step in delivery.steps.all():
        assert f"{step.value}: {step.name} ({step.value})" in text
    for transition in delivery.transitions.all():
        assert f"{transition.from_step.value} --> {transition.to_step.value}: {transition.name}" in text
    assert f"[*] --> {delivery.initial_step.value}" in text and "DELIVERED --> [*]" in text


def test_a_timeout_is_drawn_on_its_transition(delivery):
    step = delivery.steps.get(value="TO_BE_ASSIGNED")
    step.timeout_transition = delivery.transitions.get(name="Cancelar por asignar")
    step.timeout_seconds = 7200
    step.save()
    out = StringIO()
    call_command("workflow_diagram", "delivery", stdout=out)
    assert "TO_BE_ASSIGNED --> CANCELLED: Cancelar por asignar (after 2 h)" in out.getvalue()


def test_an_unknown_workflow_names_the_ones_there_are(delivery):
    with pytest.raises(CommandError, match="there are: delivery"):
        call_command("workflow_diagram", "nope")
