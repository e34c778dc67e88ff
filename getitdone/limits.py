"""The limits of API.md §11, each written once.

Serializers call these for a 422 at once; services call them again, so that every other way in
(admin forms, commands, management commands) meets the same rule. A problem is reported with the
dotted path of the field that breaks it (`details.address.city`), never as a database error.
"""

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from getitdone.errors import InvalidInput

DETAILS_MAX_BYTES = 64 * 1024
DETAILS_MAX_DEPTH = 20
CHILDREN_MAX = 100
TEXT_MAX_LENGTH = 2000  # note, AddNote.text, CancelIssue.reason
STEP_NAME_MAX_LENGTH = 120  # a status names a step by its name (fulfillment.Step.name)
CLIENT_ISSUE_ID_MAX_LENGTH = 100
KEY_MAX_LENGTH = 255  # command_id, Idempotency-Key
WEBHOOK_ENDPOINTS_MAX = 20
EVENT_TYPES_MAX = 50
# A request body may nest this deep at most: room for `details` at its own limit inside a
# command inside a batch. Deeper bodies are refused before they are parsed.
BODY_MAX_DEPTH = DETAILS_MAX_DEPTH + 12
BIGINT_MAX = 2**63 - 1

# Printable ASCII, neither starting nor ending with a space (HTTP trims a header's value).
KEY_PATTERN = rf"^[!-~](?:[ -~]{{0,{KEY_MAX_LENGTH - 2}}}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)

# Spelt out, not `\s` (which means other things in Python and in the ECMA 262 patterns of the
# schema): control characters (Unicode Cc), and the other characters str.strip() removes.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
SPACES = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# client_issue_id_problem as a pattern, its length aside (that is the schema's maxLength).
_ID_CHAR = rf"[^/{CONTROL_CHARACTERS}]"
_ID_END = rf"[^/{CONTROL_CHARACTERS}{SPACES}]"
CLIENT_ISSUE_ID_PATTERN = rf"^{_ID_END}(?:{_ID_CHAR}*{_ID_END})?$"
_CLIENT_ISSUE_ID = re.compile(CLIENT_ISSUE_ID_PATTERN)


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str

    def error(self) -> InvalidInput:
        return InvalidInput(self.message, code=self.code, field=self.field)


def text_flaw(text: str) -> str | None:
    """Why a string cannot be stored, if it cannot: PostgreSQL text and jsonb take no NUL, and
    UTF-8 cannot encode a lone surrogate."""
    if "\x00" in text:
        return "NUL characters are not allowed."
    if any("\ud800" <= c <= "\udfff" for c in text):
        return "Lone surrogate characters are not allowed."
    return None


def json_problem(value: Any, *, field: str, max_depth: int = DETAILS_MAX_DEPTH) -> Problem | None:
    """The first thing in a JSON value that breaks the limits: nesting deeper than `max_depth`
    (the value itself is depth 1), a NUL or lone surrogate in any key or string, or a number JSON
    cannot carry (NaN, infinity). Walks with a stack, so no input can exhaust recursion."""
    stack: list[tuple[Any, str, int]] = [(value, field, 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list) and depth > max_depth:
            return Problem(field, "max_depth", f"Nested deeper than {max_depth} levels (at {path}).")
        if isinstance(item, dict):
            for key, child in item.items():
                key = str(key)
                if reason := text_flaw(key):
                    return Problem(path, "invalid_character", f"A key: {reason}")
                stack.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{index}", depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            if reason := text_flaw(item):
                return Problem(path, "invalid_character", reason)
        elif isinstance(item, float) and not math.isfinite(item):
            return Problem(path, "invalid_number", "Numbers must be finite.")
    return None


def details_problem(value: Any, *, field: str = "details") -> Problem | None:
    """`details`: a JSON object, 64 KiB at most once serialized, nesting depth 20 at most, no NUL."""
    if not isinstance(value, dict):
        return Problem(field, "not_an_object", "Must be a JSON object.")
    if problem := json_problem(value, field=field):
        return problem
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > DETAILS_MAX_BYTES:
        return Problem(field, "max_size", f"{size} bytes once serialized; at most {DETAILS_MAX_BYTES}.")
    return None


def check_details(value: Any, *, field: str = "details") -> dict[str, Any]:
    """details_problem, raised as InvalidInput (422 on the field)."""
    if problem := details_problem(value, field=field):
        raise problem.error()
    return value


def text_problem(value: str, *, field: str, max_length: int) -> Problem | None:
    if reason := text_flaw(value):
        return Problem(field, "invalid_character", reason)
    if len(value) > max_length:
        return Problem(field, "max_length", f"At most {max_length} characters.")
    return None


def check_text(value: str, *, field: str, max_length: int = TEXT_MAX_LENGTH) -> str:
    if problem := text_problem(value, field=field, max_length=max_length):
        raise problem.error()
    return value


def client_issue_id_problem(value: str, *, field: str = "client_issue_id") -> Problem | None:
    """1–100 characters, no control characters, no `/` (it is a path segment), no space at
    either end (what CLIENT_ISSUE_ID_PATTERN says)."""
    if not value.strip():
        return Problem(field, "blank", "Must not be blank.")
    if problem := text_problem(value, field=field, max_length=CLIENT_ISSUE_ID_MAX_LENGTH):
        return problem
    if any(unicodedata.category(c) == "Cc" for c in value):
        return Problem(field, "invalid_character", "Control characters are not allowed.")
    if "/" in value:
        return Problem(field, "invalid_character", "Must not contain '/'.")
    if not _CLIENT_ISSUE_ID.fullmatch(value):  # all that is left: a space first or last
        return Problem(field, "invalid_character", "Must not start or end with a space.")
    return None


def check_client_issue_id(value: str, *, field: str = "client_issue_id") -> str:
    if problem := client_issue_id_problem(value, field=field):
        raise problem.error()
    return value


def key_problem(value: Any, *, field: str) -> Problem | None:
    """`command_id` and `Idempotency-Key`: 1–255 printable ASCII characters, no space at either end."""
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        return Problem(
            field, "invalid", f"Must be 1 to {KEY_MAX_LENGTH} printable ASCII characters, no space at either end."
        )
    return None


def check_key(value: Any, *, field: str) -> str:
    if problem := key_problem(value, field=field):
        raise problem.error()
    return value


def body_depth_exceeds(raw: bytes, max_depth: int = BODY_MAX_DEPTH) -> bool:
    """Whether a JSON text nests deeper than `max_depth`, found without parsing it (the parser
    recurses once per level). Brackets inside strings do not count."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False  # cannot nest deeper than it has brackets
    depth = 0
    for token in _STRUCTURE.finditer(raw):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


# Strings (skipped whole, escapes included; an unterminated one runs to the end, or every
# escaped quote in it would start the scan again: quadratic in the body) or a bracket.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)|[\[\]{}]', re.DOTALL)
