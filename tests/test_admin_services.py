"""Admin is a thin interface over the services, like the API: every write it makes to a domain
row happens inside a service (so it is validated and publishes its event), and every field it
lets staff edit is saved that way or is read-only.

The proof is taken at the database: each INSERT, UPDATE and DELETE on a domain table during an
admin request is recorded with the service functions on the Python stack when it ran. That sees
`queryset.update()` and cascades too, which model signals would miss."""

import itertools
import re
import sys
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.forms import CheckboxInput
from django.urls import reverse
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken

from commands.models import Command
from commands.services import command_accept
from fulfillment.models import Integrator, MaintenanceMode, Workflow
from orders.models import Issue, IssueFile, IssueNote, StatusChange
from orders.services import Actor, issue_create
from tests.conftest import client_for
from tests.factories import IntegratorFactory
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.services import webhook_create, webhook_send_test

pytestmark = pytest.mark.django_db

# Registered admins that save rows themselves, each with the reason that is allowed.
SAVED_BY_ADMIN = {
    Workflow: "setup data, saved by fulfillment.workflows.workflow_save: it publishes no events",
    MaintenanceMode: "setup data, switched by fulfillment.services.maintenance_set: it publishes no events",
    User: "Django's staff accounts, no domain data",
    Group: "Django's staff permissions, no domain data",
    AccessToken: "django-oauth-toolkit's own records: revoked by its own action, no events",
    RefreshToken: "django-oauth-toolkit's own records: revoked by its own action, no events",
    Grant: "django-oauth-toolkit's own records, unused by the client credentials grant",
    IDToken: "django-oauth-toolkit's own records, unused by the client credentials grant",
}
DOMAIN_MODELS = (
    Issue, IssueFile, IssueNote, StatusChange, Event, WebhookEndpoint, Delivery, DeliveryAttempt, Integrator, Command,
    Application,
)  # fmt: skip
DOMAIN_TABLES = {model._meta.db_table: model._meta.label for model in DOMAIN_MODELS}
SERVICE_MODULES = {
    "orders.services", "webhooks.services", "fulfillment.services", "fulfillment.workflows", "commands.services",
}  # fmt: skip
_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


@dataclass(frozen=True)
class Write:
    statement: str
    model: str
    services: tuple[str, ...]  # the public service functions on the stack, innermost first


def _services_on_stack() -> tuple[str, ...]:
    names, frame = [], sys._getframe(1)
    while frame is not None:
        module, name = frame.f_globals.get("__name__"), frame.f_code.co_name
        if module in SERVICE_MODULES and name.isidentifier() and not name.startswith("_"):
            names.append(f"{module}.{name}")
        frame = frame.f_back
    return tuple(names)


class Writes:
    """Records the writes to domain tables while installed as a connection execute wrapper."""

    def __init__(self) -> None:
        self.log: list[Write] = []

    def __call__(self, execute, sql, params, many, context):
        match = _WRITE.match(sql)
        if match and match.group(2) in DOMAIN_TABLES:
            statement = match.group(1).split()[0].upper()
            self.log.append(Write(statement, DOMAIN_TABLES[match.group(2)], _services_on_stack()))
        return execute(sql, params, many, context)

    def take(self) -> list[Write]:
        log, self.log = self.log, []
        return log


def assert_through(service: str, done: list[Write]) -> None:
    assert done, "nothing was written"
    assert all(service in w.services for w in done), f"written outside {service}: {done}"


@pytest.fixture
def writes():
    recorder = Writes()
    with connection.execute_wrapper(recorder):
        yield recorder


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("support", "s@example.com", "pw-for-tests-only"))
    return client


_numbers = itertools.count(1)


class Make:
    """A fresh instance of each domain model that has an admin, made as the API makes it."""

    def __init__(self, integrator: Integrator, workflow: Workflow) -> None:
        self.integrator, self.workflow = integrator, workflow

    def issue(self) -> Issue:
        return issue_create(
            integrator=self.integrator, client_issue_id=f"ADM-{next(_numbers)}", actor=Actor.system()
        ).issue

    def endpoint(self) -> WebhookEndpoint:
        return webhook_create(integrator=self.integrator, url=f"https://hooks.example.com/{next(_numbers)}")

    def command(self) -> Command:
        body = {"type": "AddNote", "client_issue_id": self.issue().client_issue_id, "text": "hello"}
        return command_accept(integrator=self.integrator, body=body).command

    def instance(self, model: type) -> object:
        return {
            Issue: self.issue,
            StatusChange: lambda: self.issue().history.get(),
            Event: lambda: self.issue().events.get(),
            WebhookEndpoint: self.endpoint,
            Delivery: lambda: webhook_send_test(endpoint=self.endpoint()),
            Integrator: IntegratorFactory,
            Application: lambda: IntegratorFactory().application,
            Command: self.command,
        }[model]()


