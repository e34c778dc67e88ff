"""No input breaks the API (API.md §1, §11): junk bodies on every write endpoint, junk ids in
paths, tampered cursors and junk query parameters all get a 4xx in the envelope, and a refused
request writes nothing."""

import base64
import json

import pytest

from commands.models import Command
from orders.models import Issue, IssueFile, IssueNote, StatusChange
from webhooks.models import Delivery, Event, WebhookEndpoint

pytestmark = pytest.mark.django_db

MODELS = (Issue, StatusChange, IssueNote, IssueFile, Event, Delivery, Command, WebhookEndpoint)

DEEP_ARRAY = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"details": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001

JUNK_BODIES = {
    "nul byte": b"\x00",
    "truncated": b'{"client_issue_id": "x',
    "array": b"[]",
    "string": b'"text"',
    "null": b"null",
    "number": b"123",
    "nan": b'{"details": {"a": NaN}}',
    "infinity": b'{"client_issue_id": "J", "details": {"a": 1e400}}',
    "huge int": b'{"client_issue_id": "J-1", "status": "x", "expected_version": 1' + b"0" * 40 + b"}",
    "too many digits": b'{"details": {"a": 1' + b"0" * 5000 + b"}}",
    "deep array": DEEP_ARRAY,
    "deep object": DEEP_OBJECT,
    "nul in key": b'{"client_issue_id": "J", "details": {"a\\u0000": 1}}',
    "nul in value": b'{"client_issue_id": "J\\u0000", "status": "x\\u0000", "url": "https://e.com/\\u0000"}',
    "surrogate": b'{"client_issue_id": "\\ud800", "details": {"\\udfff": "\\ud800"}, "url": "https://\\ud800.com"}',
    "invalid utf-8": b'{"client_issue_id": "\xff\xfe"}',
    "wrong types": b'{"client_issue_id": ["x"], "details": "x", "children": "x", "event_types": "x", "commands": "x"}',
    "wrong items": b'{"children": [1, null, "x"], "event_types": [null, 1], "commands": [null, 1, "x", []]}',
    "bad urls": b'{"url": "http://[::1", "webhook_url": "https://' + b"a" * 70 + b'.com/"}',
    "superscript id": '{"client_issue_id": "J", "workflow": "¹", "status": "²"}'.encode(),
    "bad command": b'{"type": "AddNote", "client_issue_id": {"a": 1}, "text": ["x"], "command_id": ""}',
    "bad batch": b'{"commands": [{"type": "Nope"}, {"type": "AddNote", "command_id": "\\u0000"}]}',
}

WRITES = [
    ("post", "/api/issues"),
    ("put", "/api/issues/status/J-1"),
    ("post", "/api/webhooks"),
    ("patch", "/api/webhooks/{webhook}"),
    ("post", "/api/commands"),
    ("post", "/api/commands/batch"),
]


@pytest.fixture
def existing(auth_client, delivery):
    assert auth_client.post("/api/issues", {"client_issue_id": "J-1"}, format="json").status_code == 201
    webhook = auth_client.post("/api/webhooks", {"url": "https://e.com/hook"}, format="json").json()["data"]
    return {"webhook": webhook["id"]}


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in MODELS)


def assert_enveloped_4xx(response) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == response.status_code and body["status"] == "error"
    return body


@pytest.mark.parametrize("name", JUNK_BODIES)
@pytest.mark.parametrize(("method", "path"), WRITES)
def test_junk_bodies_on_every_write_endpoint(auth_client, existing, method, path, name):
    before = counts()
    response = getattr(auth_client, method)(path.format(**existing), JUNK_BODIES[name], content_type="application/json")
    if response.status_code >= 300:  # a few are valid somewhere (an ignored field, say)
        assert_enveloped_4xx(response)
        assert counts() == before


@pytest.mark.parametrize("name", ["deep array", "deep object", "nul byte"])
def test_junk_bodies_before_authentication(api_client, name):
    response = api_client.post("/api/issues", JUNK_BODIES[name], content_type="application/json")
    assert assert_enveloped_4xx(response)["code"] == 401


@pytest.mark.parametrize("name", JUNK_BODIES)
def test_junk_bodies_on_the_token_endpoint(api_client, integrator, name):
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        response = api_client.post("/oauth/token", JUNK_BODIES[name], content_type=content_type)
        assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
        assert "error" in response.json()


