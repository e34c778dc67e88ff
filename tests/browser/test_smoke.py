from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot


def test_staff_log_in_to_a_console_titled_get_it_done(page, live_server, staff):
    log_in(page, live_server, staff, by_form=True)
    admin_page = page
    expect(admin_page.get_by_role("link", name="Get It Done")).to_be_visible()
    expect(admin_page.get_by_role("heading", name="Support console")).to_be_visible()
    assert admin_page.title() == "Support console | Get It Done support"
    screenshot(admin_page, "index")
