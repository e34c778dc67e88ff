"""Admin for support staff: endpoint health and the delivery log, with the actions they need.

Every write goes through a service (tests/test_admin_services.py checks it): the endpoint form
saves through webhook_create/webhook_update, and each action calls one service per row, then
reports what it did in one message.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from getitdone.admin import ReadOnly, SecretRevealAdmin, ServiceAdmin, pretty_json
from getitdone.errors import DomainError
from webhooks import admin_display as display
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.services import (
    delivery_retry,
    webhook_create,
    webhook_delete,
    webhook_disable,
    webhook_enable,
    webhook_recover,
    webhook_rotate_secret,
    webhook_send_test,
    webhook_update,
)

_CSS = {"all": ("getitdone/admin/console.css", "webhooks/admin/webhooks.css")}


# --- Events --------------------------------------------------------------------------------------


class DeliveryColumns:
    """A delivery's columns, the same in the delivery list and on an event's page."""

    @admin.display(description=gettext_lazy("endpoint"))
    def endpoint_shown(self, obj: Delivery) -> SafeString:
        return display.endpoint_link(obj)

    @admin.display(description=gettext_lazy("status"))
    def status_shown(self, obj: Delivery) -> SafeString:
        return display.delivery_status_badge(obj)

    @admin.display(description=gettext_lazy("attempts"))
    def attempts_shown(self, obj: Delivery) -> SafeString | str:
        return display.delivery_attempts_summary(obj)

    @admin.display(description=gettext_lazy("next attempt"))
    def next_attempt(self, obj: Delivery) -> str:
        return display.next_attempt(obj) or self.get_empty_value_display()  # type: ignore[attr-defined]


class EventDeliveryInline(DeliveryColumns, admin.TabularInline):
    model = Delivery
    fk_name = "event"
    extra = 0
    can_delete = False
    verbose_name = gettext_lazy("delivery")
    verbose_name_plural = gettext_lazy("deliveries of this event")
    fields = ("delivery", "endpoint_shown", "status_shown", "attempts_shown", "next_attempt")
    readonly_fields = fields
    classes = ("gid-plain-rows",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("endpoint").order_by("id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("delivery"))
    def delivery(self, obj: Delivery) -> SafeString:
        return format_html('<a href="{}">#{}</a>', reverse("admin:webhooks_delivery_change", args=[obj.pk]), obj.pk)


@admin.register(Event)
class EventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "type", "integrator", "order", "sequence", "created_at")
    list_filter = ("type", "integrator", "created_at")
    search_fields = ("=id", "=issue__client_issue_id")
    list_select_related = ("integrator", "issue")
    fields = ("id", "type", "integrator", "order", "sequence", "api_version", "created_at", "trace_id", "event_data")
    readonly_fields = fields
    inlines = (EventDeliveryInline,)

    class Media:
        css = _CSS

    @admin.display(description=gettext_lazy("order"))
    def order(self, obj: Event) -> SafeString | None:
        return display.order_link(obj)

    @admin.display(description=gettext_lazy("trace id"))
    def trace_id(self, obj: Event) -> str:
        """The W3C trace id of the call that caused it, as its deliveries' `traceparent` carry it."""
        return obj.trace_id or "—"

    @admin.display(description=gettext_lazy("data"))
    def event_data(self, obj: Event) -> SafeString:
        return pretty_json(obj.data)


# --- Endpoints -----------------------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm):
    def clean_event_types(self) -> list:
        # The shape only, as the API's serializer checks it; which types exist, the service says.
        event_types = self.cleaned_data["event_types"]
        if event_types is None:
            return []
        if not isinstance(event_types, list) or not all(isinstance(t, str) for t in event_types):
            raise forms.ValidationError(_('A JSON list of event types, e.g. ["issue.created"]; [] for every type.'))
        return event_types


