"""Setup data: the integrator (partner) accounts and the service-wide switches staff control."""

import base64
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

ALL_SCOPES = ("read", "write")


def generate_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Integrator(models.Model):
    """A partner account. Owns its issues, webhooks, events, commands and files.

    Authenticated API requests carry the integrator as `request.user`, so it answers the few
    questions DRF asks of a user (`is_authenticated`).
    """

    name = models.CharField(max_length=200)
    is_active = models.BooleanField(
        default=True, help_text=_("A disabled integrator cannot get tokens, and its tokens get 403.")
    )
    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.PROTECT, related_name="integrator"
    )
    scopes = models.CharField(
        max_length=100, default="read write", help_text=_("Space-separated scopes its tokens may carry.")
    )
    # Signs deliveries to each issue's own webhook_url. Kept in clear: HMAC needs the key itself.
    webhook_secret = models.CharField(max_length=120, default=generate_webhook_secret)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

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


class MaintenanceMode(models.Model):
    """A single row: the maintenance switch staff flip in admin (the env setting also works)."""

    enabled = models.BooleanField(default=False)
    message = models.CharField(max_length=300, blank=True, default="Scheduled maintenance in progress.")
    retry_after = models.PositiveIntegerField(default=300, help_text=_("Seconds, sent as Retry-After."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "maintenance mode"
        verbose_name_plural = "maintenance mode"

    def __str__(self) -> str:
        return "on" if self.enabled else "off"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
        from fulfillment.selectors import forget_maintenance_state

        forget_maintenance_state()
