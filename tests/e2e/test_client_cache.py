"""The client-row cache across worker processes (``CLIENT_CACHE_TTL``, storage/clients.py): a client
disabled in the database is refused by every worker once the bound has passed since the change
committed, though each worker had the row cached. The token requests are authlib's."""

import json
import sqlite3
import time
from contextlib import closing

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from tests.e2e.browser import TIMEOUT, new_session

pytestmark = pytest.mark.live

TTL = 2


@pytest.fixture(scope="module")
def cached_server(start_server):
    return start_server(workers=2, env={"OIDC_TEST_SETTINGS": json.dumps({"CLIENT_CACHE_TTL": TTL})})


def disable(db, client_id):
    """``is_active = false`` straight in the database (no Django process involved), committed on return."""
    sql = "UPDATE oidc_provider_client SET is_active = false WHERE client_id = %s"
    if db.is_postgres:
        import psycopg

        with psycopg.connect(db.env()["DATABASE_URL"], autocommit=True) as conn:
            assert conn.execute(sql, (client_id,)).rowcount == 1
    else:
        with closing(sqlite3.connect(db.path, timeout=20)) as conn, conn:
            assert conn.execute(sql.replace("%s", "?"), (client_id,)).rowcount == 1


def token(session, url):
    """(start time, worker-independent outcome): "ok" or the OAuth error code."""
    started = time.monotonic()
    try:
        session.fetch_token(url, grant_type="client_credentials")
        return started, "ok"
    except OAuthError as err:
        return started, err.error


def test_a_client_disabled_in_the_database_is_refused_by_every_worker_within_the_bound(
    cached_server, make_client, op_db
):
    client = make_client(extra=("--grant-type", "client_credentials"))
    session = new_session(
        OAuth2Session(
            client.client_id,
            client.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            default_timeout=TIMEOUT,
        )
    )
    url = f"{cached_server.url}/oidc/token"
    for _ in range(60):  # until both workers have served the client (and cached its row)
        assert token(session, url)[1] == "ok"
        served = {pid for pid, line, status in cached_server.access_log() if line.startswith("POST /oidc/token")}
        if len(served) == 2:
            break
    assert len(served) == 2, "one worker served every request"

    before = len(cached_server.access_log())
    disable(op_db, client.client_id)
    committed = time.monotonic()
    outcomes = [token(session, url) for _ in range(5)]  # within the bound: either answer is allowed
    while time.monotonic() < committed + TTL:
        time.sleep(0.1)
    outcomes += [token(session, url) for _ in range(20)]
    late = [outcome for started, outcome in outcomes if started >= committed + TTL]
    assert late and set(late) == {"invalid_client"}, outcomes
    refusing = {pid for pid, line, status in cached_server.access_log()[before:] if status == 401}
    assert len(refusing) == 2, "both workers must have refused the client"
