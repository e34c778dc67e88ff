"""On PostgreSQL, stamp Event.sequence at COMMIT with a deferred constraint trigger.

The per-integrator counter row is locked from the increment to the end of the transaction.
Taken at COMMIT, that is the commit alone; taken at insert, it was everything the publishing
transaction did after publishing, and one integrator's writers queued behind it.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION webhooks_event_stamp_sequence() RETURNS trigger AS $$
DECLARE
    next_value bigint;
BEGIN
    INSERT INTO webhooks_eventsequence (integrator_id, last_value) VALUES (NEW.integrator_id, 1)
    ON CONFLICT (integrator_id) DO UPDATE SET last_value = webhooks_eventsequence.last_value + 1
    RETURNING last_value INTO next_value;
    UPDATE webhooks_event SET sequence = next_value WHERE id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER webhooks_event_sequence_at_commit
AFTER INSERT ON webhooks_event
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.sequence IS NULL)
EXECUTE FUNCTION webhooks_event_stamp_sequence();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS webhooks_event_sequence_at_commit ON webhooks_event;
DROP FUNCTION IF EXISTS webhooks_event_stamp_sequence();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0004_event_sequence_nullable")]

    operations = [migrations.RunPython(forward, backward)]
