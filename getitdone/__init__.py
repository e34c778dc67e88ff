"""Get It Done: the project package (settings, urls, Celery app and shared API plumbing)."""

from getitdone.celery import app as celery_app

__all__ = ["celery_app"]
