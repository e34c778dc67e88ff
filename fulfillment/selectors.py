"""Reads of setup data."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet

from fulfillment.models import MAINTENANCE_DEFAULT_MESSAGE, Integrator, MaintenanceMode, Workflow

_MAINTENANCE_CACHE_KEY = "getitdone:maintenance"
# A flip reaches every process within two seconds, whatever the cache. Each process keeps the
# state for one second (every API request asks: this spares a cache round trip on nearly all of
# them), in front of the cache, which keeps it for one more: a shared one (Redis) forgets it at
# once on a flip, but `make run` with no environment has a per-process cache (locmem), where only
# the process that flipped the switch forgets it.
MAINTENANCE_CACHE_SECONDS = 1
_MAINTENANCE_MEMO_SECONDS = 1.0
_memo: tuple[float, "MaintenanceState"] | None = None


@dataclass(frozen=True)
class MaintenanceState:
    enabled: bool
    message: str
    retry_after: int


def maintenance_state() -> MaintenanceState:
    if settings.MAINTENANCE_MODE:
        return MaintenanceState(True, MAINTENANCE_DEFAULT_MESSAGE, settings.MAINTENANCE_RETRY_AFTER)
    global _memo
    now = time.monotonic()
    memo = _memo
    if memo is not None and memo[0] > now:
        return memo[1]
    state = cache.get(_MAINTENANCE_CACHE_KEY)
    if state is None:
        row = MaintenanceMode.objects.filter(pk=1).first()
        state = (
            MaintenanceState(True, row.message or MAINTENANCE_DEFAULT_MESSAGE, row.retry_after)
            if row and row.enabled
            else MaintenanceState(False, "", 0)
        )
        cache.set(_MAINTENANCE_CACHE_KEY, state, MAINTENANCE_CACHE_SECONDS)
    _memo = (now + _MAINTENANCE_MEMO_SECONDS, state)
    return state


def maintenance_switch() -> MaintenanceMode:
    """The switch as staff last set it (unsaved and off when nobody has yet)."""
    return MaintenanceMode.objects.filter(pk=1).first() or MaintenanceMode(pk=1)


def forget_maintenance_state() -> None:
    global _memo
    _memo = None  # this process sees a flip at once; the others within two seconds
    cache.delete(_MAINTENANCE_CACHE_KEY)


def integrator_get_by_client_id(client_id: str) -> Integrator | None:
    return Integrator.objects.select_related("application").filter(application__client_id=client_id).first()


def workflows_offered() -> QuerySet[Workflow]:
    """Workflows integrators may see and use: not drafts, and passed the checks at their last save."""
    return Workflow.objects.filter(draft=False, checks_passed=True)


def workflows_for(integrator: Integrator, *, offered_only: bool = True) -> QuerySet[Workflow]:
    """Offered workflows open to everyone, plus those admin restricted to this integrator.

    `offered_only=False` for reads of what already exists: an issue stays in its workflow (and
    found by its status) after staff take the workflow back into draft."""
    workflows = workflows_offered() if offered_only else Workflow.objects.all()
    return workflows.filter(Q(integrators__isnull=True) | Q(integrators=integrator)).distinct()


def workflow_for(integrator: Integrator, ref: str | int | None = None) -> Workflow | None:
    """The workflow `ref` (id or code) names, if this integrator may use it; with no ref, its
    default workflow."""
    if ref is None or ref == "":
        ref = integrator.default_workflow_id or settings.DEFAULT_WORKFLOW_CODE
    ref = str(ref).strip()
    is_id = ref.isascii() and ref.isdigit() and len(ref) <= 18  # "¹".isdigit() too, and int() refuses it
    lookup = Q(pk=int(ref)) | Q(code=ref) if is_id else Q(code=ref)
    return workflows_for(integrator).filter(lookup).first()
