"""Per-integrator rate limit: at most N requests in any sliding window (API_RATE_LIMIT, e.g.
600/min), counted in the shared cache so the limit holds across every web process.

On Redis the log is a sorted set of request times per integrator, trimmed, counted and appended
by one Lua script: one round trip a request. A refused request is not logged, as DRF's throttles
do not count it. Elsewhere (the embedded locmem cache of `make run`) it is DRF's own log.

Besides refusing with 429, it leaves the numbers on the request so that every authenticated
response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until
the oldest logged request leaves the window and frees a slot).
"""

import logging
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django_redis.cache import RedisCache
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)
_UNREACHABLE_LOG_EVERY = 10.0  # seconds: one warning, not one a request, while Redis is down
_unreachable_logged = 0.0


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # seconds until a slot frees up


# KEYS[1] the log; ARGV now, window (s), limit, a unique member. Returns {allowed, count, oldest}.
_LOG_SCRIPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or ARGV[1]
return {allowed, count, oldest}
"""
_script: Script | None = None


class IntegratorRateThrottle(SimpleRateThrottle):
    scope = "integrator"

    def get_rate(self) -> str:
        # Read per request, not at import, so the setting can change under tests and reloads.
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user is None or request.auth is None:
            return None
        return f"throttle:integrator:{request.user.pk}"

    def allow_request(self, request: Request, view: Any) -> bool:
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            return self._allow_with_drf_log(request, view)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        global _script
        client = backend.client.get_client(write=True)
        if _script is None:
            _script = client.register_script(_LOG_SCRIPT)
        now = time.time()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        try:
            allowed, count, oldest = _script(
                keys=[backend.make_key(key)], args=[now, self.duration, self.num_requests, member], client=client
            )
        except RedisError as exc:
            # The shared count is out of reach: serve, unlimited and without RateLimit headers,
            # rather than refuse every integrator while Redis is down.
            global _unreachable_logged
            if now - _unreachable_logged >= _UNREACHABLE_LOG_EVERY:
                _unreachable_logged = now
                logger.warning("rate limit not applied: Redis is unreachable (%s)", exc)
            return True
        self.wait_seconds = self._reset(now, float(oldest))
        request._request.ratelimit = RateLimitState(
            self.num_requests, max(self.num_requests - int(count), 0), self.wait_seconds
        )
        return bool(allowed)

    def wait(self) -> float:
        return self.wait_seconds

    def _reset(self, now: float, oldest: float) -> int:
        return max(math.ceil(self.duration - (now - oldest)), 0)

    def _allow_with_drf_log(self, request: Request, view: Any) -> bool:
        allowed = super().allow_request(request, view)
        if self.key is not None:
            remaining = max(self.num_requests - len(self.history), 0)
            reset = self._reset(self.now, self.history[-1]) if self.history else self.duration
            self.wait_seconds = reset
            request._request.ratelimit = RateLimitState(self.num_requests, remaining, reset)
        return allowed
