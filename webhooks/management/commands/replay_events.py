import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.dateparse import parse_datetime

from getitdone.errors import InvalidInput
from getitdone.progress import progress_bar
from webhooks.models import Delivery, DeliveryStatus, WebhookEndpoint
from webhooks.services import RECOVER_STATUSES, webhook_recover_events


def _when(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(f"{value!r} is not an ISO time with its offset, e.g. 2026-12-01T00:00:00Z")
    return parsed


class Command(BaseCommand):
    help = (
        "Send an endpoint the events of a time window again, as POST /api/webhooks/{id}/recover does: those "
        "whose delivery to it failed (--status failed, the default) or every one it subscribes to (--status "
        "all), as new deliveries with the events' own webhook-id. With --wait, follow them until they are sent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--endpoint", type=int, required=True, help="the webhook endpoint's id")
        parser.add_argument("--since", type=_when, required=True, help="ISO time, e.g. 2026-12-01T00:00:00Z")
        parser.add_argument("--until", type=_when, default=None, help="ISO time (default: now)")
        parser.add_argument("--status", choices=RECOVER_STATUSES, default="failed", help="failed (default) or all")
        parser.add_argument("--wait", action="store_true", help="show the deliveries' progress until none is pending")
        parser.add_argument("--timeout", type=float, default=3600, help="with --wait, give up after this many s")

    def handle(self, *args: str, endpoint: int, since: datetime, until: datetime | None, status: str, wait: bool,
               timeout: float, verbosity: int, **options: object) -> None:  # fmt: skip
        target = WebhookEndpoint.objects.filter(pk=endpoint).first()
        if target is None:
            raise CommandError(f"No webhook endpoint {endpoint}.")
        started = Delivery.objects.filter(endpoint=target).order_by("-id").values_list("id", flat=True).first() or 0
        try:
            with transaction.atomic():
                events = webhook_recover_events(endpoint=target, since=since, until=until, status=status)
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        queued = len(events)
        self.stdout.write(f"{queued} events queued again to {target.url}.")
        if not wait or not queued:
            return
        # The deliveries this replay made (not those of new events meanwhile).
        replayed = Delivery.objects.filter(endpoint=target, id__gt=started, event_id__in=events)
        deadline = time.monotonic() + timeout
        with progress_bar(self, total=queued, unit="deliveries", desc="sending", verbosity=verbosity) as bar:
            while True:
                done = replayed.exclude(status=DeliveryStatus.PENDING).count()
                bar.update(done - bar.n)
                if done >= queued or time.monotonic() > deadline:
                    break
                time.sleep(1)
        failed = replayed.filter(status=DeliveryStatus.FAILED).count()
        succeeded = replayed.filter(status=DeliveryStatus.SUCCEEDED).count()
        self.stdout.write(f"{succeeded} delivered, {failed} failed, {queued - succeeded - failed} still pending.")
