import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fulfillment.services import integrator_create
from getitdone.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create an integrator (partner account) with its OAuth2 client. Prints the client id, "
        "the client secret and the default webhook secret: the secrets are shown only this once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Display name of the integrator.")
        parser.add_argument(
            "--scopes",
            default="read write",
            help='Space-separated scopes its tokens may carry (default: "read write").',
        )
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="Print the credentials as one JSON object."
        )

    def handle(self, *args, name: str, scopes: str, as_json: bool = False, **options) -> None:
        try:
            credentials = integrator_create(name=name, scopes=scopes)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        data = credentials.as_dict()
        if as_json:
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write(self.style.SUCCESS(f"Integrator {data['name']!r} created (id {data['integrator_id']})."))
        for key in ("client_id", "client_secret", "webhook_secret", "scopes"):
            self.stdout.write(f"  {key:15} {data[key]}")
        self.stdout.write(self.style.WARNING("Store the secrets now: they are not shown again."))
