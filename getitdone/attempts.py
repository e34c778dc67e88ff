"""Counting attempts per caller in fixed windows of the shared cache (Redis in production), so a
limit holds across every web process: failed token requests and admin logins, so that a secret
or a password cannot be guessed by brute force, and unauthenticated API requests.

A caller over its limit is refused until its window ends, even with the right secret.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class AttemptLimit:
    name: str
    limit: int
    window: int  # seconds

    def _key(self, ident: str, now: float) -> str:
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"attempts:{self.name}:{int(now // self.window)}:{digest}"

    def retry_after(self, ident: str) -> int | None:
        """Seconds until this caller may try again, or None if it may now."""
        now = time.time()
        if (cache.get(self._key(ident, now)) or 0) < self.limit:
            return None
        return max(1, int(self.window - now % self.window))

    def record(self, ident: str) -> int:
        """Count one attempt; returns the count in this window."""
        key = self._key(ident, time.time())
        cache.add(key, 0, timeout=self.window + 1)
        try:
            return cache.incr(key)
        except ValueError:  # the window ended between add and incr
            cache.add(key, 1, timeout=self.window + 1)
            return 1


def guarded(
    attempt: Callable[[], HttpResponse],
    *,
    ident: str,
    per_ident: AttemptLimit,
    address: str,
    per_address: AttemptLimit,
    failed: Callable[[HttpResponse], bool],
    too_many: Callable[[int], HttpResponse],
) -> HttpResponse:
    """Make an attempt under two limits of failures. Past `per_ident`, the identity (a client id,
    a username) gets `too_many` whatever it brings, until the window ends: its secret cannot be
    guessed by brute force. Past `per_address`, failed attempts from the address get `too_many`
    too, but a right secret still succeeds: callers behind one address are not locked out by
    another of them."""
    if ident and (wait := per_ident.retry_after(ident)):
        return too_many(wait)
    response = attempt()
    if not failed(response):
        return response
    if ident:
        per_ident.record(ident)
    wait = per_address.retry_after(address)  # before this failure counts: the limit's worth pass
    per_address.record(address)
    return too_many(wait) if wait else response


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
