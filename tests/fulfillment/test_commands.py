"""Management commands: create_integrator and seed_demo."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fulfillment.models import Integrator

pytestmark = pytest.mark.django_db


def test_create_integrator_json_prints_working_credentials(api_client):
    out = StringIO()
    call_command("create_integrator", "--name", "Acme", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["name"] == "Acme" and data["client_id"].isdigit()
    assert data["webhook_secret"].startswith("whsec_")
    response = api_client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": data["client_id"], "client_secret": data["client_secret"]},
    )
    assert response.status_code == 200


def test_create_integrator_text_and_scopes():
    out = StringIO()
    call_command("create_integrator", "--name", "Reader", "--scopes", "read", stdout=out)
    assert "client_secret" in out.getvalue()
    assert Integrator.objects.get(name="Reader").scopes == "read"


def test_create_integrator_rejects_unknown_scope():
    with pytest.raises(CommandError, match="Unknown scopes: admin"):
        call_command("create_integrator", "--name", "X", "--scopes", "read admin", stdout=StringIO())


def test_seed_demo_is_idempotent_and_its_credentials_work(api_client, settings):
    settings.DEBUG = True  # the demo's published secret is for development
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    assert Integrator.objects.filter(application__client_id=settings.DEMO_CLIENT_ID).count() == 1
    assert "already there" in second.getvalue()
    assert settings.DEMO_CLIENT_SECRET in first.getvalue()
    response = api_client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": 1, "client_secret": settings.DEMO_CLIENT_SECRET},
    )
    assert response.status_code == 200
