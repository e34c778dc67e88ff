"""drf-spectacular hooks."""

from typing import Any


def drop_versioned_aliases(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list:
    """`/api/v1/…` repeats `/api/…` exactly; document each operation once, under `/api/`."""
    return [e for e in endpoints if not e[0].startswith("/api/v1/")]