@pytest.fixture
def make(integrator, delivery) -> Make:
    return Make(integrator, delivery)


# A changed value for each field a change form lets staff edit, as the form posts it.
CHANGES = {
    Issue: {"details": '{"gift": true}', "webhook_url": "https://hooks.example.com/issue"},
    WebhookEndpoint: {
        "url": "https://hooks.example.com/changed",
        "description": "changed by staff",
        "event_types": '["issue.created"]',
    },
    Integrator: {"name": "Renamed", "scopes": "read", "default_workflow": lambda make: str(make.workflow.pk)},
}


def _put(data: dict, bound) -> None:
    value = bound.value()
    if isinstance(bound.field.widget, CheckboxInput):
        if value:
            data[bound.html_name] = "on"
        return
    data[bound.html_name] = "" if value is None else value


def form_data(page, **changes: str) -> dict:
    """What the rendered change form posts back, with `changes` typed into its fields."""
    adminform = page.context["adminform"]
    data = {"_save": "Save"}
    for name in adminform.form.fields:
        _put(data, adminform.form[name])
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            _put(data, formset.management_form[name])
        for form in formset.forms:
            for name in form.fields:
                _put(data, form[name])
    return data | changes


def editable_fields(page) -> list[str]:
    adminform = page.context["adminform"]
    return [name for name in adminform.form.fields if name not in adminform.readonly_fields]


