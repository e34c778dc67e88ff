"""The Redis transport as the workers use it: kombu's, made to treat a connection it has let go
of as a lost connection, not as a bug.

Celery 5.7 collects a lost broker connection (detaching its transport) before the channel is
done with it. The channel then needs a Redis client for what it still does (acknowledge a task
that just finished, put unacknowledged messages back when it closes) and cannot build one: the
AttributeError stopped the worker for good ("Unrecoverable error"), every webhook and command
worker at the first Redis outage (`make faults`, the redis drill). Raised as a connection error
instead, Celery logs it and reconnects.

Nor does a closing channel put unacknowledged messages back: ours are wake-ups only (the rows
are the truth, and beat's sweeps wake a worker for anything due), and Redis restores them after
their visibility timeout anyway, as for a worker that died.
"""

from typing import Any

from kombu.transport import redis
from redis import exceptions


class Channel(redis.Channel):
    do_restore = False

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection is None or self.connection.client is None:
            raise exceptions.ConnectionError("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
