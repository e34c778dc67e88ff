"""Admin for support staff: endpoint health and the delivery log, with the actions they need."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from getitdone.admin import ReadOnly, ServiceAdmin
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.services import (
    delivery_retry,
    webhook_create,
    webhook_delete,
    webhook_disable,
    webhook_enable,
    webhook_rotate_secret,
    webhook_send_test,
    webhook_update,
)


@admin.register(Event)
class EventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "type", "integrator", "sequence", "issue", "created_at")
    list_filter = ("type", "integrator", "created_at")
    search_fields = ("=id", "=issue__client_issue_id")
    list_select_related = ("integrator", "issue")
    readonly_fields = ("id", "integrator", "type", "sequence", "api_version", "issue", "data", "created_at")


class WebhookEndpointForm(forms.ModelForm):
    def clean_event_types(self) -> list:
        # The shape only, as the API's serializer checks it; which types exist, the service says.
        event_types = self.cleaned_data["event_types"]
        if event_types is None:
            return []
        if not isinstance(event_types, list) or not all(isinstance(t, str) for t in event_types):
            raise forms.ValidationError('A JSON list of event types, e.g. ["issue.created"]; [] for every type.')
        return event_types


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdmin):
    """Saved and deleted through the services, validated as in the API. The owner is chosen once;
    is_active changes only by the Enable and Disable actions (they pause and resume the
    deliveries); the secrets are never shown, only whether one is set."""

    form = WebhookEndpointForm
    list_display = (
        "url", "integrator", "is_active", "last_success_at", "last_failure_at", "failure_streak", "disabled_reason",
    )  # fmt: skip
    list_filter = ("is_active", "integrator")
    search_fields = ("url", "description")
    list_select_related = ("integrator",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("enable", "disable", "rotate_secret", "send_test")  # and delete_selected, see delete_queryset

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        if obj is None:  # the secret is generated; rotate it to change it
            return ["integrator", "url", "description", "event_types"]
        return [
            "integrator", "url", "description", "event_types", "is_active", "has_secret", "has_previous_secret",
            "previous_secret_expires_at", "disabled_reason", "disabled_at", "last_success_at", "last_failure_at",
            "failing_since", "failure_streak", "created_at", "updated_at",
        ]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        if obj is None:
            return []
        editable = ("url", "description", "event_types")
        return [f for f in self.get_fields(request, obj) if f not in editable]

    @admin.display(description="secret set", boolean=True)
    def has_secret(self, obj: WebhookEndpoint) -> bool:
        return bool(obj.secret)

    @admin.display(description="previous secret set", boolean=True)
    def has_previous_secret(self, obj: WebhookEndpoint) -> bool:
        return bool(obj.previous_secret)

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

    @admin.action(description="Enable (resumes pending deliveries)")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset.filter(is_active=False):
            webhook_enable(endpoint=endpoint)
        self.message_user(request, "Enabled.")

    @admin.action(description="Disable")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset.filter(is_active=True):
            webhook_disable(endpoint=endpoint, reason=f"disabled by staff ({request.user})")
        self.message_user(request, "Disabled.")

    @admin.action(description="Rotate secret (the old one signs for 24 h more)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_rotate_secret(endpoint=endpoint)
        self.message_user(request, f"Rotated {queryset.count()} secret(s).")

    @admin.action(description="Send a test event")
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_send_test(endpoint=endpoint)
        self.message_user(request, f"Queued {queryset.count()} test event(s).")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "at", "http_status", "duration_ms", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "event", "url", "status", "readiness", "attempt_count", "next_attempt_at", "created_at")
    list_filter = ("status", "readiness", "integrator", "endpoint", "created_at")
    search_fields = ("=event__id", "url")
    list_select_related = ("event",)
    readonly_fields = (
        "event", "integrator", "endpoint", "url", "status", "readiness", "attempt_count", "next_attempt_at",
        "locked_until", "created_at", "updated_at",
    )  # fmt: skip
    inlines = (DeliveryAttemptInline,)
    actions = ("retry_now",)

    @admin.action(description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            delivery_retry(delivery=delivery)
        self.message_user(request, f"{queryset.count()} deliveries queued.", messages.SUCCESS)
