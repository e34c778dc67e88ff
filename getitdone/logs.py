"""Log lines (API.md §10): readable in development, one JSON object each in production
(LOG_FORMAT), with the request id of the request being served and the ids of the work at hand.

The ids a line is about are passed as `extra` (`event_id`, `delivery_id`, `command_id`); the
request id comes from the request's context (set by ApiHeadersMiddleware). Secrets never reach a
log line: the access line names the route pattern, never the path's query string.
"""

import contextvars
import logging
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# The ids a line may carry, in this order in the readable format.
WORK_IDS = ("event_id", "delivery_id", "command_id")


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record ('' outside a request), so a line can be traced to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """`2026-12-02 16:43:59,984 INFO webhooks.services [<request id>] message (delivery_id=7)`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", ""):
            record.request_id = "-"
        line = super().format(record)
        ids = [f"{name}={getattr(record, name)}" for name in WORK_IDS if getattr(record, name, None) is not None]
        return f"{line} ({', '.join(ids)})" if ids else line


class JsonFormatter(_JsonFormatter):
    """`{"ts": "2026-12-02T16:43:59.984Z", "level": "INFO", "logger": "...", "message": "...",
    "request_id": "..."}`, and any `extra` the line was logged with."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def process_log_record(self, log_data: dict) -> dict:
        if not log_data.get("request_id"):
            log_data.pop("request_id", None)  # not written while serving a request
        # Django passes the request itself to its loggers (django.request, django.security): as
        # text it is its full path, query string and whatever secret that carries included.
        log_data.pop("request", None)
        return log_data
