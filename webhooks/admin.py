from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "integrator", "sequence", "issue", "created_at")
    list_filter = ("type", "integrator", "created_at")
    search_fields = ("=id", "=issue__client_issue_id")
    list_select_related = ("integrator", "issue")
    readonly_fields = ("id", "integrator", "type", "sequence", "api_version", "issue", "data", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
