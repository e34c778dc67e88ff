from django.db.models import QuerySet

from commands.models import Command
from fulfillment.models import Integrator
from getitdone.errors import NotFound


def command_list(*, integrator: Integrator, status: str | None = None, type: str | None = None) -> QuerySet[Command]:
    qs = Command.objects.filter(integrator=integrator)
    if status:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    return qs


def command_get(*, integrator: Integrator, pk: int) -> Command:
    command = Command.objects.filter(integrator=integrator, pk=pk).first()
    if command is None:
        raise NotFound("No such command.")
    return command
