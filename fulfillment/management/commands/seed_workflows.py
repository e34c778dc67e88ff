from django.core.management.base import BaseCommand

from fulfillment.demo import delivery_workflow_seed


class Command(BaseCommand):
    help = (
        "Load the standard workflows (today: `delivery`) and nothing else of the demo: what a "
        "production deployment runs after `migrate`. Safe to run again: it changes nothing then."
    )

    def handle(self, *args, **options) -> None:
        workflow, created = delivery_workflow_seed()
        self.stdout.write(
            self.style.SUCCESS(f"Workflow {workflow.code!r}: {'created' if created else 'already there'}.")
        )
