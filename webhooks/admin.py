"""Admin for support staff: endpoint health and the delivery log, with the actions they need."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.services import (
    delivery_retry,
    webhook_disable,
    webhook_enable,
    webhook_rotate_secret,
    webhook_send_test,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "integrator", "sequence", "issue", "created_at")
    list_filter = ("type", "integrator", "created_at")
    search_fields = ("=id", "=issue__client_issue_id")
    list_select_related = ("integrator", "issue")
    readonly_fields = ("id", "integrator", "type", "sequence", "api_version", "issue", "data", "created_at")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = (
        "url", "integrator", "is_active", "last_success_at", "last_failure_at", "failure_streak", "disabled_reason",
    )  # fmt: skip
    list_filter = ("is_active", "integrator")
    search_fields = ("url", "description")
    list_select_related = ("integrator",)
    # is_active only by the Enable and Disable actions: they pause and resume the deliveries.
    readonly_fields = (
        "is_active", "secret", "previous_secret_expires_at", "disabled_reason", "disabled_at", "last_success_at",
        "last_failure_at", "failing_since", "failure_streak", "created_at", "updated_at",
    )  # fmt: skip
    exclude = ("previous_secret",)
    actions = ("enable", "disable", "rotate_secret", "send_test")

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
class DeliveryAdmin(ReadOnlyAdmin):
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
