"""Counts the hostile requests sent per endpoint and prints them at the end of the run."""

from collections import Counter

import pytest

TRIED = Counter()


@pytest.fixture
def tried():
    return TRIED


def pytest_terminal_summary(terminalreporter):
    if TRIED:
        terminalreporter.section("hostile input: requests tried per endpoint")
        for endpoint, count in sorted(TRIED.items()):
            terminalreporter.write_line(f"{endpoint:32} {count}")
        terminalreporter.write_line(f"{'total':32} {sum(TRIED.values())}")
