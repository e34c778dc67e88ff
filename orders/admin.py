"""The support console's order page: the order's timeline (orders/timeline.py) and the buttons
support staff act with (move it, force it, add a note, retry a delivery, resend its events,
retry a failed command). Every button posts to a view here that calls the same service the API
uses, recorded as done by that staff user, and reports its result in one message.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from commands.models import Command
from commands.services import command_retry
from fulfillment.graph import workflow_graph
from fulfillment.models import Step
from getitdone import limits
from getitdone.admin import ReadOnly, ServiceAdmin, pretty_json
from getitdone.errors import DomainError
from orders.models import Issue, IssueFile, StatusChange
from orders.services import Actor, issue_add_note, issue_change_status, issue_update_details
from orders.timeline import actor_names, describe_actor, issue_timeline
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.services import delivery_retry, events_resend


class LevelFilter(admin.SimpleListFilter):
    """Children share their root's client_issue_id: "root orders only" leaves one row per order."""

    title = gettext_lazy("level")
    parameter_name = "level"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("root", _("Root orders only")), ("child", _("Children only"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Issue]) -> QuerySet[Issue]:
        if self.value() == "root":
            return queryset.filter(parent__isnull=True)
        if self.value() == "child":
            return queryset.filter(parent__isnull=False)
        return queryset


