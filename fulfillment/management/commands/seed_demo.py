from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fulfillment.demo import demo_seed


class Command(BaseCommand):
    help = (
        "Load the demo: the standard workflows (as seed_workflows) and a demo integrator whose credentials "
        "come from DEMO_CLIENT_ID / DEMO_CLIENT_SECRET (with DEBUG off, DEMO_CLIENT_SECRET must be set). Safe "
        "to run again: it changes nothing then."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not settings.DEMO_CLIENT_SECRET_GIVEN:
            raise CommandError(
                "DEBUG is off: the demo integrator would get the published secret. Set DEMO_CLIENT_SECRET, "
                "or run `seed_workflows` alone (production needs nothing else of the demo)."
            )
        seed = demo_seed()
        for label, created in (
            (f"Workflow {seed.workflow.code!r}", seed.workflow_created),
            (f"Demo integrator {seed.integrator.name!r}", seed.integrator_created),
        ):
            self.stdout.write(self.style.SUCCESS(f"{label}: {'created' if created else 'already there'}."))
        base = f"http://127.0.0.1:{settings.PORT}"
        self.stdout.write(
            "\n".join(
                [
                    "Demo credentials (OAuth2 client credentials):",
                    f"  client_id      {seed.client_id}",
                    f"  client_secret  {seed.client_secret}",
                    f"  token          curl -s {base}/oauth/token -d grant_type=client_credentials "
                    f"-d client_id={seed.client_id} -d client_secret={seed.client_secret}",
                    f"  API docs       {base}/api/docs/",
                    f"  admin          {base}/admin/ (python manage.py createsuperuser)",
                ]
            )
        )
