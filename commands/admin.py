from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from commands.models import Command, CommandStatus
from commands.services import command_retry
from getitdone.admin import ReadOnly


@admin.register(Command)
class CommandAdmin(ReadOnly, admin.ModelAdmin):  # its integrator reads it back: GET /api/commands/{id}
    list_display = ("id", "type", "command_id", "integrator", "issue_key", "status", "attempts", "created_at")
    list_filter = ("status", "type", "integrator", "created_at")
    search_fields = ("=command_id", "=issue_key", "=id")
    list_select_related = ("integrator",)
    readonly_fields = (
        "integrator", "type", "command_id", "issue_key", "payload", "status", "error", "event_ids", "attempts",
        "lease_token", "locked_until", "created_at", "started_at", "finished_at",
    )  # fmt: skip
    actions = ("retry",)

    @admin.action(description="Retry failed commands")
    def retry(self, request: HttpRequest, queryset: QuerySet[Command]) -> None:
        failed = list(queryset.filter(status=CommandStatus.FAILED))
        for command in failed:
            command_retry(command=command)
        self.message_user(request, f"{len(failed)} command(s) queued again.", messages.SUCCESS)
