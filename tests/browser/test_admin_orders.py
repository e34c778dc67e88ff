"""Support staff settle a partner's question from the order page, in Chromium: find the order,
read its timeline, and act on it; each outcome is checked through the API as well."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, make_staff, screenshot
from tests.orders.busy_order import CUSTOMER, busy_order


@pytest.fixture
def order(delivery, integrator, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("receiver down", status=500)
    return busy_order(integrator, httpserver.url_for("/hook"))


@pytest.fixture
def confirmed(admin_page: Page) -> list[str]:
    """Every confirmation the page asks, answered yes."""
    questions: list[str] = []

    def accept(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    admin_page.on("dialog", accept)
    return questions


def open_order(page: Page, live_server, order) -> None:
    page.goto(f"{live_server.url}/admin/orders/issue/{order.issue.pk}/change/")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()


def message(page: Page):
    return page.locator("ul.messagelist li")


def test_find_an_order_by_the_customers_name(admin_page: Page, live_server, order):
    page = admin_page
    page.goto(f"{live_server.url}/admin/orders/issue/")
    page.get_by_role("textbox", name="Search").fill(CUSTOMER["name"].split()[1])  # "Pérez"
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)  # the children carry no customer
    expect(rows.first).to_contain_text("PED-1404")
    expect(rows.first).to_contain_text("root")
    # By the order id: the order and its two children, told apart; then roots only.
    page.get_by_role("textbox", name="Search").fill("PED-14")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(3)
    expect(page.locator("#result_list").get_by_text("child of")).to_have_count(2)
    page.get_by_role("link", name="Root orders only").click()
    expect(rows).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    screenshot(page, "order-search")


def test_the_order_page_is_the_timeline(admin_page: Page, live_server, order, integrator):
    page = admin_page
    open_order(page, live_server, order)
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline.get_by_text("Status Recibido → En preparación")).to_be_visible()
    expect(timeline.get_by_text(f"by integrator {integrator.name}").first).to_be_visible()
    expect(timeline.locator("blockquote").get_by_text("Customer asked for the side door.")).to_be_visible()
    expect(timeline.get_by_text("by command cmd-note")).to_be_visible()
    expect(timeline.get_by_role("link", name="albaran.pdf")).to_be_visible()
    expect(timeline.get_by_text("HTTP 500").first).to_be_visible()
    expect(timeline.get_by_text("cmd-back")).to_be_visible()
    expect(timeline.get_by_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")).first).to_be_visible()
    children = page.get_by_role("region", name="Children")
    expect(children.get_by_role("link")).to_have_count(2)
    with page.expect_download() as download:
        timeline.get_by_role("link", name="albaran.pdf").click()
    assert download.value.suggested_filename == "albaran.pdf"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    screenshot(page, "order-timeline")


def test_move_and_force_from_the_order_page(admin_page: Page, live_server, order, confirmed, staff):
    page = admin_page
    open_order(page, live_server, order)
    move = page.get_by_role("form", name="Move to a step")
    offered = ["Por Asignar (Pedido listo)", "Cancelado (Cancelar en preparación)"]  # PREPARING's transitions
    expect(move.get_by_label("Move to").locator("option")).to_have_text(offered)
    move.get_by_label("Move to").select_option(label="Por Asignar (Pedido listo)")
    move.get_by_label("Note").fill("store called: ready")
    move.get_by_role("button", name="Move").click()
    expect(message(page)).to_have_text(["Moved to Por Asignar."])
    assert confirmed and "Move this order?" in confirmed[-1]
    history = order.api.get("/api/issues/PED-1404/history").json()["data"]["results"]
    assert history[-1]["actor"] == {"type": "staff", "id": str(staff.pk)}
    assert history[-1]["to_status"] == "TO_BE_ASSIGNED"
    screenshot(page, "order-move")

    force = page.get_by_role("form", name="Force to a step")
    force.get_by_label("Force to").select_option(label="Entregado")
    force.get_by_label("Reason").fill("courier confirmed by phone")
    force.get_by_role("button", name="Force").click()
    expect(message(page)).to_have_text(["Forced to Entregado."])
    expect(page.get_by_role("region", name="Timeline").get_by_text("forced", exact=True).first).to_be_visible()
    issue = order.api.get("/api/issues/PED-1404").json()["data"]
    assert issue["step"]["value"] == "DELIVERED"
    screenshot(page, "order-force")


def test_a_staff_user_who_is_not_a_superuser_cannot_force(page: Page, live_server, order):
    log_in(page, live_server, make_staff("helper", superuser=False))
    open_order(page, live_server, order)
    expect(page.get_by_role("form", name="Move to a step")).to_be_visible()
    expect(page.get_by_role("form", name="Force to a step")).to_have_count(0)


def test_add_a_note_and_edit_the_details(admin_page: Page, live_server, order, staff):
    page = admin_page
    open_order(page, live_server, order)
    note = page.get_by_role("form", name="Add a note")
    note.get_by_label("Note").fill("Partner called about the delay")
    note.get_by_role("button", name="Add note").click()
    expect(message(page)).to_have_text(["Note added."])
    expect(page.get_by_role("region", name="Timeline").get_by_text(f"by staff {staff.username}")).to_be_visible()

    details = page.get_by_label("Details")
    details.fill('{"customer": {"name": "Ana Pérez", "phone": "+593991234567"},')
    expect(page.get_by_role("status").filter(has_text="Not valid JSON")).to_be_visible()
    screenshot(page, "order-details-invalid")
    details.fill('{"customer": {"name": "Ana Pérez", "phone": "+593991234567"}, "gate": "B"}')
    expect(page.get_by_role("status").filter(has_text="Valid JSON")).to_be_visible()
    page.get_by_role("button", name="Save and continue editing").click()
    expect(message(page)).to_contain_text(["was changed successfully"])
    issue = order.api.get("/api/issues/PED-1404").json()["data"]
    assert issue["details"] == {"customer": {"name": "Ana Pérez", "phone": "+593991234567"}, "gate": "B"}
    types = [e["type"] for e in order.api.get("/api/events", {"limit": 100}).json()["data"]["results"]]
    assert "issue.updated" in types and "issue.note_added" in types
    screenshot(page, "order-note-and-details")


def test_retry_a_delivery_resend_events_and_retry_a_command(admin_page: Page, live_server, order, confirmed):
    page = admin_page
    open_order(page, live_server, order)
    page.get_by_role("button", name=re.compile("^Retry delivery")).first.click()
    expect(message(page)).to_have_text([re.compile(r"^Delivery \d+ to .* queued to be sent now\.$")])

    resend = page.get_by_role("form", name="Resend events")
    resend.get_by_label("Endpoint").select_option(label=str(order.endpoint))
    resend.get_by_role("button", name="Resend").click()
    events = order.issue.events.count()
    expect(message(page)).to_have_text([f"{events} events queued to {order.endpoint.url}."])

    page.get_by_role("button", name="Retry command cmd-back").click()
    expect(message(page)).to_have_text(["Command cmd-back queued to run again."])
    assert len(confirmed) == 3
    command = order.api.get(f"/api/commands/{order.failed_command.pk}").json()["data"]
    assert command["status"] == "queued"  # no worker runs here: it waits for one
    screenshot(page, "order-retries")


def test_the_order_page_in_spanish(page_es: Page, live_server, order, staff):
    log_in(page_es, live_server, staff)
    page_es.goto(f"{live_server.url}/admin/orders/issue/{order.issue.pk}/change/")
    expect(page_es.get_by_role("heading", name="Línea de tiempo")).to_be_visible()
    expect(page_es.get_by_role("form", name="Mover a un paso")).to_be_visible()
    expect(page_es.get_by_role("link", name="Get It Done")).to_be_visible()
    screenshot(page_es, "order-page-es")
