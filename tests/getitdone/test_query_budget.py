"""The hot paths' query budgets (issue 14): a request of each kind runs at most so many SQL
statements, token check included, whatever the issue's size, and a command in the worker so
many per command. The budgets hold the gains that
`make bench` measured: a regression shows here first, as an extra query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import step_id

pytestmark = pytest.mark.django_db


def _family(client, client_issue_id: str, children: int = 3) -> None:
    children_ = [{"details": {"k": k}} for k in range(children)]
    body = {"client_issue_id": client_issue_id, "details": {"n": 1}, "children": children_}
    assert client.post("/api/issues", body, format="json").status_code == 201


def _queries(request) -> tuple[int, list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    return len(captured), [q["sql"] for q in captured.captured_queries], response


def test_get_issue_takes_two_queries_with_its_token(auth_client, delivery):
    _family(auth_client, "Q-1")
    auth_client.get("/api/issues/Q-1")  # the first request of a process may fill its caches
    count, sql, response = _queries(lambda: auth_client.get("/api/issues/Q-1"))
    assert response.status_code == 200
    assert len(response.json()["data"]["children"]) == 3
    assert count <= 2, "\n".join(sql)


def test_put_status_takes_at_most_eight_queries(auth_client, delivery):
    _family(auth_client, "Q-2")
    _family(auth_client, "Q-3")
    auth_client.put("/api/issues/status/Q-3", {"status": "En preparación"}, format="json")
    count, sql, response = _queries(
        lambda: auth_client.put("/api/issues/status/Q-2", {"status": "En preparación"}, format="json")
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["step_id"] == step_id(delivery, "PREPARING")
    assert count <= 8, "\n".join(sql)


def test_poll_takes_two_queries(auth_client, delivery):
    for n in range(3):
        _family(auth_client, f"Q-P{n}", children=0)
    auth_client.get("/api/events?after=0&limit=100")
    count, sql, response = _queries(lambda: auth_client.get("/api/events?after=0&limit=100"))
    assert response.status_code == 200
    assert len(response.json()["data"]["results"]) >= 3
    assert count <= 2, "\n".join(sql)


def test_a_command_takes_seven_statements_in_its_batch(auth_client, integrator, delivery):
    from commands.services import commands_run_for_issue

    _family(auth_client, "Q-C", children=0)
    for n in range(3):
        body = {"type": "AddNote", "client_issue_id": "Q-C", "text": f"note {n}"}
        assert auth_client.post("/api/commands", body, format="json").status_code == 202
    count, sql, ran = _queries(lambda: commands_run_for_issue(integrator.pk, "Q-C"))
    assert ran == 3
    # The claim (SELECT … FOR UPDATE, UPDATE); per command its savepoint, lock, note, event,
    # endpoints, release and outcome; the claim that finds the queue empty. The worker's three
    # transactions (claim, batch, empty claim) are savepoints here, in the test's transaction: +6.
    assert count <= 2 + 7 * 3 + 1 + 6, "\n".join(sql)
