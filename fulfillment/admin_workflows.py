"""The workflow editor: a workflow with its steps and transitions, saved in one go by
`fulfillment.workflows.workflow_save`, which checks it.

Transitions name their steps by value or name (typed, with the workflow's steps offered as you
type), not by a choice of saved steps: so a step and the transitions to and from it are added
in one save. A refusal of the service shows on the row and field it is about.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fulfillment.graph import workflow_mermaid
from fulfillment.models import Step, StepCategory, Transition, Workflow
from fulfillment.workflows import (
    StepDraft,
    TransitionDraft,
    WorkflowRefused,
    WorkflowSaved,
    workflow_check_saved,
    workflow_save,
)
from getitdone.admin import ServiceAdmin

_FINDINGS = "_workflow_findings"  # on the request: the refusal's findings, for the rows to show
_SAVED = "_workflow_saved"  # on the request: what the save did, for its one message
STEP_LIST = "gid-workflow-steps"  # the <datalist> of step values the transition rows offer


def _with_findings(formset_class: type[BaseInlineFormSet], request: HttpRequest) -> type[BaseInlineFormSet]:
    """The formset, showing on each row (keyed by its form's prefix) what the service refused."""
    findings = getattr(request, _FINDINGS, None)
    if not findings:
        return formset_class

    class Refused(formset_class):
        def clean(self) -> None:
            super().clean()
            for form in self.forms:
                for finding in findings:
                    if finding.key == form.prefix:
                        form.add_error(finding.field if finding.field in form.fields else None, finding.message)

    return Refused


def _kept_forms(formset: BaseInlineFormSet) -> list[forms.ModelForm]:
    """The rows that are to exist after the save: not deleted, and not the blank extra ones."""
    deleted = set(map(id, formset.deleted_forms))
    return [f for f in formset.forms if id(f) not in deleted and (f.instance.pk or f.has_changed())]


class LabelledCells(forms.ModelForm):
    """A row of a tabular inline, whose inputs have no <label>: each is named by its column's
    label, so a screen reader (and a test) can tell the cells of a row apart."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)


class StepForm(forms.ModelForm):
    initial = forms.BooleanField(
        label=gettext_lazy("Initial"), required=False, help_text=gettext_lazy("New issues start here.")
    )

    class Meta:
        model = Step
        fields = (
            "name", "value", "category", "position", "initial", "name_frontend", "description_frontend", "color",
            "description", "timeout_seconds", "timeout_transition",
        )  # fmt: skip
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "description_frontend": forms.Textarea(attrs={"rows": 2}),
        }


class StepFormSet(BaseInlineFormSet):
    def _construct_form(self, i: int, **kwargs: Any) -> forms.ModelForm:
        form = super()._construct_form(i, **kwargs)
        if form.instance.pk and form.instance.pk == self.instance.initial_step_id:
            form.fields["initial"].initial = True
        return form


class StepInline(admin.TabularInline):
    """A row a step, a few fields a cell (steps_inline.html): a dozen columns would not fit."""

    model = Step
    form = StepForm
    formset = StepFormSet
    template = "admin/fulfillment/workflow/steps_inline.html"
    extra = 0
    # The row's cells: each a column heading and the fields stacked in it.
    cells = (
        (gettext_lazy("Position"), ("position",)),
        (gettext_lazy("Initial"), ("initial",)),
        (gettext_lazy("Step"), ("name", "value")),
        (gettext_lazy("Category"), ("category", "color")),
        (gettext_lazy("For customers"), ("name_frontend", "description_frontend")),
        (gettext_lazy("Description"), ("description",)),
        (gettext_lazy("Timeout (SLA)"), ("timeout_seconds", "timeout_transition")),
    )
    fieldsets = ((None, {"fields": tuple(fields for _label, fields in cells)}),)
    columns = tuple({"name": fields[0], "label": label} for label, fields in cells)

    def get_formset(self, request: HttpRequest, obj: Workflow | None = None, **kwargs: Any) -> type[BaseInlineFormSet]:
        return _with_findings(super().get_formset(request, obj, **kwargs), request)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> forms.Field | None:
        if db_field.name == "timeout_transition":
            kwargs["queryset"] = Transition.objects.filter(
                workflow_id=request.resolver_match.kwargs.get("object_id")
            ).select_related("from_step", "to_step")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _step_input() -> forms.TextInput:
    return forms.TextInput(attrs={"list": STEP_LIST, "autocomplete": "off", "size": 18})


class TransitionForm(LabelledCells):
    # By value or name, as the API matches a status: a step of this same save may be named.
    source = forms.CharField(
        label=gettext_lazy("From step"), max_length=120, widget=_step_input(),
        help_text=gettext_lazy("A step's value or name."),
    )  # fmt: skip
    target = forms.CharField(
        label=gettext_lazy("To step"), max_length=120, widget=_step_input(),
        help_text=gettext_lazy("A step's value or name."),
    )  # fmt: skip

    class Meta:
        model = Transition
        fields = ("name", "source", "target", "description")
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 30})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("source", self.instance.from_step.value)
            self.initial.setdefault("target", self.instance.to_step.value)


class TransitionInline(admin.TabularInline):
    model = Transition
    form = TransitionForm
    fk_name = "workflow"
    extra = 0
    fields = TransitionForm.Meta.fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("from_step", "to_step")

    def get_formset(self, request: HttpRequest, obj: Workflow | None = None, **kwargs: Any) -> type[BaseInlineFormSet]:
        return _with_findings(super().get_formset(request, obj, **kwargs), request)


_LEGEND = (
    (StepCategory.TO_DO, "gid-step-todo"),
    (StepCategory.IN_PROGRESS, "gid-step-inprogress"),
    (StepCategory.DONE, "gid-step-done"),
)


@admin.register(Workflow)
class WorkflowAdmin(ServiceAdmin):
    list_display = ("code", "name", "initial_step", "open_to", "offered")
    list_select_related = ("initial_step",)  # nullable: Django's own select_related skips it
    list_filter = ("draft", "checks_passed")
    search_fields = ("code", "name")
    filter_horizontal = ("integrators",)
    fields = ("code", "name", "draft", "integrators", "offered", "checks", "graph")
    readonly_fields = ("offered", "checks", "graph")
    inlines = (StepInline, TransitionInline)

    class Media:
        js = ("fulfillment/vendor/mermaid/mermaid.min.js", "fulfillment/workflow_admin.js")
        css = {"all": ("fulfillment/admin.css",)}

    @admin.display(description=gettext_lazy("Open to"))
    def open_to(self, obj: Workflow) -> str:
        names = [i.name for i in obj.integrators.all()]
        return ", ".join(names) if names else _("every integrator")

    @admin.display(description=gettext_lazy("Offered to integrators"))
    def offered(self, obj: Workflow) -> str:
        if not obj.pk:
            return _("Checked when you save.")
        if obj.draft:
            return _("No: it is a draft.")
        if not obj.checks_passed:
            return _("No: it does not pass the checks.")
        return _("Yes: the API lists it, and issues can be created in it.")

    @admin.display(description=gettext_lazy("Checks"))
    def checks(self, obj: Workflow) -> SafeString | str:
        if not obj.pk:
            return _("Run when you save: one initial step, every step reachable from it, a way out of every step "
                     "that is not DONE.")  # fmt: skip
        check = workflow_check_saved(obj)
        if check.passed:
            return _("Passes every check.")
        items = format_html_join("", "<li>{}</li>", ((f.message,) for f in check.refusals + check.problems))
        note = ""
        if obj.checks_passed:  # made in code, or before the checks existed
            note = _("It is still offered, as it was before the checks existed: a save that does not pass them "
                     "keeps it from integrators.")  # fmt: skip
        return format_html('<ul class="gid-findings">{}</ul>{}', items, note)

    @admin.display(description=gettext_lazy("Graph"))
    def graph(self, obj: Workflow) -> SafeString | str:
        if not obj.pk or not obj.steps.exists():
            return _("Add steps and save to see the graph.")
        legend = format_html_join(
            "", '<span class="gid-step-chip {}">{}</span>', ((css, c.label) for c, css in _LEGEND)
        )
        return format_html(
            '<div class="gid-workflow-graph"><pre class="gid-mermaid" aria-label="{}">{}</pre></div>'
            '<p class="gid-graph-legend">{} <span class="gid-start-dot"></span> {} · {}</p>',
            _("Graph of the workflow"),
            workflow_mermaid(obj),
            legend,
            _("the initial step"),
            _("a dotted arrow is the transition a timeout takes"),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("initial_step").prefetch_related("integrators")

    def save_model(self, request: HttpRequest, obj: Workflow, form: forms.ModelForm, change: bool) -> None:
        pass  # saved with its steps and transitions, by workflow_save in save_related

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        by_prefix = {formset.prefix: formset for formset in formsets}
        steps, transitions = by_prefix["steps"], by_prefix["transitions"]
        steps.save(commit=False)  # builds the instances, and the lists the change message reads
        transitions.save(commit=False)
        try:
            saved = workflow_save(
                workflow=form.instance,
                integrators=form.cleaned_data["integrators"],
                steps=[StepDraft(f.instance, f.cleaned_data["initial"], f.prefix) for f in _kept_forms(steps)],
                transitions=[
                    TransitionDraft(f.instance, f.cleaned_data["source"], f.cleaned_data["target"], f.prefix)
                    for f in _kept_forms(transitions)
                ],
                deleted_steps=steps.deleted_objects,
                deleted_transitions=transitions.deleted_objects,
            )
        except WorkflowRefused as exc:
            setattr(request, _FINDINGS, exc.findings)  # ServiceAdmin shows the form again; the rows, these
            raise
        setattr(request, _SAVED, saved)

    def message_user(self, request: HttpRequest, message: str, level: int = messages.INFO, *args, **kwargs) -> None:
        # The one message of a save says what integrators get, in place of "changed successfully".
        saved: WorkflowSaved | None = getattr(request, _SAVED, None)
        if saved is not None and level == messages.SUCCESS:
            setattr(request, _SAVED, None)
            message, level = self._saved_message(saved)
        super().message_user(request, message, level, *args, **kwargs)

    @staticmethod
    def _saved_message(saved: WorkflowSaved) -> tuple[str, int]:
        name = {"name": saved.workflow.name}
        if saved.problems:
            problems = " ".join(f.message for f in saved.problems)
            text = _("“%(name)s” was saved as a draft, not offered to integrators until it passes the checks:") % name
            return f"{text} {problems}", messages.WARNING
        if saved.workflow.draft:
            return _("“%(name)s” passes the checks and was saved as a draft: untick “Draft” to offer it.") % (
                name
            ), messages.SUCCESS
        return _("“%(name)s” passes the checks and was saved: it is offered to integrators.") % name, messages.SUCCESS
