"""Path converters that match only ids that can exist (API.md §11): anything else (a NUL, a
non-ASCII digit, an over-long id) matches no route and is a 404, never a database error."""

from django.urls import register_converter

from getitdone.limits import CLIENT_ISSUE_ID_MAX_LENGTH


class PrimaryKeyConverter:
    """A row id: ASCII digits within a bigint (Django's `int` takes any length)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class ClientIssueIdConverter:
    """An integrator's order id: 1–100 characters, no control character. (Written with escapes,
    not the characters: the schema shows the pattern.)"""

    regex = rf"[^/\x00-\x1f\x7f]{{1,{CLIENT_ISSUE_ID_MAX_LENGTH}}}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class CodeConverter(ClientIssueIdConverter):
    """An event id (`evt_…`) or a workflow id or code."""

    regex = "[-A-Za-z0-9_]{1,60}"


register_converter(PrimaryKeyConverter, "pk")
register_converter(ClientIssueIdConverter, "client_issue_id")
register_converter(CodeConverter, "code")
