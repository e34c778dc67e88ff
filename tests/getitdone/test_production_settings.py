"""A production start (DEBUG off) passes `check --deploy` clean with real secrets, and refuses
to start on the development ones; the demo's secret never reaches production by accident."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from oauth2_provider.models import AccessToken

from fulfillment.models import Integrator, Workflow
from fulfillment.tasks import clear_expired_tokens
from getitdone.checks import production_secrets
from tests.conftest import obtain_token
from tests.processes import ROOT
from tests.production_env import production_env


def run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in production_env() and k != "DEBUG"}
    # A database of its own, where no demo integrator lives.
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "GETITDONE_VAR_DIR": str(tmp_path)}
    environment |= env
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = production_env() | {"DEBUG": "false"}
    env.pop("SECURE_SSL_REDIRECT")  # production keeps the default: redirect to HTTPS
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("missing", "error"),
    [
        ("SECRET_KEY", "getitdone.E001"),
        ("JWT_PRIVATE_KEY", "getitdone.E002"),
        ("FIELD_ENCRYPTION_KEYS", "getitdone.E004"),
    ],
)
def test_a_production_start_on_development_secrets_fails(tmp_path, missing, error):
    env = production_env() | {"DEBUG": "false"}
    env.pop(missing)
    check = run(["manage.py", "check"], tmp_path, **env)
    assert check.returncode != 0 and error in check.stderr
    # gunicorn and Celery run no checks of their own: the WSGI module and the Celery app do.
    wsgi = run(["-c", "import getitdone.wsgi"], tmp_path, **env)
    assert wsgi.returncode != 0 and error in wsgi.stderr and "ImproperlyConfigured" in wsgi.stderr


def test_a_celery_worker_on_development_secrets_does_not_start(tmp_path):
    env = production_env() | {"DEBUG": "false", "CELERY_BROKER_URL": "memory://"}
    env.pop("SECRET_KEY")
    worker = run(
        ["-m", "celery", "-A", "getitdone", "worker", "--pool", "solo", "--loglevel", "WARNING"], tmp_path, **env
    )
    assert worker.returncode != 0, worker.stdout[-2000:] + worker.stderr[-2000:]
    assert "getitdone.E001" in worker.stdout + worker.stderr


def test_a_development_start_needs_no_secrets(tmp_path):
    assert run(["-c", "import getitdone.wsgi"], tmp_path, DEBUG="true").returncode == 0


@pytest.mark.django_db
def test_the_demo_secret_fails_the_production_check(settings, delivery):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    assert "getitdone.E003" in [m.id for m in production_secrets()]
    Integrator.objects.update(is_active=False)  # a disabled integrator gets no tokens
    assert "getitdone.E003" not in [m.id for m in production_secrets()]
    settings.DEBUG = True
    assert production_secrets() == []


@pytest.mark.django_db
def test_seed_demo_refuses_the_default_secret_with_debug_off(settings):
    settings.DEBUG, settings.DEMO_CLIENT_SECRET_GIVEN = False, False
    with pytest.raises(CommandError, match="DEMO_CLIENT_SECRET"):
        call_command("seed_demo")
    assert not Integrator.objects.exists()
    settings.DEMO_CLIENT_SECRET, settings.DEMO_CLIENT_SECRET_GIVEN = "a-real-secret-for-a-demo", True
    call_command("seed_demo", verbosity=0)
    assert Integrator.objects.count() == 1


@pytest.mark.django_db
def test_seed_workflows_loads_the_workflows_without_the_demo_integrator():
    call_command("seed_workflows", verbosity=0)
    call_command("seed_workflows", verbosity=0)  # idempotent
    assert list(Workflow.objects.values_list("code", flat=True)) == ["delivery"]
    assert Workflow.objects.get().steps.count() == 6
    assert not Integrator.objects.exists()


@pytest.mark.django_db
def test_beat_clears_expired_tokens(settings, api_client, integrator):
    obtain_token(api_client, integrator)
    obtain_token(api_client, integrator)
    AccessToken.objects.filter(pk=AccessToken.objects.first().pk).update(expires=timezone.now() - timedelta(days=1))
    clear_expired_tokens()
    assert AccessToken.objects.count() == 1
    assert "fulfillment.clear_expired_tokens" in [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]


@pytest.mark.parametrize(
    ("url", "tls"), [("redis://redis.internal:6379/0", False), ("rediss://redis.internal:6380/0", True)]
)
def test_a_redis_broker_gets_the_transport_that_outlives_an_outage_with_tls_kept_for_rediss(tmp_path, url, tls):
    """Naming our transport (getitdone/broker.py) hides the URL's scheme from kombu: TLS must
    still be asked for, and with the server's certificate verified."""
    probe = (
        "import django; django.setup(); import ssl; from celery import current_app;"
        "c = current_app.connection_for_write();"
        "print(type(c.transport).__module__, c.hostname, c.ssl and c.ssl['ssl_cert_reqs'] == ssl.CERT_REQUIRED)"
    )
    result = run(["-c", probe], tmp_path, DJANGO_SETTINGS_MODULE="getitdone.settings", CELERY_BROKER_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["getitdone.broker", "redis.internal", str(tls)]
