"""Per-integrator rate limit, counted in the shared cache (Redis in production).

Besides refusing with 429, it leaves the numbers on the request so that every authenticated
response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
"""

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # seconds until a slot frees up


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
        allowed = super().allow_request(request, view)
        if self.key is not None:
            remaining = max(self.num_requests - len(self.history), 0)
            reset = self.duration - (self.now - self.history[-1]) if self.history else self.duration
            request._request.ratelimit = RateLimitState(self.num_requests, remaining, max(math.ceil(reset), 0))
        return allowed
