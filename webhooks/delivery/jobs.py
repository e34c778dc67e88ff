"""A leased delivery as plain values (building model instances for a batch cost more CPU than
sending it), and what sending it returned."""

import json
from dataclasses import dataclass
from datetime import datetime

from getitdone import crypto
from webhooks import transport
from webhooks.delivery.sql import LOAD_FIELDS
from webhooks.models import DeliveryStatus, Readiness, event_representation


@dataclass
class Job:
    id: int
    url: str
    attempt_count: int  # automatic attempts: the retry schedule's
    manual_attempt_count: int
    # Set while the attempt to make is a manual retry: the status it restores if it fails, and
    # the time of the next automatic attempt (see Delivery.status_before_retry).
    status_before_retry: str
    next_attempt_before_retry: datetime | None
    event_id: str
    endpoint_id: int | None
    integrator_id: int
    event_type: str
    event_created_at: datetime  # its commit, near enough: where the delivery's latency starts
    traceparent: str  # the event's trace context (W3C), '' if it has none
    body: bytes
    secrets: list[str]
    lease: datetime  # our locked_until: the outcome is recorded only while it is still the row's
    status: str = DeliveryStatus.PENDING
    next_attempt_at: datetime | None = None
    readiness: str = Readiness.READY

    @classmethod
    def load(cls, row: tuple, now: datetime, lease: datetime, *, encrypted: bool) -> "Job":
        """From a row of LOAD_FIELDS. `encrypted`: read by SQL, not the ORM, so the secrets are
        still ciphertext."""
        v = dict(zip(LOAD_FIELDS, row, strict=True))
        data = v["event__data"]
        if isinstance(data, str):  # jsonb as text: Django leaves decoding to the field
            data = json.loads(data)
        payload = event_representation(
            v["event_id"], v["event__type"], v["event__created_at"], v["event__sequence"], v["event__api_version"], data
        )
        clear = crypto.decrypt if encrypted else str  # memoized: cheap for a batch
        if v["endpoint_id"] is None:
            secrets = [clear(v["integrator__webhook_secret"])]  # the issue's own webhook_url
        else:
            secrets = [clear(v["endpoint__secret"])]
            previous, expires = v["endpoint__previous_secret"], v["endpoint__previous_secret_expires_at"]
            if previous and expires and expires > now:
                secrets.append(clear(previous))  # a rotation's old secret signs for 24 h more
        return cls(
            id=v["id"],
            url=v["url"],
            attempt_count=v["attempt_count"],
            manual_attempt_count=v["manual_attempt_count"],
            status_before_retry=v["status_before_retry"],
            next_attempt_before_retry=v["next_attempt_before_retry"],
            event_id=v["event_id"],
            endpoint_id=v["endpoint_id"],
            integrator_id=v["integrator_id"],
            event_type=v["event__type"],
            event_created_at=v["event__created_at"],
            traceparent=v["event__traceparent"],
            body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(),
            secrets=secrets,
            lease=lease,
        )

    @property
    def manual(self) -> bool:
        return bool(self.status_before_retry)

    @property
    def number(self) -> int:
        """The attempt's number (once counted): automatic and manual ones in turn."""
        return self.attempt_count + self.manual_attempt_count


@dataclass
class Sent:
    job: Job
    result: transport.PostResult
