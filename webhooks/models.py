"""The event log: the transactional outbox that webhooks push and integrators poll."""

import os
import time
from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from getitdone.crypto import EncryptedTextField
from getitdone.formats import iso_timestamp

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id() -> str:
    """`evt_` + a ULID: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _n in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "evt_" + "".join(reversed(chars))


class EventSequence(models.Model):
    """Per-integrator counter behind `Event.sequence`.

    The increment holds the counter's row lock until the publishing transaction ends, so a
    second transaction of the same integrator gets the next number only after the first has
    committed: sequence order is commit order, and a poller that has seen N can never later
    find a committed event below N.

    On PostgreSQL the number is taken as late as possible, by a deferred constraint trigger that
    runs at COMMIT (migration 0005): the lock is then held for the commit alone, not for the
    rest of the publishing transaction. Elsewhere (SQLite, which serializes writers anyway)
    `publish` takes it at insert.
    """

    integrator = models.OneToOneField("fulfillment.Integrator", primary_key=True, on_delete=models.CASCADE)
    last_value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"integrator {self.integrator_id}: {self.last_value}"


class Event(models.Model):
    id = models.CharField(_("id"), primary_key=True, max_length=40, default=new_event_id, editable=False)
    integrator = models.ForeignKey(
        "fulfillment.Integrator", on_delete=models.CASCADE, related_name="events", verbose_name=_("integrator")
    )
    type = models.CharField(_("type"), max_length=60, db_index=True)
    # Null only inside the publishing transaction, until the commit-time trigger stamps it.
    sequence = models.BigIntegerField(_("sequence"), null=True, blank=True)
    api_version = models.CharField(_("API version"), max_length=10, default="1")
    data = models.JSONField(_("data"))
    # Lets admin show an issue's events; the payload itself carries what integrators need.
    issue = models.ForeignKey(
        "orders.Issue", null=True, blank=True, on_delete=models.SET_NULL, related_name="events", verbose_name=_("order")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    # The W3C trace context of the request or command that caused it (API.md §1): its deliveries
    # carry the same trace id. '' for an event from before tracing.
    traceparent = models.CharField(_("trace context"), max_length=55, blank=True, default="", db_default="")

    class Meta:
        ordering = ["integrator_id", "sequence"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.UniqueConstraint(fields=["integrator", "sequence"], name="event_sequence_unique_per_integrator"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} ({self.id})"

    @property
    def trace_id(self) -> str:
        return self.traceparent[3:35]

    def representation(self) -> dict:
        return event_representation(self.id, self.type, self.created_at, self.sequence, self.api_version, self.data)


def event_representation(
    id: str, type: str, created_at: datetime, sequence: int | None, api_version: str, data: Any
) -> dict:
    """The JSON that webhooks carry and polling returns (API.md §6); from plain values too, so
    the sender need not build model instances."""
    return {
        "id": id,
        "type": type,
        "timestamp": iso_timestamp(created_at),
        "sequence": sequence,
        "api_version": api_version,
        "data": data,
    }


class WebhookEndpoint(models.Model):
    """Where an integrator wants its events POSTed, and how healthy that receiver is."""

    integrator = models.ForeignKey(
        "fulfillment.Integrator", on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("integrator")
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=300, blank=True, default="")
    event_types = models.JSONField(_("event types"), default=list, blank=True, help_text=_("Empty: every type."))
    secret = EncryptedTextField(_("signing secret"), max_length=120)
    # After a rotation the old secret keeps signing (a second `v1,` signature) until this time.
    previous_secret = EncryptedTextField(_("previous signing secret"), max_length=120, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(_("previous secret signs until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True, default="")
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    failing_since = models.DateTimeField(
        _("failing since"), null=True, blank=True, help_text=_("First failure of the current streak.")
    )
    failure_streak = models.PositiveIntegerField(_("failures in a row"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Readiness(models.TextChoices):
    """Whether a pending delivery is for a claim to find: only ready ones are indexed for it, so
    receivers that are down (their deliveries waiting for retries) or disabled (paused) cost a
    claim nothing however many deliveries they hold."""

    READY = "ready", _("ready")
    WAITING = "waiting", _("waiting for retry")
    PAUSED = "paused", _("paused: its endpoint is disabled")


def readiness_for(endpoint: "WebhookEndpoint | None") -> str:
    """A delivery sent now to this endpoint (None: an issue's own URL) is ready, unless the
    endpoint is disabled: then it is paused until it is enabled."""
    return Readiness.PAUSED if endpoint is not None and not endpoint.is_active else Readiness.READY


def unleased(now: datetime) -> models.Q:
    """Deliveries no worker holds a live lease on."""
    return models.Q(locked_until__isnull=True) | models.Q(locked_until__lt=now)


class Delivery(models.Model):
    """One event to one URL. The row is the truth: the broker only wakes a worker up."""

    # Every index here is written twice per delivery sent (its lease, then its outcome), so none
    # is kept twice: the event's is a plain one (not also a LIKE one for a text key), and the
    # endpoint's is delivery_endpoint_idx.
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries", db_index=False, verbose_name=_("event")
    )
    integrator = models.ForeignKey(
        "fulfillment.Integrator", on_delete=models.CASCADE, related_name="+", verbose_name=_("integrator")
    )
    # Null for the issue's own webhook_url, signed with the integrator's default secret.
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries", db_index=False,
        verbose_name=_("endpoint"),
    )  # fmt: skip
    url = models.URLField(_("URL"), max_length=500)
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Automatic attempts only: the retry schedule follows this count. Manual ones (API.md §7: a
    # manual retry is an extra attempt) are counted apart, so that they use none of it up.
    attempt_count = models.PositiveIntegerField(_("automatic attempts"), default=0)
    # Not a PositiveIntegerField: its CHECK would have the migration adding it scan the table.
    manual_attempt_count = models.IntegerField(_("manual attempts"), default=0, db_default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # While a manual retry waits to be made: the delivery as it was before it (the status, and
    # the time of its next automatic attempt), restored if that attempt fails. Empty otherwise.
    status_before_retry = models.CharField(
        _("status before the manual retry"), max_length=20, blank=True, default="", db_default=""
    )
    next_attempt_before_retry = models.DateTimeField(_("next attempt before the manual retry"), null=True, blank=True)
    # A worker's lease while it sends; a dead worker's runs out, and the next claim takes the delivery.
    locked_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    # For pending deliveries: a retry waits until next_attempt_at, when a claim (or the sweep)
    # makes it ready again; disabling its endpoint pauses it, enabling makes it ready (and the
    # sweep readies what is paused for an endpoint that is active, however it became so).
    # A database default too, so that processes still running the code before it can insert.
    readiness = models.CharField(
        _("readiness"), max_length=10, choices=Readiness.choices, default=Readiness.READY, db_default=Readiness.READY
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            # Each receiver URL's ready deliveries in claim order: a claim walks URL by URL. (No
            # index on next_attempt_at over all pending: it misled the planner, commit a8ffb97.)
            models.Index(
                fields=["url", "next_attempt_at", "id"],
                name="delivery_receiver_ready_idx",
                condition=models.Q(status="pending", readiness="ready"),
            ),
            # Retries in time order: those whose time has come are made ready.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_waiting_idx",
                condition=models.Q(status="pending", readiness="waiting"),
            ),
            # Paused deliveries by endpoint: the sweep looks up each active endpoint's.
            models.Index(
                fields=["endpoint"],
                name="delivery_paused_idx",
                condition=models.Q(status="pending", readiness="paused"),
            ),
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_idx"),
            models.Index(fields=["event"], name="delivery_event_idx"),
            # Live leases, counted per URL by every claim (the per-receiver in-flight cap).
            models.Index(
                fields=["url", "locked_until"],
                name="delivery_leased_idx",
                condition=models.Q(status="pending", locked_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.url} ({self.status})"

    @property
    def attempts_made(self) -> int:
        """Every attempt logged, automatic and manual: the last one's number."""
        return self.attempt_count + self.manual_attempt_count


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("delivery")
    )
    # One sequence for both kinds: automatic and manual attempts, in the order they were made.
    number = models.PositiveIntegerField(_("number"))
    # Asked for by the retry call or in admin: an extra attempt, outside the retry schedule.
    manual = models.BooleanField(_("manual"), default=False, db_default=False)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    http_status = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True, default="")
    response_body = models.TextField(_("response"), blank=True, default="", help_text=_("First 1 KiB."))

    class Meta:
        ordering = ["delivery_id", "number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.http_status or self.error}"
