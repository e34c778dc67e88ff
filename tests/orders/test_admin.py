"""The order page and the order list as the server renders them (tests/browser drives the same
pages in Chromium)."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commands.models import Command
from commands.services import command_run
from orders.models import Issue, IssueNote, StatusChange
from orders.services import Actor, issue_create
from tests.conftest import client_for
from tests.orders.busy_order import busy_order
from webhooks.delivery import deliveries_drain
from webhooks.models import Delivery, DeliveryAttempt, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("support", "s@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client, user


@pytest.fixture
def order(delivery, integrator, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("receiver down", status=500)
    return busy_order(integrator, httpserver.url_for("/hook"))


def page_of(client, issue) -> str:
    response = client.get(f"/admin/orders/issue/{issue.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_order_page_tells_the_whole_story(staff, order, integrator):
    client, _ = staff
    page = page_of(client, order.issue)
    # Status changes with step names and the actor named; the note; the file with its link.
    assert "Created in Recibido" in page and "Status Recibido → En preparación" in page
    assert f"by integrator {integrator.name}" in page
    assert "Customer asked for the side door." in page and "by command cmd-note" in page
    file = order.issue.files.get()
    assert f'href="/admin/orders/issue/{order.issue.pk}/files/{file.pk}/"' in page
    # Events with their deliveries and attempts (HTTP status, duration, response excerpt).
    assert "issue.status_changed" in page and "HTTP 500" in page and "receiver down" in page
    assert order.endpoint.url in page
    # The commands that touched it, the failed one with its error and a retry button.
    assert "cmd-back" in page and "transition_not_allowed" in page and "Retry command" in page
    # Children, with their step and a link to their own page.
    for child in order.issue.children.all():
        assert f'href="/admin/orders/issue/{child.pk}/change/"' in page
    # Times with seconds and zone.
    assert order.issue.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") in page


def test_the_order_page_costs_the_same_queries_however_busy(staff, order):
    client, _ = staff

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            page_of(client, order.issue)
        return len(queries)

    count_queries()  # the process caches the workflow's graph on first use
    quiet = count_queries()
    for n in range(5):  # five more notes: commands, events, deliveries and their attempts
        order.api.post(
            "/api/commands", {"type": "AddNote", "client_issue_id": "PED-1404", "text": f"n{n}"}, format="json"
        )
    for pk in Command.objects.filter(status="queued").values_list("pk", flat=True):
        command_run(pk)
    deliveries_drain()
    assert DeliveryAttempt.objects.filter(delivery__event__issue=order.issue).count() == 4 + 5
    assert count_queries() == quiet < 40


def test_files_download_from_the_order_page(staff, order):
    client, _ = staff
    file = order.issue.files.get()
    response = client.get(f"/admin/orders/issue/{order.issue.pk}/files/{file.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4")
    assert 'attachment; filename="albaran.pdf"' in response["Content-Disposition"]


def test_search_by_id_prefix_customer_name_and_phone(staff, order, integrator):
    client, _ = staff
    issue_create(integrator=integrator, client_issue_id="OTHER-9", actor=Actor.system(), details={"customer": {}})

    def found(q: str) -> set[str]:
        response = client.get("/admin/orders/issue/", {"q": q, "level": "root"})
        assert response.status_code == 200
        return {i.client_issue_id for i in response.context["cl"].result_list}

    assert found("PED-1404") == {"PED-1404"}  # exact
    assert found("PED-14") == {"PED-1404"}  # prefix
    assert found("pérez") == {"PED-1404"}  # the customer's name, any case
    assert found("991234") == {"PED-1404"}  # part of the phone
    assert found(str(order.issue.pk)) == {"PED-1404"}  # our id
    assert found("nobody") == set()


def test_roots_and_children_are_told_apart(staff, order):
    client, _ = staff
    everything = client.get("/admin/orders/issue/", {"q": "PED-1404"})
    assert len(everything.context["cl"].result_list) == 3
    page = everything.content.decode()
    assert page.count("gid-badge gid-root") == 1 and page.count("gid-badge gid-child") == 2
    roots = client.get("/admin/orders/issue/", {"q": "PED-1404", "level": "root"})
    assert [i.pk for i in roots.context["cl"].result_list] == [order.issue.pk]


@pytest.mark.parametrize("name", ["integrator", "workflow", "step", "category", "updated"])
def test_each_filter_finds_the_order(staff, order, name):
    client, _ = staff
    issue = order.issue
    params = {
        "integrator": {"integrator__id__exact": issue.integrator_id},
        "workflow": {"workflow__id__exact": issue.workflow_id},
        "step": {"step__id__exact": issue.step_id},
        "category": {"step__category__exact": "IN_PROGRESS"},
        "updated": {"updated_at__gte": issue.updated_at.date().isoformat()},
    }[name]
    response = client.get("/admin/orders/issue/", {**params, "level": "root"})
    assert [i.pk for i in response.context["cl"].result_list] == [issue.pk]
    elsewhere = {"step": {"step__id__exact": issue.workflow.steps.get(value="DELIVERED").pk}}.get(name)
    if elsewhere:
        assert not client.get("/admin/orders/issue/", elsewhere).context["cl"].result_list


def test_search_is_served_by_indexes(staff, order):
    """On a large table the planner takes these indexes; with sequential scans off, a small
    table shows the queries can use them at all."""
    queries = {
        "issue_client_id_prefix_idx": Issue.objects.filter(client_issue_id__startswith="PED-"),
        "issue_customer_name_trgm_idx": Issue.objects.filter(details__customer__name__icontains="pérez"),
        "issue_customer_phone_trgm_idx": Issue.objects.filter(details__customer__phone__icontains="991234"),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for index, queryset in queries.items():
        assert index in queryset.order_by().explain(), index


def test_move_offers_only_allowed_steps_and_records_staff(staff, order, integrator):
    client, user = staff
    page = page_of(client, order.issue)
    move_form = page.split('aria-label="Move to a step"')[1].split("</form>")[0]
    assert "Por Asignar (Pedido listo)" in move_form and "Entregado" not in move_form
    ready = order.issue.workflow.steps.get(value="TO_BE_ASSIGNED")
    done = client.post(
        f"/admin/orders/issue/{order.issue.pk}/move/",
        {"move-step": ready.pk, "move-note": "called the store"},
        follow=True,
    )
    messages = [str(m) for m in done.context["messages"]]
    assert messages == ["Moved to Por Asignar."]
    history = client_for(integrator).get("/api/issues/PED-1404/history").json()["data"]["results"]
    assert history[-1]["actor"] == {"type": "staff", "id": str(user.pk)} and history[-1]["note"] == "called the store"


def test_a_step_outside_the_transitions_is_refused_in_one_message(staff, order):
    client, _ = staff
    delivered = order.issue.workflow.steps.get(value="DELIVERED")
    done = client.post(f"/admin/orders/issue/{order.issue.pk}/move/", {"move-step": delivered.pk}, follow=True)
    messages = [str(m) for m in done.context["messages"]]
    assert len(messages) == 1 and messages[0].startswith("Not done:")
    assert Issue.objects.get(pk=order.issue.pk).step.value == "PREPARING"


def test_force_needs_a_superuser_and_a_reason_and_is_recorded_as_forced(staff, order):
    client, _ = staff
    delivered = order.issue.workflow.steps.get(value="DELIVERED")
    url = f"/admin/orders/issue/{order.issue.pk}/force/"
    no_reason = client.post(url, {"force-step": delivered.pk, "force-reason": ""}, follow=True)
    assert [str(m) for m in no_reason.context["messages"]] == ["Not done: Reason: This field is required."]
    done = client.post(url, {"force-step": delivered.pk, "force-reason": "courier confirmed by phone"}, follow=True)
    assert [str(m) for m in done.context["messages"]] == ["Forced to Entregado."]
    for issue in (order.issue, *order.issue.children.all()):  # the children are forced with it
        change = StatusChange.objects.filter(issue=issue).last()
        assert change.forced and change.transition_id is None and change.note == "courier confirmed by phone"
        assert change.to_step.value == "DELIVERED"
    event = Event.objects.filter(issue=order.issue, type="issue.status_changed").order_by("created_at").last()
    assert event.data["transition"] is None and event.data["issue"]["step"]["value"] == "DELIVERED"
    assert '<span class="gid-badge gid-forced">forced</span>' in page_of(client, order.issue)

    plain = User.objects.create_user("helper", "h@example.com", "pw-for-tests-only", is_staff=True)
    from django.contrib.auth.models import Permission

    plain.user_permissions.set(Permission.objects.filter(content_type__app_label="orders"))
    client.force_login(plain)
    assert 'aria-label="Force to a step"' not in page_of(client, order.issue)
    assert client.post(url, {"force-step": delivered.pk, "force-reason": "x"}).status_code == 403


def test_add_note(staff, order):
    client, user = staff
    done = client.post(
        f"/admin/orders/issue/{order.issue.pk}/note/", {"note-text": "Partner called at 10:02"}, follow=True
    )
    assert [str(m) for m in done.context["messages"]] == ["Note added."]
    note = IssueNote.objects.filter(issue=order.issue).last()
    assert (note.text, note.actor_type, note.actor_id) == ("Partner called at 10:02", "staff", str(user.pk))
    assert Event.objects.filter(issue=order.issue, type="issue.note_added").count() == 2


def test_retry_a_delivery_and_resend_the_events(staff, order):
    client, _ = staff
    delivery = Delivery.objects.filter(event__issue=order.issue).first()
    done = client.post(f"/admin/orders/issue/{order.issue.pk}/deliveries/{delivery.pk}/retry/", follow=True)
    assert [str(m) for m in done.context["messages"]] == [
        f"Delivery {delivery.pk} to {delivery.url} queued to be sent now."
    ]
    before = Delivery.objects.filter(endpoint=order.endpoint).count()
    events = order.issue.events.count()
    done = client.post(
        f"/admin/orders/issue/{order.issue.pk}/resend/", {"resend-endpoint": order.endpoint.pk}, follow=True
    )
    assert [str(m) for m in done.context["messages"]] == [f"{events} events queued to {order.endpoint.url}."]
    assert Delivery.objects.filter(endpoint=order.endpoint).count() == before + events


def test_retry_a_failed_command(staff, order):
    client, _ = staff
    command = order.failed_command
    done = client.post(f"/admin/orders/issue/{order.issue.pk}/commands/{command.pk}/retry/", follow=True)
    assert [str(m) for m in done.context["messages"]] == ["Command cmd-back queued to run again."]
    command.refresh_from_db()
    assert command.status == "queued"
    again = client.post(f"/admin/orders/issue/{order.issue.pk}/commands/{command.pk}/retry/", follow=True)
    messages = [str(m) for m in again.context["messages"]]
    assert len(messages) == 1 and "Only a failed command can be retried" in messages[0]


def test_staff_who_may_only_look_cannot_act(client, order):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", "v@example.com", "pw-for-tests-only", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    page = page_of(client, order.issue)
    assert 'aria-label="Actions"' not in page and "Retry now" not in page
    assert '<pre class="gid-json">{\n  &quot;address&quot;: {' in page  # the details, indented
    issue, delivery = order.issue, Delivery.objects.filter(event__issue=order.issue).first()
    for path, body in [
        ("move/", {"move-step": issue.workflow.steps.get(value="TO_BE_ASSIGNED").pk}),
        ("note/", {"note-text": "x"}),
        ("resend/", {"resend-endpoint": order.endpoint.pk}),
        (f"deliveries/{delivery.pk}/retry/", {}),
        (f"commands/{order.failed_command.pk}/retry/", {}),
    ]:
        assert client.post(f"/admin/orders/issue/{issue.pk}/{path}", body).status_code == 403, path
    assert client.post(f"/admin/webhooks/webhookendpoint/{order.endpoint.pk}/reveal/secret/").status_code == 403
    for changelist, action in [
        ("/admin/webhooks/webhookendpoint/", "rotate_secret"),
        ("/admin/webhooks/delivery/", "retry_now"),
        ("/admin/commands/command/", "retry"),
        ("/admin/fulfillment/integrator/", "rotate_client_secret"),
    ]:
        assert f'value="{action}"' not in client.get(changelist).content.decode(), changelist
    assert StatusChange.objects.filter(issue=issue).count() == 2 and issue.events.count() == 4


def test_a_childs_page_lists_no_commands_and_retries_none(staff, order):
    client, _ = staff
    child = order.issue.children.first()
    assert "cmd-back" not in page_of(client, child)
    url = f"/admin/orders/issue/{child.pk}/commands/{order.failed_command.pk}/retry/"
    assert client.post(url).status_code == 403