class StepFilter(admin.RelatedFieldListFilter):
    """Steps by name with their workflow: two workflows may both have a "Recibido"."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[int, str]]:
        steps = Step.objects.select_related("workflow").order_by("workflow__code", "position", "id")
        return [(step.pk, f"{step.workflow.code}: {step.name}") for step in steps]


class MoveForm(forms.Form):
    prefix = "move"  # four forms on one page: each its own ids, so each label names its own field
    step = forms.TypedChoiceField(label=gettext_lazy("Move to"), coerce=int)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=limits.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def __init__(self, *args: Any, issue: Issue, graph: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the transitions that leave the issue's step: the page offers these, the view takes these.
        self.fields["step"].choices = [
            (to_step, f"{graph.step(to_step)['name']} ({t['name']})")
            for (from_step, to_step), t in graph.transitions.items()
            if from_step == issue.step_id
        ]


class ForceForm(forms.Form):
    prefix = "force"
    step = forms.TypedChoiceField(label=gettext_lazy("Force to"), coerce=int)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=limits.TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, issue: Issue, graph: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = [("", "---------")] + [  # no step chosen until staff choose one
            (step_id, step["name"]) for step_id, step in graph.steps.items() if step_id != issue.step_id
        ]


class NoteForm(forms.Form):
    prefix = "note"
    text = forms.CharField(
        label=gettext_lazy("Note"), max_length=limits.TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class ResendForm(forms.Form):
    prefix = "resend"
    endpoint = forms.ModelChoiceField(label=gettext_lazy("Endpoint"), queryset=WebhookEndpoint.objects.none())


def _badge(text: str, kind: str) -> str:
    return format_html('<span class="gid-badge gid-{}">{}</span>', kind, text)


@admin.register(Issue)
class IssueAdmin(ServiceAdmin):
    list_display = ("client_issue_id", "id", "level", "integrator", "workflow", "step", "category", "updated_at")
    list_display_links = ("client_issue_id", "id")
    list_filter = (
        LevelFilter, "integrator", "workflow", ("step", StepFilter), "step__category", "updated_at",
    )  # fmt: skip
    search_fields = (
        "client_issue_id__startswith", "details__customer__name__icontains", "details__customer__phone__icontains",
    )  # fmt: skip
    search_help_text = gettext_lazy(
        "The integrator's order id (exact or its beginning), or the customer's name or phone."
    )
    list_select_related = ("integrator", "workflow", "step", "parent")
    show_full_result_count = False  # a second COUNT over the whole table on every search
    readonly_fields = (
        "integrator", "client_issue_id", "workflow", "step", "parent", "version", "created_at", "updated_at",
    )  # fmt: skip
    fieldsets = (
        (gettext_lazy("Edit"), {"fields": ("webhook_url", "details")}),
        (gettext_lazy("Record"), {"fields": readonly_fields, "classes": ("collapse",)}),
    )
    change_form_template = "admin/orders/issue/change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    class Media:
        css = {"all": ("getitdone/admin/console.css",)}
        js = ("getitdone/admin/confirm.js",)

    def get_fieldsets(self, request: HttpRequest, obj: Issue | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # Staff who may only look read the details indented, not as the editor's compact text.
        (edit, edit_options), *rest = fieldsets
        fields = ["details_json" if f == "details" else f for f in edit_options["fields"]]
        return [(edit, {**edit_options, "fields": fields}), *rest]

    def get_readonly_fields(self, request: HttpRequest, obj: Issue | None = None) -> Any:
        readonly = super().get_readonly_fields(request, obj)
        return readonly if self.has_change_permission(request, obj) else (*readonly, "details_json")

    @admin.display(description=gettext_lazy("details"))
    def details_json(self, obj: Issue) -> SafeString:
        return pretty_json(obj.details)

    @admin.display(description=gettext_lazy("level"), ordering="parent")
    def level(self, obj: Issue) -> str:
        if obj.parent_id is None:
            return _badge(_("root"), "root")
        url = reverse("admin:orders_issue_change", args=[obj.parent_id])
        return format_html('{} <a href="{}">#{}</a>', _badge(_("child of"), "child"), url, obj.parent_id)

    @admin.display(description=gettext_lazy("category"), ordering="step__category")
    def category(self, obj: Issue) -> str:
        return obj.step.get_category_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issues come from integrators; staff act on them

    def has_delete_permission(self, request: HttpRequest, obj: Issue | None = None) -> bool:
        return False  # a domain record: its history and events would lose their subject

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Issue], search_term: str
    ) -> tuple[QuerySet[Issue], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isascii() and term.isdigit() and len(term) <= 18:
            results |= queryset.filter(pk=int(term))  # our own id, as the API and events show it
        return results, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Issue, form: Any, change: bool) -> None:
        # Never obj.save(): the service bumps `version` and publishes issue.updated, and refuses
        # an unsafe URL (ServiceAdmin shows that on the field). It re-reads the issue under its
        # lock, so `obj`, which the form has already changed in memory, only names it.
        issue_update_details(
            issue=obj,
            details=form.cleaned_data["details"] or {},  # an emptied box: no details
            webhook_url=form.cleaned_data["webhook_url"],
            actor=Actor.staff(request.user),
        )

    # --- The order page ---------------------------------------------------------------------

    def get_urls(self) -> list:
        def view(function: Any, name: str) -> Any:
            return self.admin_site.admin_view(require_POST(function)), f"orders_issue_{name}"

        patterns = [
            ("<path:object_id>/move/", self.move_view, "move"),
            ("<path:object_id>/force/", self.force_view, "force"),
            ("<path:object_id>/note/", self.note_view, "note"),
            ("<path:object_id>/resend/", self.resend_view, "resend"),
            ("<path:object_id>/deliveries/<int:delivery_id>/retry/", self.retry_delivery_view, "retry_delivery"),
            ("<path:object_id>/commands/<int:command_pk>/retry/", self.retry_command_view, "retry_command"),
        ]
        urls = []
        for route, function, name in patterns:
            wrapped, full_name = view(function, name)
            urls.append(path(route, wrapped, name=full_name))
        download = self.admin_site.admin_view(self.download_view)
        urls.append(path("<path:object_id>/files/<int:file_id>/", download, name="orders_issue_file"))
        return urls + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        issue = self.get_object(request, object_id)
        if issue is not None:
            extra_context = {**(extra_context or {}), **self._page_context(request, issue)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _page_context(self, request: HttpRequest, issue: Issue) -> dict[str, Any]:
        graph = workflow_graph(issue.workflow)
        move = MoveForm(issue=issue, graph=graph)
        context: dict[str, Any] = {
            "timeline": issue_timeline(issue),
            "current_step": graph.step(issue.step_id),
            "move_form": move if move.fields["step"].choices else None,
            "note_form": NoteForm(),
            "can_act": self.has_change_permission(request, issue),
        }
        if request.user.is_superuser:
            context["force_form"] = ForceForm(issue=issue, graph=graph)
        endpoints = WebhookEndpoint.objects.filter(integrator_id=issue.integrator_id).order_by("url")
        if endpoints:
            resend = ResendForm()
            resend.fields["endpoint"].queryset = endpoints
            context["resend_form"] = resend
        return context

    def _acting_on(self, request: HttpRequest, object_id: str) -> Issue:
        issue = self.get_object(request, object_id)
        if issue is None:
            raise PermissionDenied
        if not self.has_change_permission(request, issue):
            raise PermissionDenied
        return issue

    def _back(self, issue: Issue, anchor: str = "timeline") -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:orders_issue_change", args=[issue.pk]) + f"#{anchor}")

    def _refused(self, request: HttpRequest, issue: Issue, exc: DomainError) -> HttpResponseRedirect:
        self.message_user(request, _("Not done: %(reason)s") % {"reason": exc.message}, messages.ERROR)
        return self._back(issue, "actions")

    def _invalid(self, request: HttpRequest, issue: Issue, form: forms.Form) -> HttpResponseRedirect:
        problems = "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items())
        self.message_user(request, _("Not done: %(reason)s") % {"reason": problems}, messages.ERROR)
        return self._back(issue, "actions")

    def move_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        issue = self._acting_on(request, object_id)
        form = MoveForm(request.POST, issue=issue, graph=workflow_graph(issue.workflow))
        if not form.is_valid():
            return self._invalid(request, issue, form)
        return self._change_status(request, issue, form.cleaned_data["step"], form.cleaned_data["note"], force=False)

    def force_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        issue = self._acting_on(request, object_id)
        if not request.user.is_superuser:
            raise PermissionDenied
        form = ForceForm(request.POST, issue=issue, graph=workflow_graph(issue.workflow))
        if not form.is_valid():
            return self._invalid(request, issue, form)
        return self._change_status(request, issue, form.cleaned_data["step"], form.cleaned_data["reason"], force=True)

    def _change_status(
        self, request: HttpRequest, issue: Issue, step_id: int, note: str, *, force: bool
    ) -> HttpResponse:
        graph = workflow_graph(issue.workflow)
        target = graph.step(step_id)
        forced = force and graph.transition(issue.step_id, step_id) is None
        try:
            result = issue_change_status(
                issue=issue, status=target["value"], actor=Actor.staff(request.user), note=note, force=force
            )
        except DomainError as exc:
            return self._refused(request, issue, exc)
        if not result.changed:
            self.message_user(request, _("Already in %(step)s: nothing changed.") % {"step": target["name"]})
            return self._back(issue)
        text = (_("Forced to %(step)s.") if forced else _("Moved to %(step)s.")) % {"step": target["name"]}
        if result.warnings:
            not_moved = ", ".join(w["value"] for w in result.warnings)
            text += " " + _("Children not moved: %(children)s.") % {"children": not_moved}
            self.message_user(request, text, messages.WARNING)
        else:
            self.message_user(request, text, messages.SUCCESS)
        return self._back(issue)

    def note_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        issue = self._acting_on(request, object_id)
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self._invalid(request, issue, form)
        try:
            issue_add_note(issue=issue, text=form.cleaned_data["text"], actor=Actor.staff(request.user))
        except DomainError as exc:
            return self._refused(request, issue, exc)
        self.message_user(request, _("Note added."), messages.SUCCESS)
        return self._back(issue)

    def resend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        issue = self._acting_on(request, object_id)
        form = ResendForm(request.POST)
        form.fields["endpoint"].queryset = WebhookEndpoint.objects.filter(integrator_id=issue.integrator_id)
        if not form.is_valid():
            return self._invalid(request, issue, form)
        endpoint = form.cleaned_data["endpoint"]
        try:
            queued = events_resend(events=issue.events.order_by("created_at", "id"), endpoint=endpoint)
        except DomainError as exc:
            return self._refused(request, issue, exc)
        text = ngettext("%(count)d event queued to %(url)s.", "%(count)d events queued to %(url)s.", queued) % {
            "count": queued,
            "url": endpoint.url,
        }
        if queued and not endpoint.is_active:
            text += " " + _("The endpoint is disabled: they wait until it is enabled.")
        self.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)
        return self._back(issue)

    def retry_delivery_view(self, request: HttpRequest, object_id: str, delivery_id: int) -> HttpResponse:
        issue = self._acting_on(request, object_id)
        delivery = get_object_or_404(Delivery.objects.select_related("endpoint"), pk=delivery_id, event__issue=issue)
        try:
            delivery_retry(delivery=delivery)
        except DomainError as exc:
            return self._refused(request, issue, exc)
        self.message_user(
            request, _("Delivery %(id)s to %(url)s queued to be sent now.") % {"id": delivery.pk, "url": delivery.url},
            messages.SUCCESS,
        )  # fmt: skip
        return self._back(issue, f"event-{delivery.event_id}")

    def retry_command_view(self, request: HttpRequest, object_id: str, command_pk: int) -> HttpResponse:
        issue = self._acting_on(request, object_id)
        if issue.parent_id is not None:
            raise PermissionDenied  # commands act on the root: its page lists them
        command = get_object_or_404(
            Command, pk=command_pk, integrator_id=issue.integrator_id, issue_key=issue.client_issue_id
        )
        try:
            command_retry(command=command)
        except DomainError as exc:
            return self._refused(request, issue, exc)
        self.message_user(
            request, _("Command %(id)s queued to run again.") % {"id": command.command_id}, messages.SUCCESS
        )
        return self._back(issue, f"command-{command.pk}")

    def download_view(self, request: HttpRequest, object_id: str, file_id: int) -> HttpResponse:
        issue = self.get_object(request, object_id)
        if issue is None or not self.has_view_permission(request, issue):
            raise PermissionDenied
        file = get_object_or_404(IssueFile, pk=file_id, issue=issue)
        return FileResponse(
            file.file.open("rb"), as_attachment=True, filename=file.name, content_type=file.content_type
        )


class StatusChangeList(ChangeList):
    """Names who acted, for the whole page at once (one query per kind of actor)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        names = actor_names(self.result_list)
        for change in self.result_list:
            change.actor_name = describe_actor(change.actor_type, change.actor_id, names)


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnly, admin.ModelAdmin):  # history: written by the services only
    list_display = ("issue", "from_step", "to_step", "actor", "forced", "note", "at")
    list_filter = ("actor_type", "forced", "at")
    search_fields = ("=issue__client_issue_id",)
    list_select_related = ("issue", "from_step", "to_step")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return StatusChangeList

    @admin.display(description=gettext_lazy("by"), ordering="actor_type")
    def actor(self, obj: StatusChange) -> str:
        return getattr(obj, "actor_name", None) or describe_actor(obj.actor_type, obj.actor_id, actor_names([obj]))
