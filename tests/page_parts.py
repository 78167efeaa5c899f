"""The parts of an OP page that tests name: every element with an ``id`` (tag, attributes, text), and
the page's visible text, as a browser would read them (entities decoded, white space collapsed)."""

import re
from html.parser import HTMLParser
from typing import NamedTuple

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
UNSEEN = {"script", "style", "title", "noscript"}
REFERENCE = re.compile(r"[A-Z2-7]{10}")  # base32


class Element(NamedTuple):
    tag: str
    attrs: dict
    text: str


def squeeze(text: str) -> str:
    return " ".join(text.split())


class PageParts(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, Element] = {}
        self._open: list[tuple[str, dict, list]] = []
        self._visible: list[str] = []
        self.feed(html)
        self.close()
        self.text = squeeze("".join(self._visible))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            assert attrs["id"] not in self.by_id, f"id {attrs['id']} twice"
        if tag in VOID:
            if "id" in attrs:
                self.by_id[attrs["id"]] = Element(tag, attrs, "")
            return
        self._open.append((tag, attrs, []))

    def handle_data(self, data):
        for _, _, text in self._open:
            text.append(data)
        if not any(tag in UNSEEN for tag, _, _ in self._open):
            self._visible.append(data)

    def handle_endtag(self, tag):
        while self._open:
            name, attrs, text = self._open.pop()
            if "id" in attrs:
                self.by_id[attrs["id"]] = Element(name, attrs, squeeze("".join(text)))
            if name == tag:
                return


def page_parts(response) -> PageParts:
    return PageParts(response.content.decode())


def error_page_log(
    response, caplog, error="invalid_request", home="/", status=400, home_text="Go to the home page"
) -> str:
    """An error page: its OAuth ``error`` code, a reference, the way home; returns the one WARNING of
    ``oidc_provider.pages`` logged for it, which begins with that reference."""
    assert response.status_code == status and "Location" not in response
    assert response["X-Frame-Options"] == "DENY" and response["Content-Security-Policy"] == "frame-ancestors 'none'"
    parts = page_parts(response)
    assert parts.by_id["error-code"] == Element("code", {"id": "error-code"}, error)
    reference = parts.by_id["reference"].text
    assert REFERENCE.fullmatch(reference), reference
    assert parts.by_id["home"] == Element("a", {"id": "home", "class": "button", "href": home}, home_text)
    [record] = [record for record in caplog.records if record.name == "oidc_provider.pages"]
    assert record.levelname == "WARNING"
    message = record.getMessage()
    assert message.startswith(f"error page {reference}: ") and "\n" not in message and "\r" not in message
    return message
