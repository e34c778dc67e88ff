"""Serializer fields whose OpenAPI schema says what the server accepts: a value the schema allows
is not refused for its shape, and one it forbids is not accepted.

The limits of API.md §11 come from getitdone.limits, so that a serializer refuses at once, with
the dotted path of what breaks it, what the services would refuse later. Patterns are written
for both dialects they are read in (Python's `re` here, ECMA 262 in the schema): no `\\s`, no
`\\d`, and a validator that matches the whole value.
"""

from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from getitdone import limits
from webhooks.signing import SECRET_PATTERN


def validation_error(problem: limits.Problem, base: str) -> serializers.ValidationError:
    """A limits.Problem as DRF's error detail under the field `base` (the envelope then names
    `base.rest.of.the.path`)."""
    rest = problem.field.removeprefix(base).lstrip(".")
    detail = [serializers.ErrorDetail(problem.message, problem.code)]
    return serializers.ValidationError({rest: detail} if rest else detail)


def form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """A query string or a multipart form as a plain dict (the last value of a repeated name).

    DRF reads a QueryDict as an HTML form, where an empty value of an optional field means "not
    given"; in a plain dict `?type=` or `kind=` is the empty string, refused as the schema says."""
    return {key: data.get(key) for key in data}


class FullMatchValidator(RegexValidator):
    """A RegexValidator (drf-spectacular shows its pattern) that must match the whole value:
    Python's `$` also matches before a final newline, ECMA 262's does not."""

    def __call__(self, value: Any) -> None:
        if not self.regex.fullmatch(str(value)):
            raise serializers.ValidationError(self.message, code=self.code)


# Text that is not all spaces (a pattern is searched for, not anchored): any character but
# those str.strip() removes.
NOT_BLANK_PATTERN = rf"[^\t\n\x0b\x0c\r\x1c-\x1f\x85{limits.SPACES}]"

_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = rf"(?:{_H16}:{_H16}|{_OCTET}(?:\.{_OCTET}){{3}})"


def _groups(count: int) -> str:
    return f"(?:{_H16}:){{{count}}}" if count else ""


def _before_gap(most: int) -> str:
    """Up to `most` groups before the `::`."""
    return f"(?:(?:{_H16}:){{0,{most - 1}}}{_H16})?" if most > 1 else f"(?:{_H16})?"


# RFC 3986 IPv6address, which Python's ipaddress (so urlsplit) accepts too.
_IPV6 = "(?:" + "|".join(
    [f"{_groups(6)}{_LS32}", f"::{_groups(5)}{_LS32}"]
    + [f"{_before_gap(n)}::{_groups(5 - n)}{_LS32}" for n in range(1, 6)]
    + [f"{_before_gap(6)}::{_H16}", f"{_before_gap(7)}::"]
) + ")"  # fmt: skip
_PORT = "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# http(s), an ASCII host (an RFC 3986 reg-name with a letter or digit, or a bracketed IPv6
# address), an optional port, then any printable ASCII: what webhooks.addresses.parse takes.
WEBHOOK_URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:[-A-Za-z0-9._~!$&'()*+,;=]*[A-Za-z0-9][-A-Za-z0-9._~!$&'()*+,;=]*|\[{_IPV6}\])"
    rf"(?::{_PORT})?(?:[/?#][!-~]*)?$"
)


@extend_schema_field({"type": "object", "additionalProperties": True})
class DetailsField(serializers.JSONField):
    """Free JSON, but an object within the `details` limits."""

    def to_internal_value(self, data: Any) -> dict:
        value = super().to_internal_value(data)
        if problem := limits.details_problem(value, field=self.field_name):
            raise validation_error(problem, self.field_name)
        return value


class NonBlankCharField(serializers.CharField):
    """Text with a character that is not a space, taken as sent: trimmed, "   " was a `blank`
    the schema did not state, and "x" and 2,000 spaces passed a maxLength of 2,000."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("validators", [RegexValidator(NOT_BLANK_PATTERN, "This field may not be blank.", "blank")])
        super().__init__(**kwargs)


class ClientIssueIdField(serializers.CharField):
    """The integrator's order id: 1–100 characters, no control characters, no `/`, no space at
    either end."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", limits.CLIENT_ISSUE_ID_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        # For the schema: the rule below refuses first, with a message that says why.
        kwargs.setdefault("validators", [FullMatchValidator(limits.CLIENT_ISSUE_ID_PATTERN)])
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if problem := limits.client_issue_id_problem(value, field=self.field_name):
            raise validation_error(problem, self.field_name)
        return value


class KeyField(serializers.CharField):
    """`command_id`: 1–255 printable ASCII characters (the pattern shows in the schema)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", limits.KEY_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("validators", [FullMatchValidator(limits.KEY_PATTERN)])
        super().__init__(**kwargs)


class WebhookUrlField(serializers.CharField):
    """The shape of a webhook URL; webhooks.services checks it again, with the rules that
    depend on the deployment (https only, and a public address, unless private URLs are allowed)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("validators", [FullMatchValidator(WEBHOOK_URL_PATTERN, "Must be an http(s) URL.")])
        kwargs.setdefault("help_text", "https, to a public address (http and private ones where the server allows)")
        super().__init__(**kwargs)


class OptionalWebhookUrlField(WebhookUrlField):
    """An issue's webhook_url: a URL, or "" for none (drf-spectacular documents that as a oneOf)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


class WebhookSecretField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 120)
        kwargs.setdefault("trim_whitespace", False)
        message = "Must be whsec_ and the base64 of 24 to 64 bytes."
        kwargs.setdefault("validators", [FullMatchValidator(SECRET_PATTERN, message)])
        super().__init__(**kwargs)


def _json_type(field: serializers.Field) -> str | None:
    """The JSON type a field's schema states, where DRF would convert another (lists, objects
    and free JSON it checks itself)."""
    if isinstance(field, serializers.BooleanField):
        return "boolean"
    if isinstance(field, serializers.IntegerField):
        return "integer"
    if isinstance(field, serializers.FloatField):
        return "number"
    if isinstance(field, serializers.CharField):
        return "string"
    if isinstance(field, serializers.MultipleChoiceField):
        return None
    if isinstance(field, serializers.ChoiceField) and all(isinstance(choice, str) for choice in field.choices):
        return "string"
    return None


def _is_json_type(value: Any, json_type: str) -> bool:
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "integer":  # 1.0 is an integer to JSON Schema
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if json_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


class StrictSerializer(serializers.Serializer):
    # For JSON bodies (a comment, not a docstring: drf-spectacular would show that on every
    # subclass). A value of another JSON type than its field's is a 422 on that field, where DRF
    # would convert 1 to "1", "yes" to True and "2" to 2; `null` is left to the field. Query
    # strings hold only strings, so their serializers stay plain.

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        mistyped = {}
        for name, field in self.fields.items():
            json_type = None if field.read_only else _json_type(field)
            if json_type and data.get(name) is not None and not _is_json_type(data[name], json_type):
                mistyped[name] = [serializers.ErrorDetail(f"Must be a JSON {json_type}.", code="invalid")]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not mistyped or not isinstance(exc.detail, dict):
                raise
            errors = {**exc.detail, **mistyped}
        else:
            if not mistyped:
                return value
            errors = mistyped
        # In the order of the fields: the envelope's `warning` names the first.
        raise serializers.ValidationError({name: errors[name] for name in [*self.fields, *errors] if name in errors})
