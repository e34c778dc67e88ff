from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from getitdone.progress import progress_bar
from webhooks.models import Event
from webhooks.services import events_prune


class Command(BaseCommand):
    help = (
        "Delete events older than the retention window (EVENTS_RETENTION_DAYS, 30) with their deliveries "
        "and attempts, in batches of a transaction each; never an event with a pending delivery. Beat runs "
        "the same every hour: this is for a first clean-up, or a shorter window."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, default=None,
                            help=f"the window, in days (default {settings.EVENTS_RETENTION_DAYS})")  # fmt: skip
        parser.add_argument("--batch-size", type=int, default=1000, help="events per transaction (1000)")

    def handle(
        self, *args: str, older_than_days: int | None, batch_size: int, verbosity: int, **options: object
    ) -> None:
        days = settings.EVENTS_RETENTION_DAYS if older_than_days is None else older_than_days
        cutoff = timezone.now() - timedelta(days=days)
        # An upper bound for the bar (the events with a pending delivery stay): an index range count.
        total = Event.objects.filter(created_at__lt=cutoff).count()
        with progress_bar(self, total=total, unit="events", desc="pruning", verbosity=verbosity) as bar:
            deleted = events_prune(older_than_days=days, batch_size=batch_size, on_batch=bar.update)
        kept = Event.objects.filter(created_at__lt=cutoff).count()
        self.stdout.write(f"{deleted} events older than {days} days deleted ({kept} kept: pending).")
