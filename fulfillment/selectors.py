"""Reads of setup data."""

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from fulfillment.models import Integrator, MaintenanceMode

_MAINTENANCE_CACHE_KEY = "getitdone:maintenance"
# A few seconds of staleness spares a query on every request.
_MAINTENANCE_CACHE_SECONDS = 5


@dataclass(frozen=True)
class MaintenanceState:
    enabled: bool
    message: str
    retry_after: int


def maintenance_state() -> MaintenanceState:
    if settings.MAINTENANCE_MODE:
        return MaintenanceState(True, "Scheduled maintenance in progress.", settings.MAINTENANCE_RETRY_AFTER)
    state = cache.get(_MAINTENANCE_CACHE_KEY)
    if state is None:
        row = MaintenanceMode.objects.filter(pk=1).first()
        state = (
            MaintenanceState(True, row.message, row.retry_after)
            if row and row.enabled
            else MaintenanceState(False, "", 0)
        )
        cache.set(_MAINTENANCE_CACHE_KEY, state, _MAINTENANCE_CACHE_SECONDS)
    return state


def forget_maintenance_state() -> None:
    cache.delete(_MAINTENANCE_CACHE_KEY)


def integrator_get_by_client_id(client_id: str) -> Integrator | None:
    return Integrator.objects.select_related("application").filter(application__client_id=client_id).first()
