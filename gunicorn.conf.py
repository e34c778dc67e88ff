"""gunicorn's settings file (read from the working directory): its own log lines (start-up,
worker timeouts and restarts) in the app's format, JSON unless LOG_FORMAT says otherwise, as
settings.LOGGING writes the rest (API.md §10). The request lines are the app's (getitdone.access):
gunicorn's access log stays off. The Procfile's command line sets everything else."""

import os

_debug = os.environ.get("DEBUG", "").lower() in ("1", "true", "yes", "on")
_format = os.environ.get("LOG_FORMAT", "text" if _debug else "json")

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "getitdone.logs.RequestIdLogFilter"}},
    "formatters": {"app": {"()": f"getitdone.logs.{'JsonFormatter' if _format == 'json' else 'TextFormatter'}"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "app",
            "filters": ["request_id"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}
