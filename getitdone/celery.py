"""The Celery app ``getitdone``: `celery -A getitdone worker -Q webhooks,commands,default`."""

import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "getitdone.settings")

app = Celery("getitdone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_development_secrets(**kwargs: object) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from getitdone.checks import fail_fast

    try:
        fail_fast()
    except ImproperlyConfigured as exc:
        # Celery logs an Exception a signal handler raises and starts all the same: exit instead.
        raise SystemExit(f"Refusing to start: {exc}") from exc
