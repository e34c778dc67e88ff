"""Sending deliveries: claim, sign, POST, record the attempt, schedule the next one.

One module per idea:
- `claim`: lease a batch of due deliveries (`locked_until`) and load what sending needs;
- `drain`: send batches until nothing is due, and a single delivery on demand;
- `outcomes`: the retry schedule, and each batch's outcomes recorded in one transaction;
- `health`: endpoint health, and disabling an endpoint that is gone or failing;
- `sweep`: beat's safety net, which wakes a drain whenever deliveries are due;
- `sql`: every statement, and the field lists they are generated from;
- `stores`: PostgreSQL and the embedded SQLite behind the same functions;
- `jobs`: a leased delivery as plain values.
"""

from webhooks.delivery.drain import deliveries_drain, delivery_attempt
from webhooks.delivery.outcomes import retry_delay
from webhooks.delivery.sweep import deliveries_due, deliveries_sweep

__all__ = ["deliveries_drain", "deliveries_due", "deliveries_sweep", "delivery_attempt", "retry_delay"]
