"""Webhook endpoint configuration over HTTP (API.md §7)."""

import base64
import socket

import pytest

from tests.conftest import client_for
from tests.webhooks.conftest import send_all_due
from webhooks.addresses import UnsafeUrl, resolve
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_create_generates_a_standard_secret_shown_once(auth_client):
    response = auth_client.post("/api/webhooks", {"url": "https://example.com/hooks"}, format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["secret"].startswith("whsec_")
    assert len(base64.b64decode(data["secret"][6:])) == 32
    assert data["event_types"] == [] and data["active"] is True
    shown = auth_client.get(f"/api/webhooks/{data['id']}").json()["data"]
    assert "secret" not in shown and shown["url"] == "https://example.com/hooks"


def test_given_secret_is_validated(auth_client):
    good = "whsec_" + base64.b64encode(b"k" * 24).decode()
    assert auth_client.post("/api/webhooks", {"url": "https://e.com", "secret": good}, format="json").status_code == 201
    for bad in ("nope", "whsec_!!!", "whsec_" + base64.b64encode(b"k" * 8).decode()):
        response = auth_client.post("/api/webhooks", {"url": "https://e.com", "secret": bad}, format="json")
        assert response.status_code == 422 and response.json()["warning"]["field"] == "secret"


def test_event_types_are_validated_against_the_catalogue(auth_client):
    response = auth_client.post(
        "/api/webhooks", {"url": "https://e.com", "event_types": ["issue.created", "issue.exploded"]}, format="json"
    )
    # The dotted path names the item that is wrong.
    assert response.status_code == 422 and response.json()["warning"]["field"] == "event_types.1"


def test_list_patch_delete(auth_client):
    created = auth_client.post("/api/webhooks", {"url": "https://e.com/a"}, format="json").json()["data"]
    patched = auth_client.patch(
        f"/api/webhooks/{created['id']}", {"description": "orders", "event_types": ["issue.created"]}, format="json"
    ).json()["data"]
    assert patched["description"] == "orders" and patched["event_types"] == ["issue.created"]
    listed = auth_client.get("/api/webhooks").json()["data"]
    assert [w["id"] for w in listed["results"]] == [created["id"]] and listed["next_cursor"] is None
    deleted = auth_client.delete(f"/api/webhooks/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"] is None
    assert auth_client.get(f"/api/webhooks/{created['id']}").status_code == 404


def test_test_endpoint_queues_a_test_event_to_that_endpoint_only(auth_client, receiver, integrator):
    receiver.respond(200)
    target = auth_client.post("/api/webhooks", {"url": receiver.url()}, format="json").json()["data"]
    auth_client.post("/api/webhooks", {"url": receiver.url("/other")}, format="json")
    response = auth_client.post(f"/api/webhooks/{target['id']}/test")
    assert response.status_code == 202
    assert response.json()["data"]["event_type"] == "webhook.test"
    send_all_due()
    assert [(r.path, r.headers["webhook-id"]) for r in receiver.requests] == [
        ("/hook", response.json()["data"]["event_id"])
    ]
    receiver.verify(receiver.requests[0], target["secret"])


def test_retry_endpoint_resends_a_failed_delivery(auth_client, receiver, integrator, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.respond(500, 200)
    hook = auth_client.post("/api/webhooks", {"url": receiver.url()}, format="json").json()["data"]
    delivery = auth_client.post(f"/api/webhooks/{hook['id']}/test").json()["data"]
    assert send_all_due() == ["failed"]
    response = auth_client.post(f"/api/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry")
    assert response.status_code == 202 and response.json()["data"]["status"] == "pending"
    assert send_all_due() == ["succeeded"]
    # The retry is an extra attempt, numbered after the first and marked manual; the schedule's
    # count stays at the one automatic attempt (it was 2 when a retry used up an automatic one).
    retried = Delivery.objects.get(pk=delivery["id"])
    assert (retried.attempt_count, retried.manual_attempt_count) == (1, 1)
    listed = auth_client.get(f"/api/webhooks/{hook['id']}/deliveries").json()["data"]["results"][0]
    attempts = [(a["number"], a["manual"], a["http_status"]) for a in listed["attempts"]]
    assert attempts == [(1, False, 500), (2, True, 200)]


def test_tenant_isolation_of_endpoints_and_deliveries(integrator, other_integrator):
    owner, stranger = client_for(integrator), client_for(other_integrator)
    hook = owner.post("/api/webhooks", {"url": "https://e.com"}, format="json").json()["data"]
    delivery = owner.post(f"/api/webhooks/{hook['id']}/test").json()["data"]
    for method, path in [
        ("get", f"/api/webhooks/{hook['id']}"),
        ("patch", f"/api/webhooks/{hook['id']}"),
        ("delete", f"/api/webhooks/{hook['id']}"),
        ("post", f"/api/webhooks/{hook['id']}/rotate-secret"),
        ("post", f"/api/webhooks/{hook['id']}/test"),
        ("get", f"/api/webhooks/{hook['id']}/deliveries"),
        ("post", f"/api/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry"),
    ]:
        assert getattr(stranger, method)(path, {}, format="json").status_code == 404, path
    assert stranger.get("/api/webhooks").json()["data"]["results"] == []
    assert WebhookEndpoint.objects.get().is_active


class TestPrivateAddressesRefused:
    @pytest.fixture(autouse=True)
    def production_rules(self, settings):
        settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False

    @pytest.mark.parametrize(
        "url",
        [
            "http://example.com/hook",  # not https
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://192.168.0.10/hook",
            "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
            "https://100.64.0.1/hook",  # CGNAT
            "https://[::1]/hook",
            "https://[fd00::1]/hook",  # ULA
            "https://[::ffff:127.0.0.1]/hook",  # v4-mapped loopback
            "https://localhost/hook",  # a name that resolves to 127.0.0.1
            "https://user:pw@example.com/hook",
        ],
    )
    def test_refused_at_configuration(self, auth_client, url):
        response = auth_client.post("/api/webhooks", {"url": url}, format="json")
        assert response.status_code == 422, url
        assert response.json()["warning"]["field"] == "url"

    def test_issue_webhook_url_is_checked_too(self, auth_client, delivery):
        response = auth_client.post(
            "/api/issues", {"client_issue_id": "p", "webhook_url": "https://127.0.0.1/x"}, format="json"
        )
        assert response.status_code == 422 and response.json()["warning"]["field"] == "webhook_url"

    def test_checked_again_at_send_time(self, integrator, settings, delivery):
        """DNS rebinding: the URL passed when configured, then resolves to a private address."""
        settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
        client = client_for(integrator)
        hook = client.post("/api/webhooks", {"url": "https://localhost:9/hook"}, format="json").json()["data"]
        settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
        client.post(f"/api/webhooks/{hook['id']}/test")
        assert send_all_due()[0] == "retry"
        assert Delivery.objects.get().attempts.first().error.startswith("UnsafeUrl")

    def test_public_address_passes(self, monkeypatch):
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))],
        )
        assert resolve("https://example.com/hook")[3] == ["93.184.215.14"]

    def test_any_private_answer_among_several_refuses(self, monkeypatch):
        answers = [("93.184.215.14", 443), ("10.0.0.5", 443)]
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", a) for a in answers],
        )
        with pytest.raises(UnsafeUrl):
            resolve("https://example.com/hook")


