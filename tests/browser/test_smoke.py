from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_the_console_is_titled_get_it_done(admin_page, live_server):
    expect(admin_page.get_by_role("link", name="Get It Done")).to_be_visible()
    expect(admin_page.get_by_role("heading", name="Support console")).to_be_visible()
    assert admin_page.title() == "Support console | Get It Done support"
    screenshot(admin_page, "index")
