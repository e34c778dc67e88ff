"""The demo data `seed_demo` loads. Idempotent: a second run finds everything and changes nothing."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from fulfillment.models import Integrator
from fulfillment.services import integrator_create

DEMO_INTEGRATOR_NAME = "Demo Store"


@dataclass(frozen=True)
class DemoSeed:
    integrator: Integrator
    integrator_created: bool
    client_id: str
    client_secret: str


@transaction.atomic
def demo_seed() -> DemoSeed:
    integrator = Integrator.objects.filter(application__client_id=settings.DEMO_CLIENT_ID).first()
    created = integrator is None
    if created:
        integrator = integrator_create(
            name=DEMO_INTEGRATOR_NAME,
            client_id=settings.DEMO_CLIENT_ID,
            client_secret=settings.DEMO_CLIENT_SECRET,
        ).integrator
    return DemoSeed(
        integrator=integrator,
        integrator_created=created,
        client_id=settings.DEMO_CLIENT_ID,
        client_secret=settings.DEMO_CLIENT_SECRET,
    )
