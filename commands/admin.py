from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy, ngettext

from commands.models import Command, CommandStatus
from commands.services import command_retry
from getitdone.admin import ReadOnly, pretty_json
from getitdone.errors import DomainError


@admin.register(Command)
class CommandAdmin(ReadOnly, admin.ModelAdmin):  # its integrator reads it back: GET /api/commands/{id}
    list_display = ("id", "type", "command_id", "integrator", "order", "status", "attempts", "created_at")
    list_filter = ("status", "type", "integrator", "created_at")
    search_fields = ("=command_id", "=issue_key", "=id")
    list_select_related = ("integrator",)
    readonly_fields = (
        "integrator", "type", "command_id", "order", "payload_json", "status", "error_json", "event_ids",
        "attempts", "lease_token", "locked_until", "created_at", "started_at", "finished_at",
    )  # fmt: skip
    actions = ("retry",)

    class Media:
        css = {"all": ("getitdone/admin/console.css",)}

    @admin.display(description=gettext_lazy("order"), ordering="issue_key")
    def order(self, obj: Command) -> SafeString | str:
        # The order list, searched for it: no query per row.
        if not obj.issue_key:
            return "—"
        query = urlencode({"q": obj.issue_key, "integrator__id__exact": obj.integrator_id, "level": "root"})
        return format_html('<a href="{}?{}">{}</a>', reverse("admin:orders_issue_changelist"), query, obj.issue_key)

    @admin.display(description=gettext_lazy("payload"))
    def payload_json(self, obj: Command) -> SafeString:
        return pretty_json(obj.payload)

    @admin.display(description=gettext_lazy("error"))
    def error_json(self, obj: Command) -> SafeString | str:
        return pretty_json(obj.error) if obj.error else "—"

    @admin.action(permissions=["act"], description=gettext_lazy("Retry failed commands"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Command]) -> None:
        failed = list(queryset.filter(status=CommandStatus.FAILED))
        skipped = queryset.count() - len(failed)
        queued = 0
        for command in failed:
            try:
                command_retry(command=command)
            except DomainError:
                skipped += 1  # it changed meanwhile
            else:
                queued += 1
        if not queued:
            text = ngettext(
                "Nothing queued: the command was not failed.",
                "Nothing queued: none of the %(n)d commands was failed.",
                skipped,
            ) % {"n": skipped}
        else:
            text = ngettext("%(n)d command queued again.", "%(n)d commands queued again.", queued) % {"n": queued}
            if skipped:
                text += " " + ngettext(
                    "%(n)d was not failed and was left alone.", "%(n)d were not failed and were left alone.", skipped
                ) % {"n": skipped}
        self.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)
