"""The OpenAPI schema tells the truth (what schemathesis checks): a value the schema allows is
not refused for its shape, and one it forbids is refused, not converted, trimmed or ignored."""

import ipaddress
import random
import re
import sys
import unicodedata

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fulfillment.models import Workflow
from getitdone import limits
from getitdone.api.fields import NOT_BLANK_PATTERN, WEBHOOK_URL_PATTERN
from getitdone.api.pagination import CURSOR_PATTERN
from orders.models import Issue
from webhooks.services import _validate_secret, validate_webhook_url
from webhooks.signing import SECRET_PATTERN as WEBHOOK_SECRET_PATTERN

pytestmark = pytest.mark.django_db

PAGED = ["/api/issues", "/api/issues/S-1/history", "/api/issues/S-1/files", "/api/webhooks",
         "/api/webhooks/{webhook}/deliveries", "/api/commands", "/api/workflows"]  # fmt: skip


@pytest.fixture
def existing(auth_client, delivery):
    assert auth_client.post("/api/issues", {"client_issue_id": "S-1"}, format="json").status_code == 201
    webhook = auth_client.post("/api/webhooks", {"url": "https://e.com/hook"}, format="json").json()["data"]
    return {"webhook": webhook["id"]}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/?format=json").json()


def refused_on(response, field: str) -> dict:
    assert response.status_code == 422, (response.status_code, response.content[:300])
    body = response.json()
    assert body["warning"]["field"] == field, body
    return body


# --- Query parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [("/api/commands?type=", "type"), ("/api/commands?status=", "status"), ("/api/events?type=", "type"),
     ("/api/events?after=", "after"), ("/api/events?limit=", "limit"), ("/api/issues?updated_after=", "updated_after"),
     ("/api/issues?status=", "status"), ("/api/issues?category=", "category"), ("/api/issues?limit=", "limit"),
     ("/api/issues?cursor=", "cursor")],
)  # fmt: skip
def test_an_empty_query_value_is_refused_not_taken_as_absent(auth_client, path, field):
    refused_on(auth_client.get(path), field)


@pytest.mark.parametrize("limit", ["0", "-353", "201", "2033477", "abc", "null", "1.5"])
@pytest.mark.parametrize("path", PAGED)
def test_a_limit_out_of_range_is_refused_on_every_list(auth_client, existing, path, limit):
    refused_on(auth_client.get(path.format(**existing), {"limit": limit}), "limit")


def test_limits_at_the_ends_of_the_range_are_taken(auth_client, existing):
    assert auth_client.get("/api/issues", {"limit": "1"}).status_code == 200
    assert auth_client.get("/api/issues", {"limit": "200"}).status_code == 200
    assert auth_client.get("/api/events", {"limit": "500"}).status_code == 200  # the feed keeps its own range
    refused_on(auth_client.get("/api/events", {"limit": "501"}), "limit")


@pytest.mark.parametrize(
    "cursor", ["f.0", "r.0", "f0.0", "f1.1", "r7.3", "f999999999999999999.9999", "r999999999999999999.0", "f000.0001"]
)
@pytest.mark.parametrize("path", PAGED)
def test_every_cursor_of_the_grammar_decodes(auth_client, existing, path, cursor):
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    response = auth_client.get(path.format(**existing), {"cursor": cursor})
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("cursor", ["garbage", "f.0\n", " f.0", "x1.0", "f1", "f1.12345", "cD0x"])
def test_a_cursor_outside_the_grammar_is_a_422_on_cursor(auth_client, cursor):
    assert not re.fullmatch(CURSOR_PATTERN, cursor)
    refused_on(auth_client.get("/api/issues", {"cursor": cursor}), "cursor")


def test_next_cursor_is_of_the_grammar_and_pages_on(auth_client, delivery):
    for n in range(3):
        auth_client.post("/api/issues", {"client_issue_id": f"P-{n}"}, format="json")
    first = auth_client.get("/api/issues", {"limit": 2}).json()["data"]
    assert re.fullmatch(CURSOR_PATTERN, first["next_cursor"])
    second = auth_client.get("/api/issues", {"limit": 2, "cursor": first["next_cursor"]}).json()["data"]
    assert [i["client_issue_id"] for i in first["results"] + second["results"]] == ["P-2", "P-1", "P-0"]
    assert second["next_cursor"] is None