class RecoverForm(forms.Form):
    since = forms.DateTimeField(
        label=gettext_lazy("Since"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("UTC, within the 30 days events are kept"),
    )  # fmt: skip
    until = forms.DateTimeField(
        label=gettext_lazy("Until"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("UTC; empty: now"),
    )  # fmt: skip
    status = forms.ChoiceField(
        label=gettext_lazy("Which events"),
        choices=[
            ("failed", gettext_lazy("Those whose delivery to the endpoint failed")),
            ("all", gettext_lazy("Every event the endpoint subscribes to")),
        ],
        initial="failed",
        widget=forms.RadioSelect,
    )


def _urls(endpoints: list[WebhookEndpoint]) -> str:
    return ", ".join(e.url for e in endpoints)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SecretRevealAdmin, ServiceAdmin):
    """Saved and deleted through the services, validated as in the API. The owner is chosen once;
    is_active changes only by the Enable and Disable actions (they pause and resume the
    deliveries); the secrets are hidden until revealed, and each reveal is recorded."""

    form = WebhookEndpointForm
    list_display = (
        "url", "integrator", "is_active", "last_success_at", "last_failure_at", "failure_streak", "disabled_reason",
    )  # fmt: skip
    list_filter = ("is_active", "integrator")
    search_fields = ("url", "description")
    list_select_related = ("integrator",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("enable", "disable", "rotate_secret", "send_test", "recover")  # and delete_selected, see delete_queryset
    revealable_secrets = {"secret": gettext_lazy("signing secret"), "previous_secret": gettext_lazy("previous secret")}

    class Media:
        css = _CSS

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        if obj is None:  # the secret is generated; rotate it to change it
            return ["integrator", "url", "description", "event_types"]
        return [
            "integrator", "url", "description", "event_types", "is_active", "signing_secret", "previous_secret_shown",
            "previous_secret_expires_at", "disabled_reason", "disabled_at", "last_success_at", "last_failure_at",
            "failing_since", "failure_streak", "created_at", "updated_at",
        ]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        if obj is None:
            return []
        editable = ("url", "description", "event_types")
        return [f for f in self.get_fields(request, obj) if f not in editable]

    @admin.display(description=gettext_lazy("signing secret"))
    def signing_secret(self, obj: WebhookEndpoint) -> SafeString | str:
        return self.secret_field(obj, "secret")

    @admin.display(description=gettext_lazy("previous secret"))
    def previous_secret_shown(self, obj: WebhookEndpoint) -> SafeString | str:
        return self.secret_field(obj, "previous_secret")

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        # Never obj.save(): the services validate (a refusal shows on its field, see ServiceAdmin).
        if change:
            # Only what was edited, as a PATCH: an untouched URL is not checked again.
            changes = {f: form.cleaned_data[f] for f in ("url", "description", "event_types") if f in form.changed_data}
            if changes:
                webhook_update(endpoint=obj, **changes)
            return
        endpoint = webhook_create(
            integrator=form.cleaned_data["integrator"],
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            event_types=form.cleaned_data["event_types"],
        )
        obj.pk = endpoint.pk  # the admin goes on with its own instance: its log entry, its redirect
        obj.refresh_from_db()
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:  # the bulk "delete selected" action
            webhook_delete(endpoint=endpoint)

    def get_deleted_objects(self, objs, request: HttpRequest):
        # The deliveries go with their endpoint, in webhook_delete: deleting the endpoint needs
        # no permission to delete deliveries one by one (which staff do not have).
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(Delivery._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    @admin.action(permissions=["change"], description=gettext_lazy("Enable (resumes pending deliveries)"))
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        done = list(queryset.filter(is_active=False))
        for endpoint in done:
            webhook_enable(endpoint=endpoint)
            self.log_change(request, endpoint, _("Enabled."))
        if not done:
            self.message_user(request, _("Nothing changed: the selected endpoints are enabled already."))
            return
        text = ngettext("Enabled %(urls)s.", "Enabled %(count)d endpoints: %(urls)s.", len(done))
        self.message_user(request, text % {"count": len(done), "urls": _urls(done)}, messages.SUCCESS)

    @admin.action(permissions=["change"], description=gettext_lazy("Disable (pauses pending deliveries)"))
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> TemplateResponse | None:
        active = list(queryset.filter(is_active=True))
        if not active:
            self.message_user(request, _("Nothing changed: the selected endpoints are disabled already."))
            return None
        if request.POST.get("post") != "yes":  # asked first, as Django's delete confirmation does
            context = {
                **self.admin_site.each_context(request),
                "title": _("Disable webhook endpoints"),
                "opts": self.opts,
                "endpoints": active,
                "queryset": queryset,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "action": "disable",
                "button": _("Yes, disable"),
                "media": self.media,
            }
            return TemplateResponse(request, "admin/webhooks/webhookendpoint/disable_confirmation.html", context)
        for endpoint in active:
            webhook_disable(endpoint=endpoint, reason=f"disabled by staff ({request.user})")
            self.log_change(request, endpoint, _("Disabled."))
        text = ngettext("Disabled %(urls)s.", "Disabled %(count)d endpoints: %(urls)s.", len(active))
        text += " " + _("Their pending deliveries wait until they are enabled again.")
        self.message_user(request, text % {"count": len(active), "urls": _urls(active)}, messages.SUCCESS)
        return None

    @admin.action(
        permissions=["change"], description=gettext_lazy("Rotate secret (shown once; the old one signs for 24 h more)")
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> TemplateResponse:
        rotated = []
        with transaction.atomic():  # all or none: each new secret is shown on this page only
            for endpoint in queryset:
                rotated.append((endpoint.url, webhook_rotate_secret(endpoint=endpoint).secret))
                self.log_change(request, endpoint, _("Rotated the signing secret."))
        secrets = format_html_join("; ", '{}: <code class="gid-secret">{}</code>', rotated)
        text = ngettext(
            "New signing secret, shown only now (copy it for the partner; the old one signs for 24 h more): %(new)s",
            "New signing secrets of %(count)d endpoints, shown only now (copy them for the partner; the old ones "
            "sign for 24 h more): %(new)s",
            len(rotated),
        )
        shown = mark_safe(escape(text) % {"count": len(rotated), "new": secrets})  # the secrets escaped above
        self.message_user(request, shown, messages.WARNING)
        # The page that shows the message, now: a redirect would keep the secret in the message
        # store until the next page, and show it wherever that is.
        context = {**self.admin_site.each_context(request), "title": _("Secrets rotated"), "opts": self.opts}
        return TemplateResponse(request, "admin/webhooks/webhookendpoint/secrets_rotated.html", context)

    @admin.action(permissions=["change"], description=gettext_lazy("Send a test event"))
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        endpoints = list(queryset)
        for endpoint in endpoints:
            webhook_send_test(endpoint=endpoint)
        text = ngettext(
            "Queued a test event to %(urls)s.", "Queued a test event to %(count)d endpoints: %(urls)s.", len(endpoints)
        )
        self.message_user(request, text % {"count": len(endpoints), "urls": _urls(endpoints)}, messages.SUCCESS)

    @admin.action(
        permissions=["change"], description=gettext_lazy("Recover since… (send a time window's events again)")
    )
    def recover(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> TemplateResponse | None:
        endpoints = list(queryset)
        form = RecoverForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            try:
                with transaction.atomic():  # all or none, as one window for every endpoint selected
                    queued = sum(webhook_recover(endpoint=e, **form.cleaned_data) for e in endpoints)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                for endpoint in endpoints:
                    self.log_change(request, endpoint, _("Recovered events since %(since)s.") % form.cleaned_data)
                text = ngettext(
                    "%(queued)d event queued again to %(urls)s.", "%(queued)d events queued again to %(urls)s.", queued
                )
                self.message_user(request, text % {"queued": queued, "urls": _urls(endpoints)}, messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send events again"),
            "opts": self.opts,
            "endpoints": endpoints,
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "recover",
            "button": _("Send them again"),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/webhooks/webhookendpoint/recover_form.html", context)


# --- Deliveries ----------------------------------------------------------------------------------


class DeliveryStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("pending", _("Pending")),
            ("pending-ready", _("Pending (ready)")),
            ("pending-waiting", _("Pending (waiting for retry)")),
            ("pending-paused", _("Pending (paused)")),
            ("succeeded", _("Succeeded")),
            ("failed", _("Failed")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
        value = self.value()
        if not value:
            return queryset
        status, _dash, readiness = value.partition("-")
        queryset = queryset.filter(status=status)
        return queryset.filter(readiness=readiness) if readiness else queryset


class EndpointFilter(admin.RelatedFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = _("The order's own URL")  # deliveries with no endpoint


class EventTypeFilter(admin.SimpleListFilter):
    title = gettext_lazy("event type")
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(t, t) for t in EVENT_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
        return queryset.filter(event__type=self.value()) if self.value() else queryset


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "kind", "at", "http_status", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields
    classes = ("gid-plain-rows",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("kind"))
    def kind(self, obj: DeliveryAttempt) -> str:
        return _("manual") if obj.manual else _("automatic")

    @admin.display(description=gettext_lazy("response (first 1 KiB)"))
    def response_excerpt(self, obj: DeliveryAttempt) -> SafeString | str:
        return format_html('<pre class="gid-response">{}</pre>', obj.response_body) if obj.response_body else ""


@admin.register(Delivery)
class DeliveryAdmin(DeliveryColumns, ReadOnly, admin.ModelAdmin):
    list_display = (
        "id", "order", "endpoint_shown", "event_type", "status_shown", "attempts_shown", "next_attempt_column",
    )  # fmt: skip
    list_display_links = ("id",)
    list_filter = (DeliveryStatusFilter, ("endpoint", EndpointFilter), "integrator", EventTypeFilter)
    search_fields = ("=event__id", "=event__issue__client_issue_id", "url")
    search_help_text = gettext_lazy("An event id, an order's client_issue_id, or part of a URL.")
    list_select_related = ("event", "event__issue", "endpoint")
    show_full_result_count = False  # one COUNT of a big table per page is enough
    fieldsets = (
        (None, {"fields": ("status_shown", "attempts_shown", "next_attempt", "endpoint", "url", "integrator")}),
        (gettext_lazy("Event"), {"fields": ("event", "order", "event_type", "event_data")}),
        (gettext_lazy("Record"), {"fields": ("created_at", "updated_at", "locked_until")}),
    )
    readonly_fields = (
        "status_shown", "attempts_shown", "next_attempt", "endpoint", "url", "integrator", "event", "order",
        "event_type", "event_data", "created_at", "updated_at", "locked_until",
    )  # fmt: skip
    inlines = (DeliveryAttemptInline,)
    actions = ("retry_now",)

    class Media:
        css = _CSS

    @admin.display(description=gettext_lazy("order"))
    def order(self, obj: Delivery) -> SafeString | None:
        return display.order_link(obj.event)

    @admin.display(description=gettext_lazy("event type"))
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.display(description=gettext_lazy("next attempt"))
    def next_attempt_column(self, obj: Delivery) -> SafeString | None:
        """The date above the time, for a narrow column."""
        when = display.next_attempt(obj)
        if when is None:
            return None
        day, _space, time = when.partition(" ")
        return format_html("{}<br>{}", day, time)

    @admin.display(description=gettext_lazy("event data"))
    def event_data(self, obj: Delivery) -> SafeString:
        return pretty_json(obj.event.data)

    def get_urls(self) -> list:
        retry = self.admin_site.admin_view(require_POST(self.retry_view))
        return [path("<path:object_id>/retry/", retry, name="webhooks_delivery_retry"), *super().get_urls()]

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Retry now" button: the action, for this delivery."""
        delivery = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_act_permission(request, delivery):
            raise PermissionDenied
        self._retry(request, [delivery])
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))

    @admin.action(
        permissions=["act"],
        description=gettext_lazy("Retry now (an extra attempt: the automatic ones stay as they are)"),
    )
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        self._retry(request, list(queryset.select_related("endpoint")))

    def _retry(self, request: HttpRequest, deliveries: list[Delivery]) -> None:
        queued, refused = [], []
        for delivery in deliveries:
            try:
                delivery_retry(delivery=delivery)
            except DomainError as exc:
                refused.append(exc.message)
            else:
                queued.append(f"#{delivery.pk}")
        text = ""
        if queued:
            text = ngettext(
                "Queued a manual attempt of delivery %(ids)s: it is sent within seconds, and its automatic "
                "attempts stay as they were.",
                "Queued a manual attempt of %(count)d deliveries (%(ids)s): they are sent within seconds, and "
                "their automatic attempts stay as they were.",
                len(queued),
            ) % {"count": len(queued), "ids": ", ".join(queued)}
        if refused:
            text = " ".join([text, _("Not retried:"), *refused]).strip()
        level = messages.ERROR if not queued else messages.WARNING if refused else messages.SUCCESS
        self.message_user(request, text, level)
