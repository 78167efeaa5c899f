"""The error page's log line (``oidc_provider.pages``) as a log shipper reads it: ``key=value`` pairs
(logfmt). A request-borne value with a space and ``=`` in it must stay one value: otherwise a
``client_id`` or a parameter's name quoted in the description writes fields of its own (a second
``client_id=`` or ``error=``, which the usual last-wins parsers take for the real one)."""

import re

from django.test import Client as HttpClient

from tests.page_parts import error_page_log

PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def fields(message: str) -> list[tuple[str, str]]:
    """The key=value pairs after the reference, as logfmt parsers split them."""
    return PAIR.findall(message.split(": ", 1)[1])


def test_a_client_id_cannot_add_fields_to_the_log_line(op, caplog):
    forged = "rp1 error=server_error path=/admin/"
    response = HttpClient().get("/oidc/authorize", {"client_id": forged, "scope": ["a", "b"]})
    keys = [key for key, _ in fields(error_page_log(response, caplog))]
    assert keys == ["error", "client_id", "path", "description"]


def test_a_parameter_name_in_the_description_cannot_add_fields_to_the_log_line(op, caplog):
    name = "x client_id=someone-else error=server_error"
    response = HttpClient().get("/oidc/authorize", {"client_id": "rp1", name: ["1", "2"]})
    pairs = fields(error_page_log(response, caplog))
    assert [key for key, _ in pairs] == ["error", "client_id", "path", "description"]
    assert dict(pairs)["client_id"].strip('"') == "rp1"