def test_workflows_are_a_paginated_list(auth_client, delivery):
    Workflow.objects.create(code="second", name="Second")
    first = auth_client.get("/api/workflows", {"limit": 1}).json()["data"]
    second = auth_client.get("/api/workflows", {"limit": 1, "cursor": first["next_cursor"]}).json()["data"]
    assert [w["code"] for w in first["results"] + second["results"]] == ["delivery", "second"]


# --- JSON bodies: no conversion ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [("post", "/api/issues", {"client_issue_id": 12345}, "client_issue_id"),
     ("post", "/api/issues", {"client_issue_id": "S-2", "status": 1}, "status"),
     ("post", "/api/issues", {"client_issue_id": "S-2", "children": [{"status": True}]}, "children.0.status"),
     ("put", "/api/issues/status/S-1", {"status": "En preparación", "expected_version": "1"}, "expected_version"),
     ("put", "/api/issues/status/S-1", {"status": "En preparación", "expected_version": True}, "expected_version"),
     ("put", "/api/issues/status/S-1", {"status": "En preparación", "note": 5}, "note"),
     ("post", "/api/webhooks", {"url": "https://e.com/x", "active": "yes"}, "active"),
     ("post", "/api/webhooks", {"url": "https://e.com/x", "active": 1}, "active"),
     ("patch", "/api/webhooks/{webhook}", {"description": -24788451}, "description"),
     ("post", "/api/commands", {"type": "AddNote", "client_issue_id": "S-1", "text": 7}, "text"),
     ("post", "/api/commands", {"type": "ChangeStatus", "client_issue_id": "S-1", "status": "x",
                                "expected_version": "2"}, "expected_version")],
)  # fmt: skip
def test_a_value_of_another_json_type_is_refused_on_its_field(auth_client, existing, method, path, body, field):
    response = getattr(auth_client, method)(path.format(**existing), body, format="json")
    assert refused_on(response, field)["error"][0]["message"].startswith("Must be a JSON ")


def test_every_mistyped_and_invalid_field_is_listed_in_field_order(auth_client, existing):
    response = auth_client.post("/api/issues", {"workflow": 3, "client_issue_id": 1, "details": []}, format="json")
    fields = [e["field"] for e in refused_on(response, "client_issue_id")["error"]]
    assert fields == ["client_issue_id", "workflow", "details"]


def test_an_integer_valued_float_is_an_integer(auth_client, existing):
    body = {"status": "En preparación", "expected_version": 1.0}
    assert auth_client.put("/api/issues/status/S-1", body, format="json").status_code == 200


def test_null_command_id_is_refused(auth_client, existing):
    body = {"type": "AddNote", "client_issue_id": "S-1", "text": "hi", "command_id": None}
    refused_on(auth_client.post("/api/commands", body, format="json"), "command_id")


def test_a_batch_item_that_is_no_object_fails_the_batch(auth_client, existing):
    response = auth_client.post("/api/commands/batch", {"commands": [[None, None]]}, format="json")
    refused_on(response, "commands.0")
    refused_on(auth_client.post("/api/commands/batch", {"commands": []}, format="json"), "commands")


def test_update_issue_details_needs_details(auth_client, existing):
    body = {"type": "UpdateIssueDetails", "client_issue_id": "S-1", "webhook_url": "https://e.com/x"}
    refused_on(auth_client.post("/api/commands", body, format="json"), "details")
    body["details"] = {}
    assert auth_client.post("/api/commands", body, format="json").status_code == 202


def test_a_command_without_a_body_is_refused(auth_client):
    refused_on(auth_client.post("/api/commands", content_type="application/json"), "type")


# --- Text: as sent, not trimmed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [({"type": "AddNote", "client_issue_id": "S-1", "text": "   "}, "text"),
     ({"type": "CancelIssue", "client_issue_id": "S-1", "reason": "\t\n"}, "reason"),
     ({"type": "ChangeStatus", "client_issue_id": "S-1", "status": "\u3000"}, "status"),
     ({"type": "CreateIssue", "client_issue_id": "S-9", "workflow": "  "}, "workflow")],
)  # fmt: skip
def test_text_of_spaces_only_is_blank(auth_client, existing, body, field):
    assert refused_on(auth_client.post("/api/commands", body, format="json"), field)["warning"]["code"] == "blank"


def test_text_is_stored_as_sent(auth_client, existing):
    body = {"status": "En preparación", "note": "  two spaces either side  "}
    assert auth_client.put("/api/issues/status/S-1", body, format="json").status_code == 200
    assert auth_client.get("/api/issues/S-1/history").json()["data"]["results"][-1]["note"] == body["note"]


