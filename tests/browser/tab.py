"""One test's browser tab: every page it lands on is saved as a full-page screenshot, and every
JavaScript console error or uncaught exception on any page (or frame) is recorded."""

import re
from urllib.parse import parse_qs, urlsplit

# how Chromium logs a response with an error status
HTTP_STATUS = "Failed to load resource: the server responded with a status of"


class Tab:
    """``page`` is Playwright's; ``goto`` and ``click`` wait for the page they lead to and save it as
    ``<folder>/<NN>-<path>.png``; ``errors`` lists the console errors and page errors seen so far."""

    def __init__(self, page, folder, prefix=""):
        self.page = page
        self.folder = folder
        self.prefix = prefix
        self.errors = []
        self.shots = 0
        self.documents = set()  # the URLs of the pages themselves (not of what they load)
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught error on {page.url}: {error}"))

    def _response(self, response):
        if response.request.is_navigation_request() and response.frame == self.page.main_frame:
            self.documents.add(response.url)

    def _console(self, message):
        if message.type != "error":
            return
        where = message.location.get("url") or self.page.url
        if message.text.startswith(HTTP_STATUS) and where in self.documents:
            return  # an error page answering with its error status: as it should (the page itself is checked)
        if urlsplit(where).path == "/favicon.ico":
            return  # the browser's own request for a site icon: no page asked for it
        self.errors.append(f"console error on {where}: {message.text}")

    @property
    def path(self) -> str:
        return urlsplit(self.page.url).path

    @property
    def query(self) -> dict:
        return {name: values[0] for name, values in parse_qs(urlsplit(self.page.url).query).items()}

    def goto(self, url):
        self.page.goto(url)
        return self.shot()

    def click(self, selector):
        """Click ``selector``, which leads to another page (through any redirects), and save that page."""
        with self.page.expect_navigation():
            self.page.click(selector)
        return self.shot()

    def shot(self, label=""):
        """Save the page as it is now, named by ``label`` or its path."""
        self.page.wait_for_load_state()
        self.shots += 1
        name = re.sub(r"[^A-Za-z0-9]+", "-", label or self.path).strip("-") or "root"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=self.folder / f"{self.prefix}{self.shots:02d}-{name}.png", full_page=True)
        return self.page
