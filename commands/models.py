"""Commands integrators send (seed 000): stored when accepted, run by a worker."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CommandStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Command(models.Model):
    # The id is the acceptance order: commands for one issue run by ascending id.
    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    integrator = models.ForeignKey(
        "fulfillment.Integrator", on_delete=models.CASCADE, related_name="commands", verbose_name=_("integrator")
    )
    type = models.CharField(max_length=40, db_index=True, verbose_name=_("type"))
    # The client's own id for the command (or ours, "cmd_<id>", when it gave none): events carry it.
    command_id = models.CharField(max_length=255, verbose_name=_("command id"))
    payload = models.JSONField(verbose_name=_("payload"))
    issue_key = models.CharField(
        max_length=100, blank=True, default="", help_text=_("client_issue_id it acts on"), verbose_name=_("issue key")
    )
    status = models.CharField(
        max_length=20, choices=CommandStatus.choices, default=CommandStatus.QUEUED, verbose_name=_("status")
    )
    error = models.JSONField(null=True, blank=True, verbose_name=_("error"))
    event_ids = models.JSONField(default=list, blank=True, verbose_name=_("event ids"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    # A worker's lease while it runs the command; a dead worker's lease runs out and the sweep
    # queues the command again.
    lease_token = models.CharField(max_length=32, blank=True, default="", verbose_name=_("lease token"))
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # The trace context of the request that sent it (API.md §1): the events it causes keep it.
    traceparent = models.CharField(_("trace context"), max_length=55, blank=True, default="", db_default="")
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("command")
        verbose_name_plural = _("commands")
        indexes = [
            models.Index(fields=["integrator", "issue_key", "id"], name="command_issue_order_idx"),
            models.Index(fields=["status", "created_at"], name="command_status_idx"),
            models.Index(fields=["integrator", "-id"], name="command_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.command_id} ({self.status})"


class IdempotencyRecord(models.Model):
    """The IETF idempotency-key draft: a key, the hash of the request it came with, and the
    first response, kept 24 h per integrator."""

    integrator = models.ForeignKey(
        "fulfillment.Integrator", on_delete=models.CASCADE, related_name="+", verbose_name=_("integrator")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    request_hash = models.CharField(max_length=64, verbose_name=_("request hash"))
    status_code = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("status code")
    )  # null: still being accepted
    response = models.JSONField(null=True, blank=True, verbose_name=_("response"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integrator", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key
