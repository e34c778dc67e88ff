"""Browser tests of the admin: Playwright driving Debian's Chromium (`apt-get install chromium`;
never a browser Playwright downloads) against pytest-django's live server, 1400 px wide, as a
support person sees it. Each test saves what it saw under var/test-artifacts/.

Find things by what a person reads (labels, roles, link text), not by CSS: the test then breaks
when the page stops making sense, not when its markup changes.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
WIDTH, HEIGHT = 1400, 900
PASSWORD = "a-long-staff-password-9"  # a test user's

# As the machine's probe starts it: without the background-networking flags Chromium keeps
# trying Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for these tests. While Playwright's sync API is open its event loop runs in
    this thread, and Django refuses ORM calls from a thread with a running loop unless told the
    code is synchronous (it is): so for as long as the browser lives, and no longer."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)", pytrace=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)  # for the page fixtures to see how the test went
    return report


def _page(request: pytest.FixtureRequest, browser: Browser, locale: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale=locale)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:  # what the browser showed when the test failed
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    yield from _page(request, browser, "en-US")


@pytest.fixture
def page_es(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    yield from _page(request, browser, "es-ES")


def make_staff(username: str = "support", *, superuser: bool = True):
    """A staff user; not a superuser gets every permission of the apps support staff work in."""
    user_model = get_user_model()
    if superuser:
        return user_model.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    from django.contrib.auth.models import Permission

    user = user_model.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["orders", "webhooks", "commands", "fulfillment"])
    )
    return user


def log_in(page: Page, live_server, user, *, by_form: bool = False) -> None:
    """Log `user` in: through the login form, as a person does (`by_form`), or, for tests about
    what comes after it, by handing the browser a session Django made (a second faster)."""
    if by_form:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.get_by_label(re.compile("^(Username|Nombre de usuario)")).fill(user.username)
        page.get_by_label(re.compile("^(Password|Contraseña)")).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("^(Log in|Iniciar sesión)$")).click()
        page.wait_for_url(f"{live_server.url}/admin/")
        return
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


@pytest.fixture
def staff(db):
    return make_staff()


@pytest.fixture
def admin_page(page: Page, live_server, staff) -> Page:
    """The page of a logged-in superuser, at the admin's index."""
    log_in(page, live_server, staff)
    page.goto(f"{live_server.url}/admin/")
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as var/test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
