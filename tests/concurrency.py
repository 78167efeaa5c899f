"""Two requests at once on one database: work on a connection of its own, and the mark of the tests that
need row locks."""

import threading

import pytest
from django.db import connection

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks: SQLite has one writer at a time"
)


def in_thread(work):
    """Run ``work`` on its own database connection; returns the started thread."""

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