def _url(model: type, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _walked() -> list[type]:
    return [model for model in admin.site._registry if model not in SAVED_BY_ADMIN]


def test_every_registered_admin_is_walked_or_allowed_to_save_itself():
    unknown = [m._meta.label for m in _walked() if m not in DOMAIN_MODELS]
    assert not unknown, (
        f"Say how admin may write these: walk them (DOMAIN_MODELS) or allow them (SAVED_BY_ADMIN): {unknown}"
    )


@pytest.mark.parametrize("model", _walked(), ids=lambda m: m._meta.label)
def test_each_editable_field_is_saved_through_a_service(model, staff, make, writes):
    obj = make.instance(model)
    page = staff.get(_url(model, "change", obj.pk))
    assert page.status_code == 200
    fields = editable_fields(page)
    assert sorted(fields) == sorted(CHANGES.get(model, {})), "give CHANGES a changed value for each editable field"
    if not fields:  # read-only: a POST is refused and writes nothing
        writes.take()
        assert staff.post(_url(model, "change", obj.pk), {"_save": "Save"}).status_code == 403
        assert writes.take() == []
        return
    for field, value in CHANGES[model].items():
        value = value(make) if callable(value) else value
        page = staff.get(_url(model, "change", obj.pk))
        before = model._meta.get_field(field).value_from_object(model.objects.get(pk=obj.pk))
        writes.take()
        response = staff.post(_url(model, "change", obj.pk), form_data(page, **{field: value}))
        assert response.status_code == 302, response.context["adminform"].form.errors
        done = writes.take()
        assert done, f"changing {field} wrote nothing"
        assert [w for w in done if not w.services] == [], f"changing {field} wrote outside a service"
        after = model._meta.get_field(field).value_from_object(model.objects.get(pk=obj.pk))
        assert after != before, f"{field} did not change"


@pytest.mark.parametrize("model", _walked(), ids=lambda m: m._meta.label)
def test_deleting_is_refused_or_done_by_a_service(model, staff, make, writes):
    obj = make.instance(model)
    writes.take()
    response = staff.post(_url(model, "delete", obj.pk), {"post": "yes"})
    done = writes.take()
    if response.status_code == 403:
        assert done == [] and model.objects.filter(pk=obj.pk).exists()
        return
    assert response.status_code == 302 and not model.objects.filter(pk=obj.pk).exists()
    assert done and all(w.services for w in done)


@pytest.mark.parametrize("model", _walked(), ids=lambda m: m._meta.label)
def test_every_action_writes_only_through_services(model, staff, make, writes):
    action_form = staff.get(_url(model, "changelist")).context["action_form"]  # None: no actions
    for action, _ in action_form.fields["action"].choices if action_form else []:
        if not action:
            continue
        obj = make.instance(model)
        writes.take()
        response = staff.post(
            _url(model, "changelist"), {"action": action, "_selected_action": [obj.pk], "post": "yes"}
        )
        assert response.status_code in (200, 302)
        assert [w for w in writes.take() if not w.services] == [], f"action {action} wrote outside a service"


# --- Webhook endpoints ---------------------------------------------------------------------------


def test_endpoint_added_in_admin_is_made_by_webhook_create(staff, integrator, writes):
    response = staff.post(
        _url(WebhookEndpoint, "add"),
        {"integrator": integrator.pk, "url": "https://hooks.example.com/new", "description": "", "event_types": "[]"},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(url="https://hooks.example.com/new")
    assert endpoint.integrator == integrator and endpoint.secret.startswith("whsec_")
    assert_through("webhooks.services.webhook_create", writes.take())


def test_endpoint_url_and_event_types_are_validated_as_in_the_api(staff, make, settings):
    endpoint = make.endpoint()
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    for field, value in (("url", "http://127.0.0.1/x"), ("event_types", '["issue.created", "no.such"]')):
        page = staff.get(_url(WebhookEndpoint, "change", endpoint.pk))
        response = staff.post(_url(WebhookEndpoint, "change", endpoint.pk), form_data(page, **{field: value}))
        assert response.status_code == 200 and list(response.context["adminform"].form.errors) == [field]
    unchanged = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (unchanged.url, unchanged.event_types) == (endpoint.url, [])


def test_endpoint_owner_cannot_be_changed(staff, make, other_integrator):
    endpoint = make.endpoint()
    page = staff.get(_url(WebhookEndpoint, "change", endpoint.pk))
    assert "integrator" not in editable_fields(page)
    response = staff.post(
        _url(WebhookEndpoint, "change", endpoint.pk),
        form_data(page, integrator=str(other_integrator.pk), description="moved?"),
    )
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).integrator_id == endpoint.integrator_id


def test_endpoint_secrets_are_never_shown(staff, make):
    endpoint = make.endpoint()
    staff.post(_url(WebhookEndpoint, "changelist"), {"action": "rotate_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    page = staff.get(_url(WebhookEndpoint, "change", endpoint.pk)).content.decode()
    assert endpoint.previous_secret and endpoint.secret not in page and endpoint.previous_secret not in page


@pytest.mark.parametrize("how", ["delete view", "delete selected"])
def test_deleting_an_endpoint_in_admin_goes_through_webhook_delete(how, staff, make, writes):
    endpoint = make.endpoint()
    delivery = webhook_send_test(endpoint=endpoint)
    writes.take()
    if how == "delete view":
        response = staff.post(_url(WebhookEndpoint, "delete", endpoint.pk), {"post": "yes"})
    else:
        response = staff.post(
            _url(WebhookEndpoint, "changelist"),
            {"action": "delete_selected", "_selected_action": [endpoint.pk], "post": "yes"},
        )
    assert response.status_code == 302
    done = writes.take()
    assert {w.model for w in done} >= {"webhooks.WebhookEndpoint", "webhooks.Delivery"}
    assert_through("webhooks.services.webhook_delete", done)
    assert not Delivery.objects.filter(pk=delivery.pk).exists() and Event.objects.filter(pk=delivery.event_id).exists()


# --- Integrators ---------------------------------------------------------------------------------


def test_disabling_an_integrator_goes_through_the_service_and_its_tokens_get_403(staff, integrator, writes):
    api = client_for(integrator)
    assert api.get("/api/issues").status_code == 200
    writes.take()
    confirmed = {"action": "disable", "_selected_action": [integrator.pk], "post": "yes"}  # the first post only asks
    staff.post(_url(Integrator, "changelist"), confirmed)
    assert_through("fulfillment.services.integrator_disable", writes.take())
    assert api.get("/api/issues").status_code == 403
    staff.post(_url(Integrator, "changelist"), {"action": "enable", "_selected_action": [integrator.pk]})
    assert_through("fulfillment.services.integrator_enable", writes.take())
    assert api.get("/api/issues").status_code == 200


def test_integrator_is_active_is_read_only_on_its_change_form(staff, integrator):
    page = staff.get(_url(Integrator, "change", integrator.pk))
    staff.post(_url(Integrator, "change", integrator.pk), form_data(page, is_active=""))
    assert "is_active" not in editable_fields(page) and Integrator.objects.get(pk=integrator.pk).is_active


def test_integrator_scopes_and_default_workflow_are_validated_by_the_service(staff, integrator, other_integrator):
    closed = Workflow.objects.create(code="closed", name="Closed")
    closed.integrators.add(other_integrator)
    for field, value in (("scopes", "read admin"), ("default_workflow", str(closed.pk))):
        page = staff.get(_url(Integrator, "change", integrator.pk))
        response = staff.post(_url(Integrator, "change", integrator.pk), form_data(page, **{field: value}))
        assert response.status_code == 200 and list(response.context["adminform"].form.errors) == [field]
    unchanged = Integrator.objects.get(pk=integrator.pk)
    assert (unchanged.scopes, unchanged.default_workflow) == ("read write", None)


# --- Issues --------------------------------------------------------------------------------------


def test_editing_details_in_admin_publishes_issue_updated_and_bumps_version(staff, make, writes):
    issue = make.issue()
    page = staff.get(_url(Issue, "change", issue.pk))
    writes.take()
    response = staff.post(_url(Issue, "change", issue.pk), form_data(page, details='{"gift": true}'))
    assert response.status_code == 302
    assert_through("orders.services.issue_update_details", writes.take())
    updated = Issue.objects.get(pk=issue.pk)
    assert updated.details == {"gift": True} and updated.version == issue.version + 1
    assert Event.objects.get(type="issue.updated", issue=issue).data["changed"] == ["details"]


def test_unsafe_webhook_url_in_admin_is_a_form_error_and_saves_nothing(staff, make, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    issue = make.issue()
    page = staff.get(_url(Issue, "change", issue.pk))
    data = form_data(page, details='{"gift": true}', webhook_url="http://127.0.0.1/x")
    response = staff.post(_url(Issue, "change", issue.pk), data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["webhook_url"] and form["webhook_url"].value() == "http://127.0.0.1/x"
    unchanged = Issue.objects.get(pk=issue.pk)
    assert (unchanged.details, unchanged.webhook_url, unchanged.version) == (issue.details, "", issue.version)
    assert not Event.objects.filter(type="issue.updated", issue=issue).exists()


def test_issue_details_that_are_no_object_are_a_form_error(staff, make):
    issue = make.issue()
    page = staff.get(_url(Issue, "change", issue.pk))
    response = staff.post(_url(Issue, "change", issue.pk), form_data(page, details="[1, 2]"))
    assert response.status_code == 200 and list(response.context["adminform"].form.errors) == ["details"]
    assert Issue.objects.get(pk=issue.pk).version == issue.version


def test_an_unknown_scope_on_the_integrator_add_form_is_a_form_error(staff):
    before = Integrator.objects.count()
    page = staff.post(_url(Integrator, "add"), {"name": "New partner", "scopes": "read admin", "is_active": "on"})
    assert page.status_code == 200
    assert "Unknown scopes: admin" in page.context["adminform"].form.errors["scopes"][0]
    assert Integrator.objects.count() == before


def test_json_nested_past_the_limit_in_an_admin_form_is_a_form_error(staff, make):
    issue = make.issue()
    page = staff.get(_url(Issue, "change", issue.pk))
    deep = "[" * 100_000 + "]" * 100_000
    response = staff.post(_url(Issue, "change", issue.pk), form_data(page, details=deep))
    assert response.status_code == 200 and list(response.context["adminform"].form.errors) == ["details"]


def test_access_tokens_are_read_only_in_admin(staff, integrator, api_client):
    from tests.conftest import obtain_token

    obtain_token(api_client, integrator)
    token = AccessToken.objects.get()
    assert staff.get(_url(AccessToken, "change", token.pk)).context["has_change_permission"] is False
