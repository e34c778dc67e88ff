"""Bearer-token authentication: DOT checks the stored token (so revocation and expiry apply at
once); the request's `user` becomes the token's integrator. Requests that authenticate nothing
are counted per address (API.md §2): past the limit they get 429 before anything else runs."""

import contextlib
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions
from rest_framework.request import Request

from getitdone import attempts


class IntegratorTokenAuthentication(OAuth2Authentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        integrator = None
        # A token of an application that is no integrator's grants nothing here.
        with contextlib.suppress(ObjectDoesNotExist, AttributeError):
            integrator = result[1].application.integrator if result is not None else None
        if integrator is None:
            _count_anonymous(request)
            return None
        return integrator, result[1]


def _count_anonymous(request: Request) -> None:
    limit = attempts.anonymous_api_requests()
    _, exceeded = limit.take(attempts.client_address(request))
    if exceeded:
        raise exceptions.Throttled(limit.seconds_left())
