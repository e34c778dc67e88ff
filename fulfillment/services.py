"""Writes to setup data."""

import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from oauth2_provider.models import Application

from fulfillment.models import (
    ALL_SCOPES,
    MAINTENANCE_DEFAULT_MESSAGE,
    Integrator,
    MaintenanceMode,
    Workflow,
    generate_webhook_secret,
)
from fulfillment.selectors import workflows_for
from getitdone.errors import InvalidInput

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntegratorCredentials:
    """What is shown once, when an integrator is created: the secrets are not shown again."""

    integrator: Integrator
    client_id: str
    client_secret: str
    webhook_secret: str

    def as_dict(self) -> dict[str, str | int]:
        return {
            "integrator_id": self.integrator.pk,
            "name": self.integrator.name,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "webhook_secret": self.webhook_secret,
            "scopes": self.integrator.scopes,
        }


def normalize_scopes(scopes: str | list[str] | None) -> str:
    given = scopes.split() if isinstance(scopes, str) else list(scopes or ALL_SCOPES)
    unknown = sorted(set(given) - set(ALL_SCOPES))
    if unknown:
        raise InvalidInput(
            f"Unknown scopes: {', '.join(unknown)} (known: {', '.join(ALL_SCOPES)}).", code="invalid_choice",
            field="scopes",
        )  # fmt: skip
    return " ".join(s for s in ALL_SCOPES if s in given)


@transaction.atomic
def integrator_create(
    *,
    name: str,
    scopes: str | list[str] | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    instance: Integrator | None = None,
) -> IntegratorCredentials:
    """Create an integrator with its OAuth2 client (client credentials grant).

    `instance` lets admin pass the unsaved object its form built; `client_id`/`client_secret`
    are for the demo integrator, whose credentials are known in advance.
    """
    secret = client_secret or new_client_secret()
    application = Application(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,  # hashed on save: this is the only time it is readable
    )
    if client_id:
        application.client_id = client_id
    application.save()
    integrator = instance or Integrator()
    integrator.name = name
    integrator.scopes = normalize_scopes(scopes if scopes is not None else (instance.scopes if instance else None))
    integrator.application = application
    if not integrator.webhook_secret:
        integrator.webhook_secret = generate_webhook_secret()
    integrator.save()
    return IntegratorCredentials(
        integrator=integrator,
        client_id=application.client_id,
        client_secret=secret,
        webhook_secret=integrator.webhook_secret,
    )


def new_client_secret() -> str:
    return secrets.token_urlsafe(30)


@transaction.atomic
def integrator_rotate_client_secret(*, integrator: Integrator) -> str:
    """A new OAuth client secret, returned in clear this once (it is stored hashed, like the
    first). The old one gets no more tokens from now on; tokens it already got stay valid until
    they expire (ACCESS_TOKEN_LIFETIME): to cut those off too, disable the integrator."""
    secret = new_client_secret()
    application = integrator.application
    application.client_secret = secret  # hashed on save
    application.save(update_fields=["client_secret", "updated"])
    logger.warning("integrator %s (%s): client secret rotated", integrator.pk, integrator.name)
    return secret


@transaction.atomic
def integrator_rotate_webhook_secret(*, integrator: Integrator) -> str:
    """A new default webhook secret (it signs deliveries to the issues' own webhook_url), returned
    for showing once; the old one stops signing at once."""
    integrator.webhook_secret = generate_webhook_secret()
    integrator.save(update_fields=["webhook_secret"])
    logger.warning("integrator %s (%s): default webhook secret rotated", integrator.pk, integrator.name)
    return integrator.webhook_secret


@transaction.atomic
def integrator_update(
    *, integrator: Integrator, name: str, scopes: str | list[str], default_workflow: Workflow | None
) -> Integrator:
    """Rename, grant scopes, choose the default workflow. 422 (InvalidInput) on `scopes` for an
    unknown scope, on `default_workflow` for a workflow that is not open to this integrator
    (its issues could not be created in it). Tokens already issued keep their scopes until
    they expire."""
    scopes = normalize_scopes(scopes)
    if default_workflow is not None and not workflows_for(integrator).filter(pk=default_workflow.pk).exists():
        raise InvalidInput(
            f"The workflow {default_workflow.code!r} is not open to this integrator.",
            code="invalid_choice",
            field="default_workflow",
        )
    integrator.name, integrator.scopes, integrator.default_workflow = name, scopes, default_workflow
    integrator.save(update_fields=["name", "scopes", "default_workflow"])
    application = integrator.application
    if application.name != name:  # its OAuth client carries its name, as integrator_create made it
        application.name = name
        application.save(update_fields=["name", "updated"])
    logger.info("integrator %s updated: %r, scopes %r", integrator.pk, name, scopes)
    return integrator


@transaction.atomic
def integrator_disable(*, integrator: Integrator) -> Integrator:
    """From now on its tokens get 403 and it gets no new ones (fulfillment.oauth); its issues,
    webhooks and pending deliveries stay as they are."""
    integrator.is_active = False
    integrator.save(update_fields=["is_active"])
    logger.warning("integrator %s (%s) disabled", integrator.pk, integrator.name)
    return integrator


@transaction.atomic
def integrator_enable(*, integrator: Integrator) -> Integrator:
    integrator.is_active = True
    integrator.save(update_fields=["is_active"])
    logger.warning("integrator %s (%s) enabled", integrator.pk, integrator.name)
    return integrator


RETRY_AFTER_MAX = 86400  # a day: clients give up on longer waits anyway


@transaction.atomic
def maintenance_set(*, enabled: bool, message: str, retry_after: int) -> MaintenanceMode:
    """Flip the maintenance switch (API.md §1: 503 with Retry-After on the API and the token
    endpoint). Every process sees it within two seconds (fulfillment.selectors). 422 on
    `retry_after` outside 1 s to a day, on `message` over its length."""
    if not 1 <= retry_after <= RETRY_AFTER_MAX:
        refusal = _("Retry-After is 1 to %(max)s seconds.") % {"max": RETRY_AFTER_MAX}
        raise InvalidInput(refusal, code="out_of_range", field="retry_after")
    message = message.strip()
    limit = MaintenanceMode._meta.get_field("message").max_length
    if len(message) > limit:
        raise InvalidInput(_("At most %(limit)s characters.") % {"limit": limit}, code="max_length", field="message")
    switch = MaintenanceMode.objects.select_for_update().filter(pk=1).first() or MaintenanceMode(pk=1)
    switch.enabled, switch.message, switch.retry_after = enabled, message or MAINTENANCE_DEFAULT_MESSAGE, retry_after
    switch.save()
    logger.warning("maintenance mode %s (Retry-After %s s)", "on" if enabled else "off", retry_after)
    return switch
