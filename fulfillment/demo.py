"""The demo data `seed_demo` loads. Idempotent: a second run finds everything and changes nothing."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from fulfillment.models import Integrator, Step, StepCategory, Transition, Workflow
from fulfillment.services import integrator_create
from fulfillment.workflows import workflow_check_saved
from orders.services import Actor, issue_change_status, issue_create

DEMO_INTEGRATOR_NAME = "Demo Store"

# The `delivery` workflow of API.md §10, around the seed's "Por Asignar" step.
DELIVERY_STEPS = [
    # value, name, category, name_frontend, description, description_frontend, color
    ("RECEIVED", "Recibido", StepCategory.TO_DO, "Recibido",
     "The order was received.", "Recibimos tu pedido.", "#9E9E9E"),
    ("PREPARING", "En preparación", StepCategory.IN_PROGRESS, "En preparación",
     "The store is preparing the order.", "Estamos preparando tu pedido.", "#42A5F5"),
    ("TO_BE_ASSIGNED", "Por Asignar", StepCategory.IN_PROGRESS, "Por asignar",
     "The order is ready and waits for a courier.", "Estamos buscando un repartidor para ti.", "#EBA859"),
    ("ON_ROUTE", "En ruta", StepCategory.IN_PROGRESS, "En ruta",
     "A courier is taking the order to the customer.", "Tu pedido está en camino.", "#7E57C2"),
    ("DELIVERED", "Entregado", StepCategory.DONE, "Entregado",
     "The order was delivered.", "Tu pedido fue entregado.", "#66BB6A"),
    ("CANCELLED", "Cancelado", StepCategory.DONE, "Cancelado",
     "The order was cancelled.", "Tu pedido fue cancelado.", "#EF5350"),
]  # fmt: skip

DELIVERY_TRANSITIONS = [
    # from, to, name, description
    ("RECEIVED", "PREPARING", "Preparar pedido", "La tienda empezó a preparar la orden"),
    ("PREPARING", "TO_BE_ASSIGNED", "Pedido listo", "La orden está lista y espera un repartidor"),
    ("TO_BE_ASSIGNED", "ON_ROUTE", "Asignar pedido", "La orden ha sido asignada y se encuentra en ruta"),
    ("ON_ROUTE", "DELIVERED", "Entregar pedido", "La orden fue entregada al cliente"),
    ("RECEIVED", "CANCELLED", "Cancelar recibido", "La orden ha sido cancelada cuando estaba recibida"),
    ("PREPARING", "CANCELLED", "Cancelar en preparación", "La orden ha sido cancelada cuando estaba en preparación"),
    ("TO_BE_ASSIGNED", "CANCELLED", "Cancelar por asignar",
     "La orden ha sido cancelada cuando pedido estaba por asignar"),
]  # fmt: skip


@dataclass(frozen=True)
class DemoSeed:
    integrator: Integrator
    integrator_created: bool
    workflow: Workflow
    workflow_created: bool
    client_id: str
    client_secret: str


def delivery_workflow_seed() -> tuple[Workflow, bool]:
    workflow, created = Workflow.objects.get_or_create(code="delivery", defaults={"name": "Delivery"})
    steps = {}
    for position, (value, name, category, name_fe, desc, desc_fe, color) in enumerate(DELIVERY_STEPS):
        steps[value], _ = Step.objects.get_or_create(
            workflow=workflow,
            value=value,
            defaults={
                "name": name,
                "category": category,
                "name_frontend": name_fe,
                "description": desc,
                "description_frontend": desc_fe,
                "color": color,
                "position": position,
            },
        )
    for source, target, name, description in DELIVERY_TRANSITIONS:
        Transition.objects.get_or_create(
            from_step=steps[source],
            to_step=steps[target],
            defaults={"workflow": workflow, "name": name, "description": description},
        )
    if workflow.initial_step_id is None:
        workflow.initial_step = steps["RECEIVED"]
        workflow.save(update_fields=["initial_step", "revision"])
    if created:  # checked as a save in admin checks it; an existing one is left as staff keep it
        workflow.checks_passed = workflow_check_saved(workflow).passed
        workflow.save(update_fields=["checks_passed", "revision"])
    return workflow, created


@transaction.atomic
def demo_seed() -> DemoSeed:
    workflow, workflow_created = delivery_workflow_seed()
    integrator = Integrator.objects.filter(application__client_id=settings.DEMO_CLIENT_ID).first()
    created = integrator is None
    if created:
        integrator = integrator_create(
            name=DEMO_INTEGRATOR_NAME,
            client_id=settings.DEMO_CLIENT_ID,
            client_secret=settings.DEMO_CLIENT_SECRET,
        ).integrator
        integrator.default_workflow = workflow
        integrator.save(update_fields=["default_workflow"])
    return DemoSeed(
        integrator=integrator,
        integrator_created=created,
        workflow=workflow,
        workflow_created=workflow_created,
        client_id=settings.DEMO_CLIENT_ID,
        client_secret=settings.DEMO_CLIENT_SECRET,
    )


# Where the demo orders stop, in turn: a load fixture with orders in every step.
_DEMO_MOVES = ((), ("En preparación",), ("En preparación", "Por Asignar"),
               ("En preparación", "Por Asignar", "En ruta"), ("En preparación", "Por Asignar", "En ruta", "Entregado"),
               ("Cancelado",))  # fmt: skip


def demo_orders_seed(integrator: Integrator, count: int, on_order: Callable[[int], object] | None = None) -> int:
    """Give the demo integrator orders `demo-00001` … up to `count`, each moved along the
    workflow to a step in turn, one transaction each (events and all, as through the API).
    Those already there are left as they are. Returns how many were added."""
    existing = set(
        integrator.issues.filter(client_issue_id__startswith="demo-").values_list("client_issue_id", flat=True)
    )
    actor, added = Actor.integrator(integrator), 0
    for n in range(1, count + 1):
        key = f"demo-{n:05d}"
        if key not in existing:
            with transaction.atomic():  # the order and its moves, or nothing
                details = {"customer": {"name": f"Cliente {n}"}, "address": f"Calle {n} #{n % 90}-1"}
                created = issue_create(integrator=integrator, client_issue_id=key, actor=actor, details=details)
                for status in _DEMO_MOVES[n % len(_DEMO_MOVES)]:
                    issue_change_status(issue=created.issue, status=status, actor=actor)
            added += 1
        if on_order is not None:
            on_order(1)
    return added
