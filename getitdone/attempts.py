"""Counting attempts per caller in fixed windows of the shared cache (Redis in production), so a
limit holds across every web process: failed token requests and admin logins, so that a secret
or a password cannot be guessed by brute force, and unauthenticated API requests.

A caller over its limit is refused until its window ends, even with the right secret.
"""

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpRequest, HttpResponse
from django_redis.cache import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptLimit:
    name: str
    limit: int
    window: int  # seconds

    def _key(self, ident: str, now: float) -> str:
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"attempts:{self.name}:{int(now // self.window)}:{digest}"

    def take(self, ident: str) -> tuple[str, bool]:
        """Count an attempt before it is made (so a burst in parallel cannot pass the limit
        together); returns its counter and whether the limit is now exceeded."""
        key = self._key(ident, time.time())
        return key, count(key, timeout=self.window + 1) > self.limit

    def seconds_left(self) -> int:
        """Until this window ends, when the counts start again (a Retry-After)."""
        return max(1, int(self.window - time.time() % self.window))


def count(key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (created at 0 with `timeout` when missing) and return it. On
    Redis (django-redis, as CACHE_URL configures it) one round trip, SET NX then INCR in one
    transaction; elsewhere (the embedded locmem cache) Django's add and incr. With Redis out of
    reach, 0: the attempt is let through uncounted rather than every caller refused."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # the counter expired between add and incr
            cache.add(key, 1, timeout=timeout)
            return 1
    stored = backend.make_key(key)  # as cache.get and cache.decr name it
    # MULTI/EXEC: the counter cannot expire between the two, and INCR leave it without a TTL.
    pipe = backend.client.get_client(write=True).pipeline(transaction=True)
    pipe.set(stored, 0, ex=timeout, nx=True)
    pipe.incr(stored)
    try:
        return pipe.execute()[1]
    except RedisError as exc:
        logger.warning("attempt not counted: Redis is unreachable (%s)", exc)
        return 0


def _give_back(key: str) -> None:
    with contextlib.suppress(ValueError):  # the window ended meanwhile: its counter is gone anyway
        cache.decr(key)


def guarded(
    attempt: Callable[[], HttpResponse],
    *,
    limits: list[tuple[AttemptLimit, str]],
    failed: Callable[[HttpResponse], bool],
    too_many: Callable[[int], HttpResponse],
) -> HttpResponse:
    """Make an attempt under limits of failures, each `(limit, ident)`: a client id or username,
    and the address. Past any of them the caller gets `too_many` until the window ends, even
    with the right secret, so a secret cannot be guessed by brute force, one client id or user at
    a time or many from one address. Only failures count: callers behind one address that
    succeed are never limited by it. Each attempt is counted before it runs and given back when
    it succeeds (or is refused), so a parallel burst gets no more tries than the limit."""
    taken: list[str] = []
    for limit, ident in limits:
        if not ident:
            continue
        key, exceeded = limit.take(ident)
        taken.append(key)
        if exceeded:
            for counted in taken:
                _give_back(counted)  # a refused request is no attempt
            return too_many(limit.seconds_left())
    response = attempt()
    if not failed(response):
        for counted in taken:
            _give_back(counted)
    return response


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or with NUM_PROXIES set, the address that many proxies
    in from the end of X-Forwarded-For (as DRF's throttles read it)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.NUM_PROXIES
    forwarded = request.headers.get("X-Forwarded-For")
    if not proxies or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    return hops[-min(proxies, len(hops))]


def token_failures_per_client() -> AttemptLimit:
    return AttemptLimit("token-client", settings.TOKEN_FAILURES_PER_CLIENT, settings.FAILED_ATTEMPTS_WINDOW)


def token_failures_per_address() -> AttemptLimit:
    return AttemptLimit("token-address", settings.TOKEN_FAILURES_PER_ADDRESS, settings.FAILED_ATTEMPTS_WINDOW)


def login_failures_per_user() -> AttemptLimit:
    return AttemptLimit("login-user", settings.LOGIN_FAILURES_PER_USER, settings.FAILED_ATTEMPTS_WINDOW)


def login_failures_per_address() -> AttemptLimit:
    return AttemptLimit("login-address", settings.LOGIN_FAILURES_PER_ADDRESS, settings.FAILED_ATTEMPTS_WINDOW)


def anonymous_api_requests() -> AttemptLimit:
    return AttemptLimit("api-anonymous", settings.API_ANONYMOUS_RATE_LIMIT, 60)
