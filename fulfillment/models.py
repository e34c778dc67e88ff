"""Setup data: the integrator (partner) accounts and the service-wide switches staff control."""

import base64
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from getitdone.crypto import EncryptedTextField

ALL_SCOPES = ("read", "write")


def generate_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Integrator(models.Model):
    """A partner account. Owns its issues, webhooks, events, commands and files.

    Authenticated API requests carry the integrator as `request.user`, so it answers the few
    questions DRF asks of a user (`is_authenticated`).
    """

    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("A disabled integrator cannot get tokens, and its tokens get 403.")
    )
    application = models.OneToOneField(
        "oauth2_provider.Application",
        on_delete=models.PROTECT,
        related_name="integrator",
        verbose_name=_("OAuth client"),
    )
    scopes = models.CharField(
        _("scopes"), max_length=100, default="read write", help_text=_("Space-separated scopes its tokens may carry.")
    )
    default_workflow = models.ForeignKey(
        "Workflow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("default workflow"),
        help_text=_("Used when an issue is created without `workflow`; empty means the `delivery` workflow."),
    )
    # Signs deliveries to each issue's own webhook_url. Encrypted, not hashed: HMAC needs the key.
    webhook_secret = EncryptedTextField(_("default webhook secret"), max_length=120, default=generate_webhook_secret)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("integrator")
        verbose_name_plural = _("integrators")

    def __str__(self) -> str:
        return self.name

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split() if s in ALL_SCOPES]


MAINTENANCE_DEFAULT_MESSAGE = "Scheduled maintenance in progress."  # to integrators, in the 503's error


class MaintenanceMode(models.Model):
    """A single row: the maintenance switch staff flip in admin (the env setting also works)."""

    enabled = models.BooleanField(_("on"), default=False)
    message = models.CharField(
        _("message"),
        max_length=300,
        blank=True,
        default=MAINTENANCE_DEFAULT_MESSAGE,
        help_text=_("What integrators read in the 503 answer (in English: it is the API's)."),
    )
    retry_after = models.PositiveIntegerField(
        _("Retry-After"), default=300, help_text=_("Seconds, sent as Retry-After.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("maintenance mode")
        verbose_name_plural = _("maintenance mode")

    def __str__(self) -> str:
        return str(_("on") if self.enabled else _("off"))

    def save(self, *args, **kwargs) -> None:
        from fulfillment.selectors import forget_maintenance_state

        self.pk = 1
        super().save(*args, **kwargs)
        # Now for this process, and again once the flip is committed: a request in between could
        # have cached the state from before it.
        forget_maintenance_state()
        transaction.on_commit(forget_maintenance_state)


def new_revision() -> str:
    return uuid.uuid4().hex


class Workflow(models.Model):
    """Steps and the transitions between them: data staff edit in admin.

    Offered to integrators (listed by the API, issues can be created in it) while it is not a
    draft and passed the checks of `fulfillment.workflows` at its last save there.
    """

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    initial_step = models.ForeignKey(
        "Step", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("initial step")
    )
    integrators = models.ManyToManyField(
        Integrator,
        blank=True,
        related_name="workflows",
        verbose_name=_("integrators"),
        help_text=_("Leave empty to open the workflow to every integrator."),
    )
    draft = models.BooleanField(
        _("draft"),
        default=False,
        db_default=False,  # old processes of a rolling deploy insert without it
        help_text=_(
            "Keeps the workflow from integrators even when it passes the checks. One that fails them is "
            "kept from them anyway, until a save passes."
        ),
    )
    # Set by workflow_save (the admin's save): a workflow made in code (seeds, tests) or made
    # before the checks existed counts as passed.
    checks_passed = models.BooleanField(_("passes the checks"), default=True, db_default=True, editable=False)
    # Changes whenever the workflow, a step or a transition changes: processes cache the
    # workflow's graph under it, so a stale copy is never used.
    revision = models.CharField(max_length=32, default=new_revision, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs) -> None:
        self.revision = new_revision()
        super().save(*args, **kwargs)

    @property
    def is_offered(self) -> bool:
        return self.checks_passed and not self.draft

    def clean(self) -> None:
        if self.initial_step_id and self.pk and self.initial_step.workflow_id != self.pk:
            raise ValidationError({"initial_step": _("The initial step must be a step of this workflow.")})


class StepCategory(models.TextChoices):
    TO_DO = "TO_DO", _("To do")
    IN_PROGRESS = "IN_PROGRESS", _("In progress")
    DONE = "DONE", _("Done")


class Step(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="steps", verbose_name=_("workflow"))
    name = models.CharField(_("name"), max_length=120)
    value = models.CharField(
        _("value"), max_length=60, help_text=_("Code, unique within the workflow, e.g. TO_BE_ASSIGNED.")
    )
    description = models.TextField(_("description"), blank=True, default="")
    category = models.CharField(_("category"), max_length=20, choices=StepCategory.choices, default=StepCategory.TO_DO)
    name_frontend = models.CharField(_("name for customers"), max_length=120, blank=True, default="")
    description_frontend = models.TextField(_("description for customers"), blank=True, default="")
    color = models.CharField(_("color"), max_length=7, default="#9E9E9E", help_text=_("#RRGGBB"))
    position = models.PositiveIntegerField(_("position"), default=0, help_text=_("Display order."))
    # Step SLA: an issue left in this step longer than this is moved along timeout_transition
    # by the system (e.g. cancel an order nobody assigned within 30 minutes).
    timeout_seconds = models.PositiveIntegerField(
        _("timeout (seconds)"), null=True, blank=True, help_text=_("Step SLA, in seconds.")
    )
    timeout_transition = models.ForeignKey(
        "Transition",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("timeout transition"),
        help_text=_("Taken by the system when the SLA runs out; must leave this step."),
    )

    class Meta:
        ordering = ["workflow_id", "position", "id"]
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        constraints = [
            models.UniqueConstraint(fields=["workflow", "value"], name="step_value_unique_in_workflow"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.value}]"

    def clean(self) -> None:
        import re

        if self.color and not re.fullmatch(r"#[0-9A-Fa-f]{6}", self.color):
            raise ValidationError({"color": _("Use #RRGGBB.")})
        if self.timeout_transition_id and self.timeout_transition.from_step_id != self.pk:
            raise ValidationError({"timeout_transition": _("The transition must leave this step.")})
        if bool(self.timeout_seconds) != bool(self.timeout_transition_id):
            raise ValidationError({"timeout_seconds": _("Give both the timeout and its transition, or neither.")})


class Transition(models.Model):
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("workflow")
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True, default="")
    from_step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="outgoing", verbose_name=_("from step"))
    to_step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="incoming", verbose_name=_("to step"))

    class Meta:
        ordering = ["workflow_id", "id"]
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        constraints = [
            models.UniqueConstraint(fields=["from_step", "to_step"], name="transition_unique_per_pair"),
            models.CheckConstraint(condition=~models.Q(from_step=models.F("to_step")), name="transition_not_a_loop"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.from_step.value} → {self.to_step.value})"

    def save(self, *args, **kwargs) -> None:
        # Enforced on every save, not only in forms: a transition may never cross workflows.
        if self.workflow_id is None and self.from_step_id:
            self.workflow_id = self.from_step.workflow_id
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        for field in ("from_step", "to_step"):
            step = getattr(self, field, None) if getattr(self, f"{field}_id") else None
            if step is not None and self.workflow_id and step.workflow_id != self.workflow_id:
                errors[field] = _("The step belongs to another workflow.")
        if errors:
            raise ValidationError(errors)
