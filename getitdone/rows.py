"""Model instances from hand-written SQL, for the few queries every API request runs.

Compiling a queryset costs about a millisecond of Python per query on this stack, more than the
query itself takes in PostgreSQL: the token check and the issue family run on every request, and
a command's claim, history, note, event and outcome on every command, so their SQL is written
once, here and in their selectors and services. The rows come back as the same model instances
the ORM would build (columns in field order, values through the fields' converters, unselected
fields deferred), and values go in as the ORM would write them (through the fields'
`pre_save` and `get_db_prep_save`). Everything else uses the ORM.
"""

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model


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


def placeholders(values: Sequence[Any]) -> str:
    """`%s, %s, …`, one per value: for `IN (…)` (psycopg adapts no tuple to a list, and SQLite
    has no `= ANY`)."""
    return ", ".join(["%s"] * len(values))


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run a write; returns how many rows it touched."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert(objs: Sequence[Model]) -> None:
    """INSERT instances of one model in one statement, as `bulk_create` would: auto fields
    (`auto_now_add`) set on the instances, an auto primary key read back into them."""
    if not objs:
        return
    model = type(objs[0])
    into, fields, auto_pk = _insert_statement(model)
    if auto_pk is not None and not connection.features.can_return_rows_from_bulk_insert:
        model._base_manager.bulk_create(objs)  # no RETURNING: let the ORM read the ids back
        return
    row = f"({placeholders(fields)})"
    sql = into + ", ".join([row] * len(objs))
    if auto_pk is not None:
        sql += f" RETURNING {connection.ops.quote_name(auto_pk.column)}"
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if auto_pk is not None:
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, auto_pk.attname, pk)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def assignments(model: type[Model], values: dict[str, Any]) -> tuple[str, list[Any]]:
    """An UPDATE's `"column" = %s, …` for these attnames, and the values as the ORM would write
    them, to go before the caller's own WHERE parameters."""
    fields = [model._meta.get_field(name) for name in values]
    sql = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    return sql, [f.get_db_prep_save(values[f.attname], connection) for f in fields]


@functools.cache
def _insert_statement(model: type[Model]) -> tuple[str, list[Field], Field | None]:
    """`INSERT INTO t (columns) VALUES `, its fields in order, and the auto primary key the
    database assigns (if any), which it leaves out."""
    pk = model._meta.pk
    auto_pk = pk if pk.db_returning else None
    fields = [f for f in model._meta.concrete_fields if f is not auto_pk]
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES ",
        fields,
        auto_pk,
    )
