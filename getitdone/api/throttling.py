"""Per-integrator rate limit, counted in fixed windows of the shared cache (Redis in production:
one round trip a request), so the limit holds across every web process.

Besides refusing with 429, it leaves the numbers on the request so that every authenticated
response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until
the window ends and the count starts again).
"""

import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from getitdone import attempts


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # seconds until the window ends


class IntegratorRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.reset = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.user is None or request.auth is None:
            return True
        # Read per request, not at import, so the setting can change under tests and reloads.
        limit, window = SimpleRateThrottle.parse_rate(None, settings.API_RATE_LIMIT)
        now = time.time()
        count = attempts.count(f"throttle:integrator:{request.user.pk}:{int(now // window)}", timeout=window + 1)
        self.reset = max(math.ceil(window - now % window), 1)
        request._request.ratelimit = RateLimitState(limit, max(limit - count, 0), self.reset)
        return count <= limit

    def wait(self) -> float:
        return self.reset
