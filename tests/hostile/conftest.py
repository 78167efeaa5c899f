"""Counts the hostile requests sent per endpoint and prints them at the end of the run."""

from collections import Counter

import pytest
from django.contrib.auth import get_user_model

from oidc_provider.server import reset_server
from tests import flows

TRIED = Counter()


@pytest.fixture
def tried():
    return TRIED


@pytest.fixture
def op(db):
    """An OP with the client rp1 and the user alice (password pw), its server built afresh."""
    reset_server()
    flows.make_client()
    get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    yield
    reset_server()


def pytest_terminal_summary(terminalreporter):
    if TRIED:
        terminalreporter.section("hostile input: requests tried per endpoint")
        for endpoint, count in sorted(TRIED.items()):
            terminalreporter.write_line(f"{endpoint:32} {count}")
        terminalreporter.write_line(f"{'total':32} {sum(TRIED.values())}")
