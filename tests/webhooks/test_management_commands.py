"""The long management commands: what they do, what they print on stdout, and their progress
bar on stderr (tqdm)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from orders.models import Issue
from tests.webhooks.conftest import send_all_due
from webhooks.models import Delivery, Event
from webhooks.services import webhook_create


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prune_events_deletes_what_is_past_the_window_with_a_progress_bar(auth_client, delivery):
    for n in range(5):
        auth_client.post("/api/issues", {"client_issue_id": f"P-{n}"}, format="json")
    Event.objects.filter(pk__in=Event.objects.order_by("sequence").values("pk")[:3]).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    out, err = run("prune_events", "--batch-size", "2")
    assert out.strip() == "3 events older than 30 days deleted (0 kept: pending)."
    assert "pruning: 100%" in err and "3/3" in err
    assert Event.objects.count() == 2


def test_replay_events_queues_the_failed_ones_again(auth_client, integrator, receiver, delivery, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.respond(500)
    endpoint = webhook_create(integrator=integrator, url=receiver.url())
    auth_client.post("/api/issues", {"client_issue_id": "R-1"}, format="json")
    assert send_all_due() == ["failed"]
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    out, err = run("replay_events", "--endpoint", str(endpoint.pk), "--since", since, "--wait", "--timeout", "0")
    assert out.splitlines() == [f"1 events queued again to {endpoint.url}.", "0 delivered, 0 failed, 1 still pending."]
    assert "sending:" in err
    assert Delivery.objects.filter(endpoint=endpoint, status="pending").count() == 1
    with pytest.raises(CommandError, match="kept 30 days"):
        run("replay_events", "--endpoint", str(endpoint.pk), "--since", "2020-01-01T00:00:00Z")
    with pytest.raises(CommandError, match="No webhook endpoint"):
        run("replay_events", "--endpoint", "999999", "--since", since)


def test_seed_demo_orders_spread_over_the_steps_and_a_second_run_adds_none(db, settings):
    settings.DEBUG = True  # the demo, as make run loads it
    out, err = run("seed_demo", "--orders", "12")
    assert "Demo orders: 12 added, 12 in all." in out and "orders: 100%" in err
    steps = set(Issue.objects.filter(client_issue_id__startswith="demo-").values_list("step__value", flat=True))
    assert {"RECEIVED", "PREPARING", "TO_BE_ASSIGNED", "ON_ROUTE", "DELIVERED", "CANCELLED"} == steps
    assert "Demo orders: 0 added, 12 in all." in run("seed_demo", "--orders", "12")[0]


@pytest.mark.parametrize("name", ["prune_events", "replay_events", "seed_demo", "workflow_diagram", "welcome"])
def test_each_command_explains_itself(name, capsys):
    with pytest.raises(SystemExit):
        call_command(name, "--help")
    assert len(capsys.readouterr().out) > 200
