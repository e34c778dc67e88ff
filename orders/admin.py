"""Admin for support staff: find an order, see its children, history, events and files, edit
its details and webhook URL, and move it to a step: through the services the API uses, recorded
as done by that staff user, so each change publishes its event."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from fulfillment.models import Step
from getitdone import limits
from getitdone.admin import ReadOnly, ServiceAdmin
from getitdone.errors import DomainError
from orders.models import Issue, IssueFile, StatusChange
from orders.services import Actor, issue_change_status, issue_update_details
from webhooks.models import Event


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ChildInline(ReadOnlyInline):
    model = Issue
    fk_name = "parent"
    verbose_name_plural = "children"
    fields = ("id", "step", "version", "updated_at")
    readonly_fields = fields


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    verbose_name_plural = "history"
    fields = ("at", "from_step", "to_step", "transition", "actor_type", "actor_id", "note")
    readonly_fields = fields
    show_change_link = False


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("id", "type", "sequence", "created_at")
    readonly_fields = fields


class IssueFileInline(ReadOnlyInline):
    model = IssueFile
    verbose_name_plural = "files"
    fields = ("name", "kind", "content_type", "size", "sha256", "created_at")
    readonly_fields = fields
    show_change_link = False


class MoveToStepForm(forms.Form):
    step = forms.ModelChoiceField(queryset=Step.objects.none(), help_text="Issues move only along a transition.")
    note = forms.CharField(required=False, max_length=limits.TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(Issue)
class IssueAdmin(ServiceAdmin):
    list_display = ("client_issue_id", "id", "integrator", "workflow", "step", "category", "parent", "updated_at")
    list_filter = ("integrator", "workflow", "step__category", "step", "created_at", "updated_at")
    search_fields = ("=client_issue_id", "=id")
    list_select_related = ("integrator", "workflow", "step", "parent")
    date_hierarchy = "created_at"
    readonly_fields = (
        "integrator", "client_issue_id", "workflow", "step", "parent", "version", "created_at", "updated_at",
    )  # fmt: skip
    fields = (*readonly_fields, "webhook_url", "details")
    inlines = (ChildInline, StatusChangeInline, IssueFileInline, EventInline)
    actions = ("move_to_step",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="category", ordering="step__category")
    def category(self, obj: Issue) -> str:
        return obj.step.category

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issues come from integrators; staff act on them

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a domain record: its history and events would lose their subject

    def save_model(self, request: HttpRequest, obj: Issue, form, change: bool) -> None:
        # Never obj.save(): the service bumps `version` and publishes issue.updated, and refuses
        # an unsafe URL (ServiceAdmin shows that on the field). It re-reads the issue under its
        # lock, so `obj`, which the form has already changed in memory, only names it.
        issue_update_details(
            issue=obj,
            details=form.cleaned_data["details"] or {},  # an emptied box: no details
            webhook_url=form.cleaned_data["webhook_url"],
            actor=Actor.staff(request.user),
        )

    @admin.action(description="Move to step…")
    def move_to_step(self, request: HttpRequest, queryset: QuerySet[Issue]) -> HttpResponse | None:
        form = MoveToStepForm(request.POST if "apply" in request.POST else None)
        form.fields["step"].queryset = Step.objects.filter(workflow__in=queryset.values("workflow")).select_related(
            "workflow"
        )
        if form.is_bound and form.is_valid():
            step, note = form.cleaned_data["step"], form.cleaned_data["note"]
            moved = 0
            for issue in queryset:
                try:
                    result = issue_change_status(
                        issue=issue, status=step.value, actor=Actor.staff(request.user), note=note
                    )
                except DomainError as exc:
                    self.message_user(request, f"{issue}: {exc.message}", messages.ERROR)
                    continue
                moved += int(result.changed)
                for warning in result.warnings:
                    self.message_user(request, f"{issue}: child {warning['value']}", messages.WARNING)
            self.message_user(request, f"{moved} issue(s) moved to {step.name}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Move issues to a step",
            "issues": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/issue/move_to_step.html", context)


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnly, admin.ModelAdmin):  # history: written by the services only
    list_display = ("issue", "from_step", "to_step", "actor_type", "actor_id", "at")
    list_filter = ("actor_type", "at")
    search_fields = ("=issue__client_issue_id",)
    list_select_related = ("issue", "from_step", "to_step")
