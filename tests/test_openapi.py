"""The contract from the outside: the OpenAPI schema validates, and a client generated from it
with openapi-python-client drives a running server."""

import importlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def test_schema_is_valid_openapi_3_1_and_describes_every_operation(api_client):
    from drf_spectacular.validation import validate_schema

    response = api_client.get("/api/schema/?format=json")
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.1")
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {"issues_create", "issues_change_status", "commands_send", "events_list", "webhooks_create"} <= operations
    command = schema["components"]["schemas"]["CommandRequest"]
    assert command["discriminator"]["propertyName"] == "type"
    assert set(command["discriminator"]["mapping"]) == {
        "CreateIssue", "ChangeStatus", "UpdateIssueDetails", "CancelIssue", "AddNote",
    }  # fmt: skip
    envelope = schema["paths"]["/api/issues"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert set(envelope["properties"]) == {"code", "status", "message", "data", "warning", "error"}
    assert "422" in schema["paths"]["/api/issues"]["post"]["responses"]
    assert schema["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"


def test_generated_client_works_against_the_server(live_server, tmp_path, delivery, settings):
    from fulfillment.demo import demo_seed

    seed = demo_seed()
    schema_file = tmp_path / "schema.yaml"
    schema_file.write_bytes(httpx.get(f"{live_server.url}/api/schema/").content)
    assert yaml.safe_load(schema_file.read_text())["openapi"].startswith("3.1")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(schema_file), "--meta", "none", "--output-path",
         str(tmp_path / "getitdone_client")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert (tmp_path / "getitdone_client" / "client.py").exists(), result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        client_pkg = importlib.import_module("getitdone_client")
        issues_create = importlib.import_module("getitdone_client.api.issues.issues_create")
        issues_change_status = importlib.import_module("getitdone_client.api.issues.issues_change_status")
        issues_get = importlib.import_module("getitdone_client.api.issues.issues_get")
        commands_send = importlib.import_module("getitdone_client.api.commands.commands_send")
        events_list = importlib.import_module("getitdone_client.api.events.events_list")
        models = importlib.import_module("getitdone_client.models")

        token = httpx.post(
            f"{live_server.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": seed.client_id, "client_secret": seed.client_secret},
        ).json()["access_token"]
        client = client_pkg.AuthenticatedClient(base_url=live_server.url, token=token)

        created = issues_create.sync_detailed(client=client, body=models.IssueCreateInputRequest(client_issue_id="g-1"))
        assert created.status_code == 201
        assert created.parsed.data.client_issue_id == "g-1" and created.parsed.data.step.value == "RECEIVED"

        moved = issues_change_status.sync_detailed(
            "g-1", client=client, body=models.StatusChangeInputRequest(status="En preparación")
        )
        assert moved.status_code == 200 and moved.parsed.data.version == 2

        sent = commands_send.sync_detailed(
            client=client,
            body=models.AddNoteCommandRequest(
                type_=models.AddNoteCommandTypeEnum.ADDNOTE, client_issue_id="g-1", text="from a generated client"
            ),
        )
        assert sent.status_code == 202 and sent.parsed.data.status == "queued"

        feed = events_list.sync_detailed(client=client)
        assert [str(e.type_) for e in feed.parsed.data.results] == ["issue.created", "issue.status_changed"]

        missing = issues_get.sync_detailed("nope", client=client)
        assert missing.status_code == 404 and missing.parsed.message == "404 Not Found"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("getitdone_client")]:
            del sys.modules[name]
