from tests.browser.conftest import screenshot


def test_index(admin_page, live_server):
    assert "Site administration" in admin_page.content()
    screenshot(admin_page, "index")
