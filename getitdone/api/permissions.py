from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsActiveIntegrator(BasePermission):
    """A valid token of a disabled integrator is refused with 403 (tokens are also refused
    at issuance). Unauthenticated requests fall through to 401."""

    message = _("This integrator is disabled.")

    def has_permission(self, request: Request, view: Any) -> bool:
        integrator = request.user
        if integrator is None or request.auth is None:
            return False
        return bool(integrator.is_active)
