"""Orders ("issues"): with children, status history and files."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from getitdone.limits import TEXT_MAX_LENGTH


class Issue(models.Model):
    integrator = models.ForeignKey("fulfillment.Integrator", on_delete=models.PROTECT, related_name="issues")
    client_issue_id = models.CharField(max_length=100, help_text="The integrator's own id for the order.")
    workflow = models.ForeignKey("fulfillment.Workflow", on_delete=models.PROTECT, related_name="issues")
    step = models.ForeignKey("fulfillment.Step", on_delete=models.PROTECT, related_name="issues")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    step_entered_at = models.DateTimeField(default=timezone.now, help_text="When the issue entered its step.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Children share their parent's client_issue_id (as in the seed); roots are unique.
            models.UniqueConstraint(
                fields=["integrator", "client_issue_id"],
                condition=Q(parent__isnull=True),
                name="issue_client_id_unique_among_roots",
            ),
        ]
        indexes = [
            models.Index(fields=["step", "step_entered_at"], name="issue_step_sla_idx"),
            models.Index(fields=["integrator", "parent", "-id"], name="issue_list_idx"),
            models.Index(fields=["integrator", "updated_at"], name="issue_updated_idx"),
            # An issue's family by the integrator's id: root and children (writers lock it so).
            models.Index(fields=["integrator", "client_issue_id"], name="issue_family_idx"),
        ]

    def __str__(self) -> str:
        suffix = f" (child {self.pk})" if self.parent_id else ""
        return f"{self.client_issue_id}{suffix}"


class ActorType(models.TextChoices):
    INTEGRATOR = "integrator", "Integrator"
    STAFF = "staff", "Staff"
    COMMAND = "command", "Command"
    SYSTEM = "system", "System"


class StatusChange(models.Model):
    """One row per step change (and one for the step an issue was created in)."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="history")
    from_step = models.ForeignKey("fulfillment.Step", null=True, on_delete=models.PROTECT, related_name="+")
    to_step = models.ForeignKey("fulfillment.Step", on_delete=models.PROTECT, related_name="+")
    transition = models.ForeignKey(
        "fulfillment.Transition", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    actor_id = models.CharField(max_length=255, blank=True, default="")  # a command_id, at most
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["issue_id", "id"]
        verbose_name = "status change"

    def __str__(self) -> str:
        return f"{self.issue_id}: {self.from_step_id} → {self.to_step_id}"


class FileKind(models.TextChoices):
    PROOF_OF_DELIVERY = "proof_of_delivery", "Proof of delivery"
    INVOICE = "invoice", "Invoice"
    PHOTO = "photo", "Photo"
    OTHER = "other", "Other"


def issue_file_path(instance: "IssueFile", filename: str) -> str:
    return f"issues/{instance.integrator_id}/{instance.issue_id}/{instance.sha256[:16]}-{filename}"


class IssueFile(models.Model):
    integrator = models.ForeignKey("fulfillment.Integrator", on_delete=models.PROTECT, related_name="files")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=30, choices=FileKind.choices, default=FileKind.OTHER)
    file = models.FileField(upload_to=issue_file_path, max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class IssueNote(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(max_length=TEXT_MAX_LENGTH)
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    actor_id = models.CharField(max_length=255, blank=True, default="")  # a command_id, at most
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issue_id", "id"]

    def __str__(self) -> str:
        return self.text[:60]
