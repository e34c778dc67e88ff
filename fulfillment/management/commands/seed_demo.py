from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fulfillment.demo import demo_orders_seed, demo_seed
from getitdone.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Load the demo: the standard workflows (as seed_workflows) and a demo integrator whose credentials "
        "come from DEMO_CLIENT_ID / DEMO_CLIENT_SECRET (with DEBUG off, DEMO_CLIENT_SECRET must be set). Safe "
        "to run again: it changes nothing then. --orders N adds demo orders up to N (a load fixture)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders", type=int, default=0, metavar="N",
            help="also give the demo integrator N orders (demo-00001 …), spread over the steps",
        )  # fmt: skip

    def handle(self, *args: str, **options: object) -> None:
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
        if options["orders"]:
            bar = progress_bar(
                self, total=options["orders"], unit="orders", desc="orders", verbosity=options["verbosity"]
            )
            with bar:
                added = demo_orders_seed(seed.integrator, options["orders"], on_order=bar.update)
            self.stdout.write(self.style.SUCCESS(f"Demo orders: {added} added, {options['orders']} in all."))
        if options["verbosity"] == 0:
            return  # make run: `manage.py welcome` prints the credentials once everything is up
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
