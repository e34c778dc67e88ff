"""Refuse to run in production on development secrets.

With DEBUG off, the dev fallbacks that let a bare machine start (the default SECRET_KEY, a JWT
key generated into var/, the demo integrator's published secret) would be a hole: these checks
are errors then. Django runs them with every management command; `fail_fast` runs them when a
web or Celery process starts, which Django itself does not.
"""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError


@checks.register("getitdone")
def production_secrets(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    errors = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(checks.Error("DEBUG is off and SECRET_KEY is the development default.",
                                   hint="Set SECRET_KEY to a long random value.", id="getitdone.E001"))  # fmt: skip
    if not settings.JWT_PRIVATE_KEY:
        errors.append(checks.Error(
            "DEBUG is off and JWT_PRIVATE_KEY is not set: access tokens would be signed with a key generated "
            "into var/ on this machine.", hint="Set JWT_PRIVATE_KEY to the PEM of an RSA key.", id="getitdone.E002",
        ))  # fmt: skip
    if not settings.FIELD_ENCRYPTION_KEYS_GIVEN:
        errors.append(checks.Error(
            "DEBUG is off and FIELD_ENCRYPTION_KEYS is not set: webhook secrets would be encrypted with a key "
            "generated into var/ on this machine.",
            hint="Set FIELD_ENCRYPTION_KEYS to a Fernet key (a comma list while rotating).", id="getitdone.E004",
        ))  # fmt: skip
    if _demo_secret_in_use():
        errors.append(checks.Error(
            f"DEBUG is off and the demo integrator (client {settings.DEMO_CLIENT_ID}) still has the published "
            "demo secret.", hint="Disable the demo integrator in admin.", id="getitdone.E003",
        ))  # fmt: skip
    return errors


def _demo_secret_in_use() -> bool:
    from django.contrib.auth.hashers import check_password
    from oauth2_provider.models import Application

    try:
        # A disabled integrator gets no tokens: its secret opens nothing.
        stored = Application.objects.filter(client_id=settings.DEMO_CLIENT_ID, integrator__is_active=True).values_list(
            "client_secret", flat=True
        )
        return any(check_password(settings.DEMO_DEFAULT_CLIENT_SECRET, secret) for secret in stored)
    except DatabaseError:  # not migrated yet, or the database is down: nothing to say here
        return False


def fail_fast() -> None:
    """Raise ImproperlyConfigured if a production check fails (called by WSGI and Celery)."""
    errors = [m for m in production_secrets() if m.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))
