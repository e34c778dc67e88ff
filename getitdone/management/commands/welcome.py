import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Wait for the web process on PORT to answer, then print the demo's credentials and the three "
        "things to try first (make run prints this last, once everything is up, so it stays on screen)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--wait", type=float, default=120, help="seconds to wait for the web process (120)")
        parser.add_argument(
            "--workers", default="webhooks,commands,beat",
            help="the workers (hostname prefixes) and beat to wait for (webhooks,commands,beat)",
        )  # fmt: skip

    def handle(self, *args: str, wait: float, workers: str, **options: object) -> None:
        base = f"http://127.0.0.1:{settings.PORT}"
        started, deadline = time.time(), time.monotonic() + wait
        wanted = [name for name in workers.split(",") if name]
        while not (_answers(f"{base}/healthz") and _workers_ready(wanted, since=started)):
            if time.monotonic() > deadline:
                raise CommandError(f"web on {base} and the workers {wanted} were not all up within {wait:.0f} s")
            time.sleep(0.5)
        time.sleep(0.5)  # their last start-up lines first
        client_id, secret = settings.DEMO_CLIENT_ID, settings.DEMO_CLIENT_SECRET
        token = (f"curl -s {base}/oauth/token -d grant_type=client_credentials -d client_id={client_id}"
                 f" -d client_secret={secret}")  # fmt: skip
        lines = [
            "",
            self.style.SUCCESS(f"Get It Done is up on {base} (web, webhook and command workers, beat)."),
            "",
            "Demo credentials (OAuth2 client credentials):",
            f"  client_id      {client_id}",
            f"  client_secret  {secret}",
            "",
            "Next:",
            "  1. Get a token:",
            f"     TOKEN=$({token} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
            "  2. Create an order:",
            f"     curl -s {base}/api/issues -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json'"
            ' -d \'{"client_issue_id": "demo-1", "details": {"address": "Calle 1 #2-3"}}\'',
            "  3. Watch it in admin:",
            f"     {base}/admin/orders/issue/ (a login first: python manage.py createsuperuser)",
            "",
            f"API docs: {base}/api/docs/ · quick start: docs/quickstart.md · Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _workers_ready(prefixes: list[str], *, since: float) -> bool:
    """Each worker marked ready (getitdone/celery.py) since this command started."""
    ready = settings.VAR_DIR / "ready"
    marks = [path for path in ready.glob("*") if path.stat().st_mtime >= since - 1] if ready.is_dir() else []
    return all(any(mark.name.startswith(f"{prefix}@") for mark in marks) for prefix in prefixes)
