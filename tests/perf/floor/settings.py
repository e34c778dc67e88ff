"""The floor app: the API benchmark's baseline (tests/perf/bench_api.py). The same work as our
hot endpoints, done correctly in raw SQL inside a tiny Django/DRF app, served by gunicorn with
the same settings, so the ratio of our figures to its figures says what our layers cost."""

import environ

env = environ.Env()
SECRET_KEY = "floor-app-only-for-the-benchmark"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.perf.floor.urls"
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = 60  # as ours
USE_TZ = True
REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
REDIS_URL = env.str("CACHE_URL", default="redis://127.0.0.1:6379/2")
# A failing request's traceback on stderr (gunicorn's error log): Django alone would only mail it.
LOGGING = {
    "version": 1,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
