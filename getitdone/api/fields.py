"""Serializer fields for the limits of API.md §11 (getitdone.limits), so that a serializer
refuses at once, with the dotted path of what breaks it, what the services would refuse later."""

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from getitdone import limits


def validation_error(problem: limits.Problem, base: str) -> serializers.ValidationError:
    """A limits.Problem as DRF's error detail under the field `base` (the envelope then names
    `base.rest.of.the.path`)."""
    rest = problem.field.removeprefix(base).lstrip(".")
    detail = [serializers.ErrorDetail(problem.message, problem.code)]
    return serializers.ValidationError({rest: detail} if rest else detail)


class DetailsField(serializers.JSONField):
    """Free JSON, but an object within the `details` limits."""

    def to_internal_value(self, data: Any) -> dict:
        value = super().to_internal_value(data)
        if problem := limits.details_problem(value, field=self.field_name):
            raise validation_error(problem, self.field_name)
        return value


class ClientIssueIdField(serializers.CharField):
    """The integrator's order id: 1–100 characters, no control characters, no `/`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", limits.CLIENT_ISSUE_ID_MAX_LENGTH)
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
        kwargs.setdefault("validators", [RegexValidator(limits.KEY_PATTERN)])
        super().__init__(**kwargs)
