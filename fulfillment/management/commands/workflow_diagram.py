from django.core.management.base import BaseCommand, CommandError, CommandParser

from fulfillment.diagram import workflow_mermaid
from fulfillment.models import Workflow


class Command(BaseCommand):
    help = (
        "Print a workflow as a Mermaid state diagram (steps, transitions, timeouts, start and end), e.g. "
        "`python manage.py workflow_diagram delivery`. docs/order-lifecycle.md holds the `delivery` one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workflow", help="the workflow's code (or id)")

    def handle(self, *args: str, workflow: str, **options: object) -> None:
        found = Workflow.objects.filter(code=workflow).first()
        if found is None and workflow.isdigit():
            found = Workflow.objects.filter(pk=int(workflow)).first()
        if found is None:
            codes = ", ".join(Workflow.objects.order_by("code").values_list("code", flat=True)) or "none"
            raise CommandError(f"No workflow {workflow!r} (there are: {codes}).")
        self.stdout.write(workflow_mermaid(found), ending="")