@pytest.mark.parametrize("client_issue_id", [" S-3", "S-3 ", "S-3\u00a0", "\u2003S-3"])
def test_a_client_issue_id_with_a_space_at_either_end_is_refused(auth_client, delivery, client_issue_id):
    refused_on(auth_client.post("/api/issues", {"client_issue_id": client_issue_id}, format="json"), "client_issue_id")
    assert not Issue.objects.exists()


def test_a_space_inside_a_client_issue_id_is_fine(auth_client, delivery):
    assert auth_client.post("/api/issues", {"client_issue_id": "S 3"}, format="json").status_code == 201


def _characters():
    """All of the Basic Multilingual Plane (where every control and space character is), and a
    sample of the planes above."""
    points = [*range(0x10000), *range(0x10000, sys.maxunicode + 1, 97)]
    return (chr(c) for c in points if unicodedata.category(chr(c)) != "Cs")


def test_the_client_issue_id_rule_and_its_pattern_agree_on_each_character():
    pattern = re.compile(limits.CLIENT_ISSUE_ID_PATTERN)
    for char in _characters():
        for value in (char, f"a{char}", f"{char}a", f"a{char}a"):
            assert (limits.client_issue_id_problem(value) is None) == bool(pattern.fullmatch(value)), repr(value)


def test_the_not_blank_pattern_is_what_strip_leaves_on_each_character():
    pattern = re.compile(NOT_BLANK_PATTERN)
    for char in _characters():
        assert bool(pattern.search(f" {char} ")) == bool(char.strip()), repr(char)


# --- Webhook URLs and secrets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["0", "https://", "ftp://e.com/", "https://e.com:99999/", "https://[::g]/", "https://e.com/\n",
            " https://e.com/", "https://ex ample.com/", "https://é.com/"],
)  # fmt: skip
def test_a_url_outside_the_pattern_is_refused_on_url(auth_client, url):
    assert not re.fullmatch(WEBHOOK_URL_PATTERN, url)
    refused_on(auth_client.post("/api/webhooks", {"url": url}, format="json"), "url")


@pytest.mark.parametrize("url", ["http://0", "https://e.com:65535/a?b#c", "https://[2606:4700::1111]:8443/",
                                 "HTTPS://E.COM", "http://a;b/@x"])  # fmt: skip
def test_a_url_of_the_pattern_is_taken(auth_client, url):
    assert re.fullmatch(WEBHOOK_URL_PATTERN, url)
    assert auth_client.post("/api/webhooks", {"url": url}, format="json").status_code == 201


def test_every_url_and_secret_the_patterns_allow_the_services_take(settings):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # as when fuzzing: the address rule is the service's alone

    urls, secrets = (st.from_regex(p, fullmatch=True) for p in (WEBHOOK_URL_PATTERN, WEBHOOK_SECRET_PATTERN))

    @hypothesis.settings(max_examples=200, deadline=None, database=None)
    @hypothesis.given(urls, secrets)
    def check(url, secret):
        assert validate_webhook_url(url) == url
        assert _validate_secret(secret) == secret

    check()


def test_the_url_pattern_takes_every_form_of_an_ipv6_address():
    rnd = random.Random(7)
    for _ in range(500):
        groups = [rnd.choice([0, 0, rnd.randrange(1 << 16)]) for _ in range(8)]
        texts = [format(g, "x") for g in groups]
        v4 = ".".join(str(b) for b in ipaddress.IPv6Address(":".join(texts)).packed[12:])
        forms = {":".join(texts), ":".join(texts[:6]) + ":" + v4}
        for start in range(8):  # a run of zero groups written as "::"
            for end in range(start + 1, 9):
                if not any(groups[start:end]):
                    forms.add(":".join(texts[:start]) + "::" + ":".join(texts[end:]))
                    if end <= 6:
                        forms.add(":".join(texts[:start]) + "::" + ":".join([*texts[end:6], v4]))
        for form in forms:
            ipaddress.IPv6Address(form)
            assert re.fullmatch(WEBHOOK_URL_PATTERN, f"https://[{form}]:8443/"), form


def test_an_issue_webhook_url_may_be_empty_or_a_url(auth_client, delivery):
    empty = {"client_issue_id": "W-1", "webhook_url": ""}
    assert auth_client.post("/api/issues", empty, format="json").status_code == 201
    response = auth_client.post("/api/issues", {"client_issue_id": "W-2", "webhook_url": "0"}, format="json")
    refused_on(response, "webhook_url")


