"""The Celery app ``getitdone``: `celery -A getitdone worker -Q webhooks,commands,default`."""

import logging
import logging.config
import os
import socket

from celery import Celery
from celery.signals import beat_init, setup_logging, worker_init, worker_ready

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


@worker_ready.connect
def _mark_ready(sender: object = None, **kwargs: object) -> None:
    """A file per worker (var/ready/<hostname>), and beat's, touched when it is up: what
    `manage.py welcome` waits for before it says everything is."""
    _mark(str(getattr(sender, "hostname", "worker")))


def _mark(name: str) -> None:
    from django.conf import settings

    ready = settings.VAR_DIR / "ready"
    ready.mkdir(exist_ok=True)
    (ready / name).touch()


@beat_init.connect
def _say_beat_started(**kwargs: object) -> None:
    # Celery's own beat lines (one per task sent, every second or two) are quieted in settings.
    logging.getLogger("getitdone.beat").info("beat: started, %s periodic tasks", len(app.conf.beat_schedule))
    _mark(f"beat@{socket.gethostname()}")


@setup_logging.connect
def _log_as_the_web_does(loglevel: int | None = None, **kwargs: object) -> None:
    """Workers and beat log through settings.LOGGING (JSON lines in production, request and work
    ids), not Celery's own format. The level is LOG_LEVEL's when it is set, else `--loglevel`'s
    (Celery always passes one: WARNING without the option)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel and not os.environ.get("LOG_LEVEL"):
        logging.getLogger().setLevel(loglevel)
