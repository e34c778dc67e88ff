"""factory_boy factories. Integrators are made through the service, as admin and the CLI make
them, and keep their one-time credentials on `_credentials` for tests that need a token."""

import factory

from fulfillment.models import Integrator
from fulfillment.services import integrator_create


class IntegratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integrator

    name = factory.Sequence(lambda n: f"Integrator {n}")
    scopes = "read write"

    @classmethod
    def _create(cls, model_class, name, scopes="read write", is_active=True, **kwargs):
        credentials = integrator_create(name=name, scopes=scopes)
        integrator = credentials.integrator
        if not is_active:
            integrator.is_active = False
            integrator.save(update_fields=["is_active"])
        integrator._credentials = credentials
        return integrator
