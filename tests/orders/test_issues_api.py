"""Issues over HTTP (API.md §4): create, read, list, history, the seed's status endpoint."""

import pytest

from orders.models import Issue, StatusChange
from tests.conftest import client_for, step_id
from webhooks.models import Event

pytestmark = pytest.mark.django_db

ISSUE_KEYS = {
    "id", "client_issue_id", "workflow_id", "parent_issue_id", "step_id", "step", "webhook_url", "children",
    "details", "version", "created_at", "updated_at",
}  # fmt: skip
STEP_KEYS = {
    "id", "name", "value", "description", "category", "name_frontend", "description_frontend", "color", "transitions",
}  # fmt: skip


def create(client, client_issue_id="1040", **extra):
    response = client.post("/api/issues", {"client_issue_id": client_issue_id, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def move(client, client_issue_id, status, **extra):
    return client.put(f"/api/issues/status/{client_issue_id}", {"status": status, **extra}, format="json")


def test_create_with_children_and_read_back(auth_client, delivery):
    data = create(
        auth_client,
        webhook_url="http://status.ecommerce.test/api",
        details={"customer": {"name": "Ana"}},
        children=[{"details": {"sku": "A"}}, {"details": {"sku": "B"}, "status": "En preparación"}],
    )
    assert set(data) == ISSUE_KEYS
    assert data["parent_issue_id"] is None and data["version"] == 1
    assert data["step"]["value"] == "RECEIVED" and data["workflow_id"] == delivery.pk
    assert [c["client_issue_id"] for c in data["children"]] == ["1040", "1040"]
    assert data["children"][1]["step"]["value"] == "PREPARING"
    assert data["children"][0]["parent_issue_id"] == data["id"]
    fetched = auth_client.get("/api/issues/1040").json()["data"]
    assert fetched == data


def test_duplicate_client_issue_id_is_422_on_that_field(auth_client, delivery):
    create(auth_client)
    response = auth_client.post("/api/issues", {"client_issue_id": "1040"}, format="json")
    assert response.status_code == 422
    assert response.json()["warning"]["field"] == "client_issue_id"


def test_unknown_initial_status_and_workflow_are_422(auth_client, delivery):
    bad_status = auth_client.post("/api/issues", {"client_issue_id": "x", "status": "Volando"}, format="json")
    assert bad_status.status_code == 422 and bad_status.json()["warning"]["field"] == "status"
    bad_child = auth_client.post(
        "/api/issues", {"client_issue_id": "y", "children": [{"status": "Nope"}]}, format="json"
    )
    assert bad_child.json()["warning"]["field"] == "children.0.status"
    bad_wf = auth_client.post("/api/issues", {"client_issue_id": "z", "workflow": "nope"}, format="json")
    assert bad_wf.json()["warning"]["field"] == "workflow"
    assert not Issue.objects.exists()


def test_seed_status_change_exact_body_and_keys(auth_client, delivery):
    create(auth_client, children=[{"details": {}}])
    assert move(auth_client, "1040", "En preparación").status_code == 200
    response = auth_client.put("/api/issues/status/1040", {"status": "Por asignar"}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"code", "status", "message", "data", "warning", "error"}
    assert body["code"] == 200 and body["status"] == "success" and body["message"] == "OK"
    data = body["data"]
    assert set(data) == ISSUE_KEYS
    assert set(data["step"]) == STEP_KEYS
    step = data["step"]
    assert (step["name"], step["value"], step["category"], step["name_frontend"], step["color"]) == (
        "Por Asignar", "TO_BE_ASSIGNED", "IN_PROGRESS", "Por asignar", "#EBA859",
    )  # fmt: skip
    assert step["description_frontend"] == "Estamos buscando un repartidor para ti."
    names = {t["name"]: t for t in step["transitions"]}
    assert set(names) == {"Asignar pedido", "Cancelar por asignar"}
    assert names["Asignar pedido"]["to_step_id"] == step_id(delivery, "ON_ROUTE")
    assert names["Cancelar por asignar"]["to_step_id"] == step_id(delivery, "CANCELLED")
    assert set(names["Asignar pedido"]) == {"id", "name", "description", "from_step_id", "to_step_id"}
    child = data["children"][0]
    assert child["step"]["value"] == "TO_BE_ASSIGNED" and child["parent_issue_id"] == data["id"]


@pytest.mark.parametrize("spelling", ["Por asignar", "  POR ASIGNAR ", "to_be_assigned", "pór asignár"])
def test_status_resolves_by_name_frontend_or_value_ignoring_case_accents_spaces(auth_client, delivery, spelling):
    create(auth_client, status="En preparación")
    response = move(auth_client, "1040", spelling)
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["step"]["value"] == "TO_BE_ASSIGNED"


def test_unknown_status_is_422_and_nothing_changes(auth_client, delivery):
    create(auth_client)
    response = move(auth_client, "1040", "Teleportado")
    assert response.status_code == 422
    assert response.json()["warning"]["field"] == "status"
    assert StatusChange.objects.count() == 1  # only the creation


def test_status_without_transition_is_400_and_nothing_changes(auth_client, delivery):
    created = create(auth_client)
    events_before = Event.objects.count()
    response = move(auth_client, "1040", "Entregado")
    assert response.status_code == 400
    body = response.json()
    assert "RECEIVED" in body["message"] and "DELIVERED" in body["message"]
    assert Issue.objects.get(pk=created["id"]).step.value == "RECEIVED"
    assert Event.objects.count() == events_before


def test_same_step_is_a_noop_without_history_or_event(auth_client, delivery):
    create(auth_client)
    events_before, history_before = Event.objects.count(), StatusChange.objects.count()
    response = move(auth_client, "1040", "Recibido")
    assert response.status_code == 200
    assert response.json()["data"]["version"] == 1
    assert (Event.objects.count(), StatusChange.objects.count()) == (events_before, history_before)


def test_status_change_writes_history_event_and_bumps_version(auth_client, delivery):
    create(auth_client)
    response = move(auth_client, "1040", "En preparación", note="picked up by store 7")
    assert response.json()["data"]["version"] == 2
    history = auth_client.get("/api/issues/1040/history").json()["data"]["results"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [(None, "RECEIVED"), ("RECEIVED", "PREPARING")]
    last = history[-1]
    assert last["note"] == "picked up by store 7" and last["actor"]["type"] == "integrator"
    assert last["transition_id"] is not None
    event = Event.objects.filter(type="issue.status_changed").get()
    assert event.data["issue"]["step"]["value"] == "PREPARING"
    assert event.data["previous_step"]["value"] == "RECEIVED"
    assert event.data["transition"]["id"] == last["transition_id"]


def test_expected_version_conflict_is_409(auth_client, delivery):
    create(auth_client)
    response = move(auth_client, "1040", "En preparación", expected_version=7)
    assert response.status_code == 409
    assert move(auth_client, "1040", "En preparación", expected_version=1).status_code == 200


def test_children_follow_and_those_that_cannot_are_warned(auth_client, delivery):
    create(
        auth_client,
        status="En preparación",
        children=[{"status": "En preparación"}, {"status": "Recibido"}, {"status": "Por asignar"}],
    )
    response = move(auth_client, "1040", "Por asignar")
    body = response.json()
    assert response.status_code == 200
    steps = [c["step"]["value"] for c in body["data"]["children"]]
    assert steps == ["TO_BE_ASSIGNED", "RECEIVED", "TO_BE_ASSIGNED"]
    stuck = body["data"]["children"][1]["id"]
    assert body["warning"] == [
        {
            "code": "child_not_moved",
            "field": "children",
            "value": f"{stuck}: no transition from RECEIVED to TO_BE_ASSIGNED",
        }
    ]
    # parent + the one child that moved
    assert Event.objects.filter(type="issue.status_changed").count() == 2


def test_list_paginates_each_issue_once_newest_first(auth_client, delivery):
    for n in range(7):
        create(auth_client, f"order-{n}")
    seen, cursor = [], None
    while True:
        url = "/api/issues?limit=3" + (f"&cursor={cursor}" if cursor else "")
        data = auth_client.get(url).json()["data"]
        seen += [i["client_issue_id"] for i in data["results"]]
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert seen == [f"order-{n}" for n in reversed(range(7))]


def test_list_filters(auth_client, delivery):
    create(auth_client, "a")
    create(auth_client, "b", status="Por asignar")
    for spelling in ("TO_BE_ASSIGNED", "por asignar", "Pór Asignar "):
        by_status = auth_client.get("/api/issues", {"status": spelling}).json()["data"]["results"]
        assert [i["client_issue_id"] for i in by_status] == ["b"], spelling
    assert auth_client.get("/api/issues?status=Nowhere").json()["data"]["results"] == []
    by_category = auth_client.get("/api/issues?category=TO_DO").json()["data"]["results"]
    assert [i["client_issue_id"] for i in by_category] == ["a"]
    later = auth_client.get("/api/issues?updated_after=2999-01-01T00:00:00Z").json()["data"]["results"]
    assert later == []
    bad = auth_client.get("/api/issues?category=SOMETIMES")
    assert bad.status_code == 422 and bad.json()["warning"]["field"] == "category"
    assert auth_client.get("/api/issues?cursor=garbage").status_code == 422


def test_workflows_endpoints(auth_client, delivery):
    listed = auth_client.get("/api/workflows").json()["data"]["results"]
    assert [w["code"] for w in listed] == ["delivery"]
    by_code = auth_client.get("/api/workflows/delivery").json()["data"]
    by_id = auth_client.get(f"/api/workflows/{delivery.pk}").json()["data"]
    assert by_code == by_id
    assert by_code["initial_step_id"] == step_id(delivery, "RECEIVED")
    assert len(by_code["steps"]) == 6
    assert auth_client.get("/api/workflows/nope").status_code == 404


def test_restricted_workflow_is_invisible_to_others(delivery, integrator, other_integrator):
    from fulfillment.models import Workflow

    private = Workflow.objects.create(code="vip", name="VIP")
    private.integrators.add(other_integrator)
    assert client_for(integrator).get("/api/workflows/vip").status_code == 404
    assert client_for(other_integrator).get("/api/workflows/vip").status_code == 200


def test_versioned_path_alias(auth_client, delivery):
    create(auth_client)
    assert auth_client.get("/api/v1/issues/1040").json()["data"]["client_issue_id"] == "1040"


def test_query_budgets(auth_client, delivery, django_assert_max_num_queries):
    create(auth_client, children=[{"details": {}}, {"details": {}}])
    create(auth_client, "solo")
    auth_client.get("/api/issues/1040")  # warm the workflow graph cache, as any running process has
    with django_assert_max_num_queries(6):
        assert auth_client.get("/api/issues/1040").status_code == 200
    with django_assert_max_num_queries(10):
        assert move(auth_client, "solo", "En preparación").status_code == 200
