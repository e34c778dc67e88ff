"""Commands integrators send (seed 000): stored when accepted, run by a worker."""

from django.db import models


class CommandStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Command(models.Model):
    # The id is the acceptance order: commands for one issue run by ascending id.
    id = models.BigAutoField(primary_key=True)
    integrator = models.ForeignKey("fulfillment.Integrator", on_delete=models.CASCADE, related_name="commands")
    type = models.CharField(max_length=40, db_index=True)
    # The client's own id for the command (or ours, "cmd_<id>", when it gave none): events carry it.
    command_id = models.CharField(max_length=255)
    payload = models.JSONField()
    issue_key = models.CharField(max_length=100, blank=True, default="", help_text="client_issue_id it acts on")
    status = models.CharField(max_length=20, choices=CommandStatus.choices, default=CommandStatus.QUEUED)
    error = models.JSONField(null=True, blank=True)
    event_ids = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A worker's lease while it runs the command; a dead worker's lease runs out and the sweep
    # queues the command again.
    lease_token = models.CharField(max_length=32, blank=True, default="")
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
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

    integrator = models.ForeignKey("fulfillment.Integrator", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveIntegerField(null=True, blank=True)  # null: still being accepted
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integrator", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key