@pytest.mark.parametrize(
    "client_id", ["1\x00", "\ud800", "9" * 500, "1" * 40], ids=["nul", "surrogate", "over-long", "many digits"]
)
def test_junk_client_ids_on_the_token_endpoint(api_client, client_id):
    body = json.dumps({"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"})
    response = api_client.post("/oauth/token", body, content_type="application/json")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "path",
    [
        "/api/issues/%00",
        "/api/issues/a%00b/history",
        "/api/issues/status/%00",
        "/api/issues/" + "x" * 101,
        "/api/issues/%ED%A0%80",
        "/api/workflows/%C2%B9",
        "/api/workflows/%00",
        "/api/workflows/" + "9" * 40,
        "/api/files/%D9%A3",
        "/api/files/%C2%B9/content",
        "/api/files/99999999999999999999999",
        "/api/events/evt_%00",
        "/api/events/" + "e" * 61,
        "/api/commands/1%00",
        "/api/commands/%D9%A3",
        "/api/webhooks/%C2%B9",
        "/api/webhooks/1%00/deliveries",
        "/api/webhooks/99999999999999999999/deliveries/1/retry",
    ],
)
def test_ids_that_cannot_exist_are_404(auth_client, existing, path):
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(auth_client, method)(path)
        assert response.status_code in (404, 405), (method, path, response.status_code)
        assert response.json()["code"] == response.status_code


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["%00", "garbage", _cursor("p=abc"), _cursor("p=1\x00"), _cursor("p=1e5"), _cursor("p=" + "9" * 30),
     _cursor("r=x&p=1"), _cursor("o=-1"), _cursor("o=99999999999999999999"), _cursor("p=%D9%A3")],
)  # fmt: skip
@pytest.mark.parametrize(
    "path", ["/api/issues", "/api/issues/J-1/history", "/api/issues/J-1/files", "/api/webhooks", "/api/commands",
             "/api/webhooks/{webhook}/deliveries"],
)  # fmt: skip
def test_tampered_cursors_are_refused_or_harmless(auth_client, existing, path, cursor):
    response = auth_client.get(path.format(**existing) + "?cursor=" + cursor)
    if response.status_code != 200:
        assert assert_enveloped_4xx(response)["warning"]["field"] == "cursor"


@pytest.mark.parametrize(
    "query",
    ["after=%C2%B9", "after=99999999999999999999999", "after=-1", "limit=%00", "limit=%D9%A3", "type=%00",
     "after=1e3"],
)  # fmt: skip
def test_junk_feed_parameters(auth_client, query):
    response = auth_client.get("/api/events?" + query)
    if response.status_code != 200:
        assert_enveloped_4xx(response)


@pytest.mark.parametrize(
    "query", ["updated_after=%00", "updated_after=9999-99-99", "status=%00", "status=" + "s" * 500, "category=%00",
              "limit=%00", "limit=99999999999999999999"],
)  # fmt: skip
def test_junk_list_filters(auth_client, existing, query):
    for path in ("/api/issues", "/api/commands?status=%00"):
        response = auth_client.get(f"{path}{'&' if '?' in path else '?'}{query}")
        if response.status_code != 200:
            assert_enveloped_4xx(response)


def test_junk_multipart_uploads(auth_client, existing):
    before = counts()
    framing = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n\r\nhi\r\n--B--\r\n'
    for body, content_type in [
        (b"--B\r\nbroken", "multipart/form-data; boundary=B"),
        (b"no boundary", "multipart/form-data"),
        (framing, "multipart/form-data; boundary=B"),
    ]:
        response = auth_client.post("/api/issues/J-1/files", body, content_type=content_type)
        assert response.status_code < 500, response.content[:300]
        if response.status_code >= 400:
            assert_enveloped_4xx(response)
    assert counts()[:3] == before[:3]


def test_an_unterminated_string_full_of_escaped_quotes_is_refused_in_linear_time(api_client, auth_client):
    import time

    body = b"{" + b"[]" * 40 + b'"' + b'\\"' * 400_000  # 800 KB: quadratic scanning took hours
    started = time.monotonic()
    assert api_client.post("/oauth/token", body, content_type="application/json").status_code < 500
    assert auth_client.post("/api/issues", body, content_type="application/json").status_code == 400
    assert time.monotonic() - started < 5
