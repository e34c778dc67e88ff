"""Webhook signing secrets are stored encrypted under FIELD_ENCRYPTION_KEYS, which rotate."""

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from fulfillment.models import Integrator
from fulfillment.services import integrator_create
from getitdone import crypto
from tests.factories import IntegratorFactory
from tests.webhooks.conftest import Receiver, send_all_due
from webhooks.delivery.claim import claim
from webhooks.delivery.jobs import Job
from webhooks.delivery.sql import LOAD_FIELDS
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.services import publish, webhook_create, webhook_rotate_secret

pytestmark = pytest.mark.django_db


def _stored(table: str, column: str, pk: int) -> str:
    """The column as the database holds it, past the field's decryption."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def receiver(httpserver):
    return Receiver(httpserver)


def test_an_endpoints_secret_is_stored_encrypted(auth_client):
    response = auth_client.post("/api/webhooks", {"url": "http://127.0.0.1:9/hook"}, format="json")
    assert response.status_code == 201
    hook = response.json()["data"]
    stored = _stored("webhooks_webhookendpoint", "secret", hook["id"])
    assert hook["secret"] not in stored
    assert crypto.decrypt(stored) == hook["secret"]
    assert WebhookEndpoint.objects.get(pk=hook["id"]).secret == hook["secret"]
    assert _stored("webhooks_webhookendpoint", "previous_secret", hook["id"]) == ""  # none yet: stays empty


def test_a_rotated_secret_and_the_previous_one_are_both_stored_encrypted(auth_client):
    hook = auth_client.post("/api/webhooks", {"url": "http://127.0.0.1:9/hook"}, format="json").json()["data"]
    rotated = auth_client.post(f"/api/webhooks/{hook['id']}/rotate-secret").json()["data"]
    stored_previous = _stored("webhooks_webhookendpoint", "previous_secret", hook["id"])
    stored_secret = _stored("webhooks_webhookendpoint", "secret", hook["id"])
    assert hook["secret"] not in stored_previous and crypto.decrypt(stored_previous) == hook["secret"]
    assert rotated["secret"] not in stored_secret and crypto.decrypt(stored_secret) == rotated["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=hook["id"])
    assert (endpoint.secret, endpoint.previous_secret) == (rotated["secret"], hook["secret"])


def test_an_integrators_default_webhook_secret_is_stored_encrypted():
    integrator = IntegratorFactory()
    secret = integrator._credentials.webhook_secret
    stored = _stored("fulfillment_integrator", "webhook_secret", integrator.pk)
    assert secret.startswith("whsec_") and secret not in stored
    assert crypto.decrypt(stored) == secret
    assert Integrator.objects.values_list("webhook_secret", flat=True).get(pk=integrator.pk) == secret


def test_a_new_key_put_first_encrypts_while_the_old_one_still_decrypts(settings):
    old_key, new_key = _new_key(), _new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    old_token = crypto.encrypt("whsec_old")
    assert crypto.decrypt(old_token) == "whsec_old"

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert crypto.decrypt(old_token) == "whsec_old"
    new_token = crypto.encrypt("whsec_new")
    assert Fernet(new_key).decrypt(new_token.encode()) == b"whsec_new"
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(new_token.encode())

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key dropped before re-encrypting
    with pytest.raises(crypto.DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        crypto.decrypt(old_token)  # even though this process decrypted it before
    assert crypto.decrypt(new_token) == "whsec_new"


def test_no_keys_is_a_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("whsec_x")


def test_the_field_reads_and_writes_plaintext_under_rotated_keys(settings):
    old_key, new_key = _new_key(), _new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    endpoint = webhook_create(integrator=IntegratorFactory(), url="http://127.0.0.1:9/hook")
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    old_secret = endpoint.secret
    assert old_secret.startswith("whsec_")
    webhook_rotate_secret(endpoint=endpoint)
    stored = _stored("webhooks_webhookendpoint", "secret", endpoint.pk)
    assert Fernet(new_key).decrypt(stored.encode()).decode() == endpoint.secret
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).previous_secret == old_secret


def test_the_field_deconstructs_for_migrations():
    _name, path, args, kwargs = WebhookEndpoint._meta.get_field("previous_secret").deconstruct()
    assert (path, args, kwargs) == (
        "getitdone.crypto.EncryptedTextField",
        [],
        {"verbose_name": "previous signing secret", "max_length": 120, "blank": True, "default": ""},
    )


def test_reencrypt_secrets_puts_every_secret_under_the_first_key(settings):
    old_key, new_key = _new_key(), _new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    integrator = integrator_create(name="rekeyed").integrator
    endpoint = webhook_create(integrator=integrator, url="http://127.0.0.1:9/hook")
    webhook_rotate_secret(endpoint=endpoint)

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "webhooks.WebhookEndpoint.secret: 1 re-encrypted" in out.getvalue()
    assert "webhooks.WebhookEndpoint.previous_secret: 1 re-encrypted" in out.getvalue()
    assert "fulfillment.Integrator.webhook_secret: 1 re-encrypted" in out.getvalue()
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)  # again: nothing left to do
    assert "webhooks.WebhookEndpoint.secret: 0 re-encrypted" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can go now
    reread = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (reread.secret, reread.previous_secret) == (endpoint.secret, endpoint.previous_secret)
    assert Integrator.objects.get(pk=integrator.pk).webhook_secret == integrator.webhook_secret


def test_reencrypt_secrets_names_a_secret_no_key_decrypts(settings):
    settings.FIELD_ENCRYPTION_KEYS = [_new_key()]
    IntegratorFactory()
    settings.FIELD_ENCRYPTION_KEYS = [_new_key()]  # its key dropped before re-encrypting
    with pytest.raises(CommandError, match=r"fulfillment\.Integrator\.webhook_secret: No key"):
        call_command("reencrypt_secrets", stdout=io.StringIO())


def test_reencrypt_secrets_explains_itself():
    parser = load_command_class("getitdone", "reencrypt_secrets").create_parser("manage.py", "reencrypt_secrets")
    assert "under the first key of FIELD_ENCRYPTION_KEYS" in " ".join(parser.format_help().split())


def test_both_ways_of_loading_a_delivery_end_with_the_clear_secrets(integrator):
    """PostgreSQL's claim reads the columns by SQL (ciphertext), the ORM's read decrypts: each
    path decrypts exactly once."""
    endpoint = webhook_create(integrator=integrator, url="http://127.0.0.1:9/hook")
    old = endpoint.secret
    webhook_rotate_secret(endpoint=endpoint)
    with transaction.atomic():
        publish(integrator, "webhook.test", {"n": 1})
    delivery = Delivery.objects.get(endpoint=endpoint)
    row = Delivery.objects.filter(pk=delivery.pk).values_list(*LOAD_FIELDS).get()
    assert Job.load(row, timezone.now(), timezone.now(), encrypted=False).secrets == [endpoint.secret, old]
    [claimed] = claim(ids=[delivery.pk])
    assert claimed.secrets == [endpoint.secret, old]


def test_a_delivery_is_still_signed_with_the_clear_secrets(auth_client, integrator, receiver, delivery):
    receiver.respond(200)
    hook = auth_client.post("/api/webhooks", {"url": receiver.url()}, format="json").json()["data"]
    rotated = auth_client.post(f"/api/webhooks/{hook['id']}/rotate-secret").json()["data"]
    auth_client.post("/api/issues", {"client_issue_id": "enc1", "webhook_url": receiver.url()}, format="json")
    assert send_all_due() == ["succeeded", "succeeded"]
    by_endpoint, by_issue = sorted(receiver.requests, key=lambda r: len(r.headers["webhook-signature"]))[::-1]
    receiver.verify(by_endpoint, rotated["secret"])  # raises if the signature is wrong
    receiver.verify(by_endpoint, hook["secret"])  # the previous secret still signs
    receiver.verify(by_issue, integrator._credentials.webhook_secret)


WEBHOOKS_BEFORE = ("webhooks", "0010_delivery_paused_index")
FULFILLMENT_BEFORE = ("fulfillment", "0002_step_sla")


@pytest.mark.django_db(transaction=True)
def test_the_migrations_encrypt_the_secrets_stored_in_clear_and_decrypt_them_backwards():
    credentials = integrator_create(name="migrated")  # stored encrypted under the current schema
    pk = credentials.integrator.pk
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([WEBHOOKS_BEFORE, FULFILLMENT_BEFORE])
        assert _stored("fulfillment_integrator", "webhook_secret", pk) == credentials.webhook_secret
        apps = executor.loader.project_state([WEBHOOKS_BEFORE, FULFILLMENT_BEFORE]).apps
        Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
        rotated = Endpoint.objects.create(
            integrator_id=pk, url="https://a.example/h", secret="whsec_new", previous_secret="whsec_old"
        )
        fresh = Endpoint.objects.create(integrator_id=pk, url="https://b.example/h", secret="whsec_only")
        assert _stored("webhooks_webhookendpoint", "secret", fresh.pk) == "whsec_only"

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        for table, column, pk_, clear in [
            ("fulfillment_integrator", "webhook_secret", pk, credentials.webhook_secret),
            ("webhooks_webhookendpoint", "secret", rotated.pk, "whsec_new"),
            ("webhooks_webhookendpoint", "previous_secret", rotated.pk, "whsec_old"),
            ("webhooks_webhookendpoint", "secret", fresh.pk, "whsec_only"),
        ]:
            stored = _stored(table, column, pk_)
            assert clear not in stored and crypto.decrypt(stored) == clear
        assert _stored("webhooks_webhookendpoint", "previous_secret", fresh.pk) == ""
        assert WebhookEndpoint.objects.get(pk=rotated.pk).previous_secret == "whsec_old"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
