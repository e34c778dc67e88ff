"""An order with something of every kind on its page, made the way integrators make it: through
the API. Its receiver answers 500, so its deliveries have failed attempts on record."""

from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from commands.models import Command
from commands.services import command_run
from orders.models import Issue
from tests.conftest import client_for
from webhooks.delivery import deliveries_drain
from webhooks.models import WebhookEndpoint

CUSTOMER = {"name": "Ana Pérez Quintero", "phone": "+593991234567"}


@dataclass
class BusyOrder:
    issue: Issue
    endpoint: WebhookEndpoint
    failed_command: Command
    api: object  # the integrator's APIClient


def busy_order(integrator, receiver_url: str, *, client_issue_id: str = "PED-1404") -> BusyOrder:
    api = client_for(integrator)
    created = api.post("/api/webhooks", {"url": receiver_url, "description": "partner receiver"}, format="json")
    assert created.status_code == 201, created.content
    endpoint = WebhookEndpoint.objects.get(pk=created.json()["data"]["id"])
    body = {
        "client_issue_id": client_issue_id,
        "details": {"customer": CUSTOMER, "address": {"city": "Quito"}, "items": [{"sku": "A1", "qty": 2}]},
        "children": [{"details": {"box": 1}}, {"details": {"box": 2}}],
    }
    assert api.post("/api/issues", body, format="json").status_code == 201
    path = f"/api/issues/{client_issue_id}"
    assert api.put(f"/api/issues/status/{client_issue_id}", {"status": "PREPARING"}, format="json").status_code == 200
    upload = SimpleUploadedFile("albaran.pdf", b"%PDF-1.4\n% proof\n", content_type="application/pdf")
    assert api.post(f"{path}/files", {"file": upload, "kind": "invoice"}, format="multipart").status_code == 201
    # A note by command, and a command that fails: no transition leads from PREPARING back to RECEIVED.
    for command in (
        {"type": "AddNote", "command_id": "cmd-note", "text": "Customer asked for the side door."},
        {"type": "ChangeStatus", "command_id": "cmd-back", "status": "RECEIVED"},
    ):
        sent = api.post("/api/commands", {**command, "client_issue_id": client_issue_id}, format="json")
        assert sent.status_code == 202, sent.content
        command_run(Command.objects.get(command_id=command["command_id"]).pk)
    failed = Command.objects.get(command_id="cmd-back")
    failed.refresh_from_db()
    assert failed.status == "failed"
    deliveries_drain()  # one attempt each, answered 500
    issue = Issue.objects.get(integrator=integrator, client_issue_id=client_issue_id, parent__isnull=True)
    return BusyOrder(issue=issue, endpoint=endpoint, failed_command=failed, api=api)
