"""Real concurrent transactions on PostgreSQL: separate threads, separate connections."""

import threading

import pytest
from django.db import connection, transaction

from getitdone.errors import NotAllowed
from orders.models import Issue, StatusChange
from orders.services import Actor, issue_change_status, issue_create
from tests.factories import IntegratorFactory
from webhooks.models import Event
from webhooks.selectors import event_feed

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(target, results, index, barrier):
    try:
        barrier.wait(timeout=10)
        results[index] = target()
    except Exception as exc:  # collected and asserted on by the test
        results[index] = exc
    finally:
        connection.close()


def test_competing_status_changes_from_one_step_apply_exactly_once(delivery):
    integrator = IntegratorFactory()
    issue = issue_create(
        integrator=integrator, client_issue_id="race", status="Por asignar", actor=Actor.system()
    ).issue
    targets = ["En ruta", "Cancelado"] * 4
    results: list = [None] * len(targets)
    barrier = threading.Barrier(len(targets))

    def change(status):
        return lambda: issue_change_status(issue=Issue.objects.get(pk=issue.pk), status=status, actor=Actor.system())

    threads = [
        threading.Thread(target=_in_thread, args=(change(t), results, n, barrier)) for n, t in enumerate(targets)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    applied = [r for r in results if not isinstance(r, Exception) and r.changed]
    refused = [r for r in results if isinstance(r, NotAllowed)]
    noops = [r for r in results if not isinstance(r, Exception) and not r.changed]
    assert len(applied) == 1, results
    assert len(applied) + len(refused) + len(noops) == len(targets), results
    moves = StatusChange.objects.filter(issue_id=issue.pk, from_step__isnull=False)
    assert moves.count() == 1
    assert moves.get().from_step.value == "TO_BE_ASSIGNED"
    assert Event.objects.filter(type="issue.status_changed", issue_id=issue.pk).count() == 1
    final = Issue.objects.get(pk=issue.pk)
    assert final.version == 2 and final.step_id == moves.get().to_step_id


def test_rollback_leaves_no_event(delivery):
    integrator = IntegratorFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        issue_create(integrator=integrator, client_issue_id="ghost", actor=Actor.system())
        assert Event.objects.filter(integrator=integrator).count() == 1
        raise RuntimeError("the caller fails after the change")
    assert not Issue.objects.filter(client_issue_id="ghost").exists()
    assert not Event.objects.filter(integrator=integrator).exists()


def test_poller_never_skips_an_event_committed_late(delivery):
    """Writers commit in random interleavings while a poller follows `after`; the poller must
    end up with every event exactly as the table holds them, never jumping past one."""
    integrator = IntegratorFactory()
    writers, per_writer = 4, 15
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write(n):
        try:
            for k in range(per_writer):
                with transaction.atomic():
                    issue_create(integrator=integrator, client_issue_id=f"w{n}-{k}", actor=Actor.system())
                    # widen the window between taking a sequence number and committing
                    Issue.objects.filter(client_issue_id=f"w{n}-{k}").count()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def poll():
        after = 0
        try:
            while True:
                done = stop.is_set()
                page = event_feed(integrator=integrator, after=after, limit=7)
                seen.extend(e["sequence"] for e in page.results)
                after = page.next_after
                if done and not page.has_more:
                    break
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    poller = threading.Thread(target=poll)
    poller.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stop.set()
    poller.join(timeout=60)

    assert not errors, errors
    stored = list(Event.objects.filter(integrator=integrator).order_by("sequence").values_list("sequence", flat=True))
    assert len(stored) == writers * per_writer
    assert stored == list(range(1, len(stored) + 1))  # gap-free, too
    assert seen == stored