def test_admin_endpoint_and_delivery_pages(client, integrator, receiver):
    from django.contrib.auth.models import User

    from webhooks.services import webhook_create, webhook_send_test

    client.force_login(User.objects.create_superuser("ops", "o@example.com", "pw-for-tests-only"))
    endpoint = webhook_create(integrator=integrator, url=receiver.url())
    delivery = webhook_send_test(endpoint=endpoint)
    assert client.get("/admin/webhooks/webhookendpoint/").status_code == 200
    assert client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").status_code == 200
    # Disabling asks first (tests/webhooks/test_admin.py has more), then pauses.
    asked = client.post("/admin/webhooks/webhookendpoint/", {"action": "disable", "_selected_action": [endpoint.pk]})
    assert asked.status_code == 200 and WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
    client.post(
        "/admin/webhooks/webhookendpoint/", {"action": "disable", "_selected_action": [endpoint.pk], "post": "yes"}
    )
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "staff" in endpoint.disabled_reason
    client.post("/admin/webhooks/webhookendpoint/", {"action": "enable", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.is_active
    Delivery.objects.filter(pk=delivery.pk).update(status="failed")
    client.post("/admin/webhooks/delivery/", {"action": "retry_now", "_selected_action": [delivery.pk]})
    assert Delivery.objects.get(pk=delivery.pk).status == "pending"
