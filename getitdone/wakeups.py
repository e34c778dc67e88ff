"""Waking workers: a Celery message that names a task, sent without holding up its caller.

The broker carries nothing but wake-ups ("there is work"): the rows are the truth, and beat's
sweeps wake workers for whatever is left. So a wake-up is best effort and cheap to lose. It is
sent on a connection of its own per thread, with a short timeout (WAKEUP_TIMEOUT, 0.1 s) for
connecting and for each broker command; after a failure this process sends none for
WAKEUP_BACKOFF seconds. During a broker outage a request thus waits ~0.1 s at most, and only
one request every few seconds does.

By task name, so that services import no task module (tasks import services, not the other way).
"""

import logging
import threading
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


class _State(threading.local):
    connection: Any = None
    url: str = ""


_state = _State()
_down_until = 0.0  # time.monotonic(): until then this process sends no wake-ups


def flag(key: str, timeout: float) -> bool:
    """Set a coalescing flag: True unless it was set already, so that one caller of many sends
    the wake-up. True as well when the cache is out of reach (django-redis then answers None):
    a wake-up too many is cheap, one lost waits for the sweep."""
    return cache.add(key, 1, timeout=timeout) is not False


def wake(task_name: str, args: list | None = None) -> bool:
    """Queue `task_name(*args)`; False if it could not be sent (the sweep will wake it)."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    try:
        current_app.send_task(task_name, args=args or [], connection=_connection(), retry=False)
    except Exception as exc:  # the broker is down or slow: the rows stay, the sweep finds them
        _forget_connection()
        _down_until = time.monotonic() + settings.WAKEUP_BACKOFF
        logger.warning("could not wake %s%s (%s); the sweep will", task_name, args or "", exc)
        return False
    return True


def _connection() -> Any:
    url = settings.CELERY_BROKER_URL
    if _state.connection is None or _state.url != url:
        _forget_connection()
        timeout = settings.WAKEUP_TIMEOUT
        options = {**(current_app.conf.broker_transport_options or {})}
        if not url.startswith("filesystem://"):
            options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
        _state.connection = current_app.connection_for_write(url, connect_timeout=timeout, transport_options=options)
        _state.url = url
    return _state.connection


def _forget_connection() -> None:
    connection, _state.connection = _state.connection, None
    if connection is not None:
        try:
            connection.release()
        except Exception:  # already broken: nothing to release
            logger.debug("wake-up connection not released cleanly", exc_info=True)


def reset() -> None:
    """Forget the backoff and this thread's connection (a test, or a new broker URL)."""
    global _down_until
    _down_until = 0.0
    _forget_connection()
