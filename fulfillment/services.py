"""Writes to setup data."""

import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from oauth2_provider.models import Application

from fulfillment.models import ALL_SCOPES, Integrator, Workflow, generate_webhook_secret
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
    secret = client_secret or secrets.token_urlsafe(30)
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


def integrator_rotate_webhook_secret(*, integrator: Integrator) -> str:
    integrator.webhook_secret = generate_webhook_secret()
    integrator.save(update_fields=["webhook_secret"])
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
