"""Bearer-token authentication: DOT checks the stored token (so revocation and expiry apply at
once); the request's `user` becomes the token's integrator."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.request import Request


class IntegratorTokenAuthentication(OAuth2Authentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        _, token = result
        try:
            integrator = token.application.integrator
        except (ObjectDoesNotExist, AttributeError):
            # A token of an application that is no integrator's grants nothing here.
            return None
        return integrator, token
