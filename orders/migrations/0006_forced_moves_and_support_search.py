"""A forced move is recorded as such; and the indexes the support console's search runs on.

Support staff find an order by the integrator's id (exact or prefix) or by the customer's name
or phone in `details`. On PostgreSQL: a btree with pattern ops serves `client_issue_id LIKE
'abc%'`; trigram GIN indexes serve the case-insensitive `LIKE '%…%'` the admin runs on
`details.customer.name` and `.phone` (pg_trgm is a trusted extension: a database owner may
create it). The expressions are the ones Django writes for `details__customer__name__icontains`,
so the planner matches them. SQLite (the embedded development database) gets none.

The indexes are built CONCURRENTLY (so not in a transaction): a plain CREATE INDEX would block
every write to the table while it builds. `forced` has a database default, so processes of the
previous release, which insert history rows without it, keep working during a rolling deploy.
"""

from django.db import migrations, models

_INDEXES = [
    ("issue_client_id_prefix_idx", "btree (client_issue_id text_pattern_ops)"),
    ("issue_customer_name_trgm_idx", "gin ((UPPER(details #>> '{customer,name}')) gin_trgm_ops)"),
    ("issue_customer_phone_trgm_idx", "gin ((UPPER(details #>> '{customer,phone}')) gin_trgm_ops)"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in _INDEXES:
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON orders_issue USING {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _definition in _INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("orders", "0005_actor_id_holds_a_command_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="statuschange",
            name="forced",
            field=models.BooleanField(default=False, db_default=False),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
