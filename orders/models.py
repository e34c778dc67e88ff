"""Orders ("issues"): with children, status history and files."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from getitdone.limits import TEXT_MAX_LENGTH


class Issue(models.Model):
    integrator = models.ForeignKey(
        "fulfillment.Integrator", on_delete=models.PROTECT, related_name="issues", verbose_name=_("integrator")
    )
    client_issue_id = models.CharField(
        max_length=100, help_text=_("The integrator's own id for the order."), verbose_name=_("client issue id")
    )
    workflow = models.ForeignKey(
        "fulfillment.Workflow", on_delete=models.PROTECT, related_name="issues", verbose_name=_("workflow")
    )
    step = models.ForeignKey(
        "fulfillment.Step", on_delete=models.PROTECT, related_name="issues", verbose_name=_("step")
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", verbose_name=_("parent")
    )
    webhook_url = models.URLField(max_length=500, blank=True, default="", verbose_name=_("webhook url"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))
    step_entered_at = models.DateTimeField(
        default=timezone.now, help_text=_("When the issue entered its step."), verbose_name=_("step entered at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("issue")
        verbose_name_plural = _("issues")
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
    INTEGRATOR = "integrator", _("Integrator")
    STAFF = "staff", _("Staff")
    COMMAND = "command", _("Command")
    SYSTEM = "system", _("System")


class StatusChange(models.Model):
    """One row per step change (and one for the step an issue was created in)."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="history", verbose_name=_("issue"))
    from_step = models.ForeignKey(
        "fulfillment.Step", null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("from step")
    )
    to_step = models.ForeignKey(
        "fulfillment.Step", on_delete=models.PROTECT, related_name="+", verbose_name=_("to step")
    )
    transition = models.ForeignKey(
        "fulfillment.Transition",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("transition"),
    )
    at = models.DateTimeField(auto_now_add=True, verbose_name=_("at"))
    actor_type = models.CharField(max_length=20, choices=ActorType.choices, verbose_name=_("actor type"))
    actor_id = models.CharField(
        max_length=255, blank=True, default="", verbose_name=_("actor id")
    )  # a command_id, at most
    note = models.TextField(blank=True, default="", verbose_name=_("note"))
    # Moved by a superuser past the workflow's transitions (the note says why).
    forced = models.BooleanField(default=False, db_default=False, verbose_name=_("forced"))  # db_default: see 0006

    class Meta:
        ordering = ["issue_id", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.issue_id}: {self.from_step_id} → {self.to_step_id}"


class FileKind(models.TextChoices):
    PROOF_OF_DELIVERY = "proof_of_delivery", _("Proof of delivery")
    INVOICE = "invoice", _("Invoice")
    PHOTO = "photo", _("Photo")
    OTHER = "other", _("Other")


def issue_file_path(instance: "IssueFile", filename: str) -> str:
    return f"issues/{instance.integrator_id}/{instance.issue_id}/{instance.sha256[:16]}-{filename}"


class IssueFile(models.Model):
    integrator = models.ForeignKey(
        "fulfillment.Integrator", on_delete=models.PROTECT, related_name="files", verbose_name=_("integrator")
    )
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="files", verbose_name=_("issue"))
    name = models.CharField(max_length=255, verbose_name=_("name"))
    content_type = models.CharField(max_length=120, verbose_name=_("content type"))
    size = models.PositiveBigIntegerField(verbose_name=_("size"))
    sha256 = models.CharField(max_length=64, verbose_name=_("sha256"))
    kind = models.CharField(max_length=30, choices=FileKind.choices, default=FileKind.OTHER, verbose_name=_("kind"))
    file = models.FileField(upload_to=issue_file_path, max_length=500, verbose_name=_("file"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("file")
        verbose_name_plural = _("files")

    def __str__(self) -> str:
        return self.name


class IssueNote(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="notes", verbose_name=_("issue"))
    text = models.TextField(max_length=TEXT_MAX_LENGTH, verbose_name=_("text"))
    actor_type = models.CharField(max_length=20, choices=ActorType.choices, verbose_name=_("actor type"))
    actor_id = models.CharField(
        max_length=255, blank=True, default="", verbose_name=_("actor id")
    )  # a command_id, at most
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["issue_id", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return self.text[:60]
