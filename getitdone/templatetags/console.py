"""Template filters of the support console."""

from typing import Any

from django import template
from django.utils.safestring import SafeString

from getitdone.admin import pretty_json as _pretty_json

register = template.Library()


@register.filter
def pretty_json(value: Any) -> SafeString:
    """{{ event.data|pretty_json }}: indented, read-only."""
    return _pretty_json(value)