@pytest.mark.parametrize(
    ("secret", "ok"),
    [("T", False), ("whsec_" + "A" * 31, False), ("whsec_" + "A" * 32, True), ("whsec_" + "A" * 86 + "==", True),
     ("whsec_" + "A" * 88, False)],
)  # fmt: skip
def test_a_secret_is_taken_exactly_when_it_matches_the_pattern(auth_client, secret, ok):
    assert bool(re.fullmatch(WEBHOOK_SECRET_PATTERN, secret)) == ok
    response = auth_client.post("/api/webhooks", {"url": "https://e.com/", "secret": secret}, format="json")
    if ok:
        assert response.status_code == 201
    else:
        refused_on(response, "secret")


# --- Uploads ----------------------------------------------------------------------------------


def test_an_empty_kind_is_refused_not_taken_as_other(auth_client, existing):
    upload = {"file": SimpleUploadedFile("a.txt", b"hi", "text/plain"), "kind": ""}
    refused_on(auth_client.post("/api/issues/S-1/files", upload, format="multipart"), "kind")


# --- The schema -------------------------------------------------------------------------------


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_post_and_put_body_is_required(schema):
    bodies = [(method, op) for _, method, op in _operations(schema) if "requestBody" in op]
    assert all(op["requestBody"]["required"] for method, op in bodies if method in ("post", "put"))
    assert schema["paths"]["/api/commands"]["post"]["requestBody"]["required"] is True


def test_every_operation_documents_400(schema):
    assert all("400" in op["responses"] for _, _, op in _operations(schema))


def test_links_lead_from_created_objects_to_their_operations(schema):
    links = schema["paths"]["/api/issues"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} >= {
        "issues_get", "issues_change_status", "issues_history", "issues_files_list",
    }  # fmt: skip
    assert links["GetIssue"]["parameters"] == {"client_issue_id": "$response.body#/data/client_issue_id"}
    webhook = schema["paths"]["/api/webhooks"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in webhook.values()} >= {
        "webhooks_get", "webhooks_update", "webhooks_delete", "webhooks_test", "webhooks_deliveries_list",
    }  # fmt: skip
    assert all(link["parameters"] == {"webhook_id": "$response.body#/data/id"} for link in webhook.values())
    known = {op["operationId"] for _, _, op in _operations(schema)}
    responses = [response for _, _, op in _operations(schema) for response in op["responses"].values()]
    targets = [link["operationId"] for response in responses for link in response.get("links", {}).values()]
    assert targets and set(targets) <= known


def test_paginated_lists_document_limit_and_cursor(schema):
    lists = ["/api/issues", "/api/webhooks", "/api/webhooks/{webhook_id}/deliveries", "/api/commands", "/api/workflows",
             "/api/issues/{client_issue_id}/history", "/api/issues/{client_issue_id}/files"]  # fmt: skip
    for path in lists:
        parameters = {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}
        assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 200}, path
        assert parameters["cursor"]["pattern"] == CURSOR_PATTERN, path
    feed = {p["name"]: p["schema"] for p in schema["paths"]["/api/events"]["get"]["parameters"]}
    assert (feed["limit"]["minimum"], feed["limit"]["maximum"]) == (1, 500)


def test_body_fields_are_documented_as_they_are_checked(schema):
    components = schema["components"]["schemas"]
    assert components["IssueCreateInputRequest"]["properties"]["details"] == {
        "type": "object", "additionalProperties": True,
    }  # fmt: skip
    client_issue_id = components["IssueCreateInputRequest"]["properties"]["client_issue_id"]
    assert client_issue_id["pattern"] == limits.CLIENT_ISSUE_ID_PATTERN.replace(r"\x", r"\u00")
    assert components["AddNoteCommandRequest"]["properties"]["text"]["pattern"]
    commands = components["BatchRequestDocRequest"]["properties"]["commands"]
    assert (commands["minItems"], commands["maxItems"], commands["items"]["type"]) == (1, 100, "object")
    assert "details" in components["UpdateIssueDetailsCommandRequest"]["required"]
    assert components["FileUploadInputRequest"]["properties"]["file"] == {
        "type": "string", "format": "binary", "minLength": 1,
    }  # fmt: skip
    assert components["WebhookCreateInputRequest"]["properties"]["secret"]["pattern"] == WEBHOOK_SECRET_PATTERN


def test_file_content_documents_any_type(schema):
    content = schema["paths"]["/api/files/{file_id}/content"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/octet-stream", "*/*"}
