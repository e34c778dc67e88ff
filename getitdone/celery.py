"""The Celery app ``getitdone``: `celery -A getitdone worker -Q webhooks,commands,default`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "getitdone.settings")

app = Celery("getitdone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
