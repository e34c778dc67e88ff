"""Which database errors pass: the ones worth answering 503 with Retry-After (API.md §2), and
worth another attempt of a command. Any other database error is a bug, and a 500 with its trace."""

import sqlite3

from django.db import InterfaceError, OperationalError

# SQLSTATEs (PostgreSQL appendix A) of a database out of reach or refusing for a moment.
_TRANSIENT_SQLSTATES = (
    "08",  # connection exception: the server went away, or refused the connection
    "57P01",  # admin_shutdown: a restart or a failover
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: still starting up
    "53300",  # too_many_connections
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available: lock_timeout, NOWAIT
)


def is_transient(error: BaseException) -> bool:
    """True for an error that trying again shortly may cure: the connection lost or refused, a
    restart, a deadlock, a serialization failure, a lock waited for too long."""
    if isinstance(error, InterfaceError):
        return True  # the connection is closed
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return "locked" in str(cause) or "busy" in str(cause)  # another writer holds the file
    sqlstate = getattr(cause, "sqlstate", None)
    # psycopg gives a lost or refused connection no SQLSTATE: no server answered.
    return sqlstate is None or sqlstate.startswith(_TRANSIENT_SQLSTATES)
