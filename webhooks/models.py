"""The event log: the transactional outbox that webhooks push and integrators poll."""

import os
import time

from django.db import models

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id() -> str:
    """`evt_` + a ULID: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "evt_" + "".join(reversed(chars))


class EventSequence(models.Model):
    """Per-integrator counter behind `Event.sequence`.

    `publish` increments it with an UPDATE, which holds the row lock until the publishing
    transaction ends. A second transaction of the same integrator waits for that commit before
    it gets the next number, so sequence order is commit order: a poller that has seen N can
    never later find a committed event below N.
    """

    integrator = models.OneToOneField("fulfillment.Integrator", primary_key=True, on_delete=models.CASCADE)
    last_value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"integrator {self.integrator_id}: {self.last_value}"


class Event(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    integrator = models.ForeignKey("fulfillment.Integrator", on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=60, db_index=True)
    sequence = models.BigIntegerField()
    api_version = models.CharField(max_length=10, default="1")
    data = models.JSONField()
    # Lets admin show an issue's events; the payload itself carries what integrators need.
    issue = models.ForeignKey("orders.Issue", null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["integrator_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["integrator", "sequence"], name="event_sequence_unique_per_integrator"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} ({self.id})"

    def representation(self) -> dict:
        """The JSON that webhooks carry and polling returns (API.md §6)."""
        return {
            "id": self.id,
            "type": self.type,
            "timestamp": self.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "sequence": self.sequence,
            "api_version": self.api_version,
            "data": self.data,
        }
