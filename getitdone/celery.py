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
    from getitdone.checks import fail_fast

    fail_fast()
