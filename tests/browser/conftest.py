"""Fixtures of the browser tests: one headless Chromium per session (Debian's, launched by its path:
Playwright never downloads a browser here), one demo site per session, a new browser context per test.

Without Chromium the tests skip, saying why; with OIDC_TEST_REQUIRE_BROWSER=1 (CI) they fail
instead. Screenshots go to OIDC_TEST_SCREENSHOTS, by default test-artifacts/screenshots/.
"""

import contextlib
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.browser.site import ADMIN_USERNAME, USER_PASSWORD, DemoSite, populate
from tests.browser.tab import Tab
from tests.e2e.live import ROOT
from tests.rp_server import RPServer

SCREENSHOTS = Path(os.environ.get("OIDC_TEST_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots").resolve()
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PEOPLE = 12  # more than the tests sign in as
TIMEOUT_MS = 10_000  # for an element or a page to appear: the server is on this machine

DEMO_USER = SimpleNamespace(username="demo", password="demo", email="ada.lovelace@example.org")
ADMIN = SimpleNamespace(username=ADMIN_USERNAME, password=USER_PASSWORD)


def chromium_executable():
    """OIDC_TEST_CHROMIUM, else Debian's ``chromium`` (or ``chromium-browser``) on PATH."""
    for name in (os.environ.get("OIDC_TEST_CHROMIUM"), "chromium", "chromium-browser"):
        found = name and shutil.which(name)
        if found:
            return found
    return None


def unavailable(reason):
    if os.environ.get("OIDC_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; OIDC_TEST_REQUIRE_BROWSER=1 makes that a failure", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium(request):
    """The session's headless Chromium (a Playwright ``Browser``)."""
    executable = chromium_executable()
    if executable is None:
        unavailable("no Chromium on PATH: apt-get install chromium (python3 dev.py test does it as root)")
    capture = request.config.pluginmanager.get_plugin("capturemanager")  # None with -p no:capture
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\nbrowser tests: Chromium {executable}, screenshots in {SCREENSHOTS}", flush=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def demo_site(chromium):
    """The example project under gunicorn, migrated, with the demo user and client, the people of
    ``person`` and a superuser."""
    site = DemoSite()
    try:
        site.people = populate(site, PEOPLE)
        yield site.start()
    finally:
        site.stop()


@pytest.fixture(autouse=True)
def no_server_errors(request):
    """Fail a test during which the demo site logged a traceback."""
    if "demo_site" not in request.fixturenames:
        yield
        return
    site = request.getfixturevalue("demo_site")
    start = len(site.log())
    yield
    new = site.log()[start:]
    assert "Traceback" not in new, f"the demo site logged an error during the test:\n{new}"


@pytest.fixture
def person(demo_site):
    """``person()``: someone who has signed in nowhere yet (username, password, email)."""

    def take():
        assert demo_site.people, f"the tests sign in as more than PEOPLE ({PEOPLE}) people: raise it"
        return demo_site.people.pop()

    return take


@pytest.fixture(scope="session")
def rp_server():
    """A relying party's endpoints in the test process, recording what reaches them."""
    server = RPServer()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def new_tab(chromium, request):
    """``new_tab(viewport=DESKTOP)``: a tab in a new browser context (its own cookies), in English.
    The test fails if any page of its tabs logged a JavaScript error; a failed test's tabs are saved
    as they were at the end."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    folder = SCREENSHOTS / request.node.path.stem / test
    shutil.rmtree(folder, ignore_errors=True)  # this test's screenshots of an earlier run
    opened = []

    def new(viewport=DESKTOP):
        context = chromium.new_context(viewport=viewport, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        tab = Tab(context.new_page(), folder, prefix=f"tab{len(opened) + 1}-" if opened else "")
        opened.append((context, tab))
        return tab

    yield new
    failed = getattr(request.node, "report_call", None)
    for context, tab in opened:
        if failed is not None and failed.failed:
            with contextlib.suppress(PlaywrightError):  # a page that cannot be saved must not hide the failure
                tab.shot("at-failure")
        context.close()
    errors = [error for _, tab in opened for error in tab.errors]
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


@pytest.fixture
def tab(new_tab):
    return new_tab()
