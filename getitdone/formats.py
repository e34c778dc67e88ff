"""How values look on the wire, the same everywhere."""

from datetime import datetime


def iso_timestamp(value: datetime | None) -> str | None:
    """UTC with milliseconds and a Z: 2026-11-22T10:00:00.123Z."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None
