"""Model instances from hand-written SQL, for the few queries every API request runs.

Compiling a queryset costs about a millisecond of Python per query on this stack, more than the
query itself takes in PostgreSQL: the token check and the issue family run on every request, so
their SQL is written once, here and in their selectors, and the rows come back as the same model
instances the ORM would build (columns in field order, values through the fields' converters,
unselected fields deferred). Everything else uses the ORM.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


class Columns:
    """The columns of `model` under a table alias, for a SELECT list, and how to load them back."""

    def __init__(
        self, model: type[Model], alias: str, *, only: Sequence[str] = (), exclude: Sequence[str] = ()
    ) -> None:
        self.model = model
        self.fields = [
            f for f in model._meta.concrete_fields if (not only or f.attname in only) and f.attname not in exclude
        ]
        self.names = [f.attname for f in self.fields]
        self.alias = alias
        self.sql = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self._converters: list[tuple[int, list[Any], Any]] | None = None

    def __len__(self) -> int:
        return len(self.fields)

    def values(self, row: Sequence[Any], start: int = 0) -> list[Any]:
        """The values of the columns that start at row[start], as the ORM would load them."""
        values = list(row[start : start + len(self.fields)])
        for index, converters, column in self._field_converters():
            if values[index] is not None:
                for convert in converters:
                    values[index] = convert(values[index], column, connection)
        return values

    def load(self, row: Sequence[Any], start: int = 0) -> Model:
        """The instance whose columns start at row[start]."""
        return self.model.from_db(connection.alias, self.names, self.values(row, start))

    def _field_converters(self) -> list[tuple[int, list[Any], Any]]:
        if self._converters is None:  # the backend's, then the field's: the compiler's order
            columns = [(index, field.get_col(self.alias)) for index, field in enumerate(self.fields)]
            self._converters = [
                (index, converters, column)
                for index, column in columns
                if (converters := connection.ops.get_db_converters(column) + column.get_db_converters(connection))
            ]
        return self._converters


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run a write; returns how many rows it touched."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
