"""Token requests racing each other on ``gunicorn -w 4`` over one PostgreSQL database.

SQLite serialises every writer (and the shared op_server has one worker), so most of these run on
PostgreSQL only; the refresh bursts run on both.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from tests.e2e.browser import new_session
from tests.e2e.rp import code_flow

pytestmark = pytest.mark.live

OFFLINE_SCOPE = "openid profile email offline_access"
RACERS = 8
REUSE_WINDOW = 5  # REFRESH_TOKEN_REUSE_WINDOW's default


@pytest.fixture(scope="module")
def workers(op_db, start_server):
    if not op_db.is_postgres:
        pytest.skip("concurrent workers need PostgreSQL (SQLite serialises writers; set DATABASE_URL)")
    return start_server(workers=4)


@pytest.fixture(scope="module")
def burst_server(start_server):
    """``gunicorn -w 4`` with the default reuse window, on PostgreSQL or SQLite."""
    return start_server(workers=4)


@pytest.fixture
def no_window_server(start_server, monkeypatch):
    """``gunicorn -w 4`` with REFRESH_TOKEN_REUSE_WINDOW = 0 (the server reads it at start)."""
    monkeypatch.setenv("OIDC_TEST_SETTINGS", json.dumps({"REFRESH_TOKEN_REUSE_WINDOW": 0}))
    return start_server(workers=4)


def race(send):
    """``send(session)`` from RACERS threads released together; the responses."""
    barrier = Barrier(RACERS)

    def one(_):
        session = new_session()
        barrier.wait()
        return send(session)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def refresh_burst(server, make_client, op_user):
    """RACERS refreshes with one refresh token at once: exactly one succeeds, the others are
    ``invalid_grant``. Returns the token request's data, the client's credentials, the losers'
    error descriptions and the winner's token response."""
    client = make_client(scope=OFFLINE_SCOPE)
    issuer = server.issuer
    token, _ = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token", prompt="consent")
    data = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    auth = (client.client_id, client.client_secret)
    responses = race(lambda session: session.post(f"{issuer}/token", data=data, auth=auth))
    assert sorted(r.status_code for r in responses) == [200] + [400] * (RACERS - 1), [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    losers = {r.json()["error_description"] for r in responses if r.status_code == 400}
    winner = next(r.json() for r in responses if r.status_code == 200)
    return data, auth, losers, winner


def works(server, auth, data, winner):
    """Does the winner's access token answer at userinfo and introspect as active, and its refresh token refresh?"""
    issuer = server.issuer
    userinfo = new_session().get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {winner['access_token']}"})
    introspection = new_session().post(f"{issuer}/introspect", data={"token": winner["access_token"]}, auth=auth).json()
    again = new_session().post(f"{issuer}/token", data={**data, "refresh_token": winner["refresh_token"]}, auth=auth)
    return userinfo.status_code == 200, introspection["active"], again.status_code == 200


def test_a_burst_of_refreshes_with_one_token_leaves_the_winner_working(burst_server, make_client, op_user):
    """Two tabs, or a retry of a lost response: the others are refused as retries (within
    REFRESH_TOKEN_REUSE_WINDOW), and revoke nothing."""
    data, auth, losers, winner = refresh_burst(burst_server, make_client, op_user)
    assert losers == {"Refresh token already used"}
    assert works(burst_server, auth, data, winner) == (True, True, True)
    assert all(status < 500 for _, _, status in burst_server.access_log())


def test_a_replay_after_the_reuse_window_revokes_the_family(burst_server, make_client, op_user):
    data, auth, _, winner = refresh_burst(burst_server, make_client, op_user)
    time.sleep(REUSE_WINDOW + 1.1)
    replay = new_session().post(f"{burst_server.issuer}/token", data=data, auth=auth)
    assert replay.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token reused: every token of this grant is revoked",
    }
    assert works(burst_server, auth, data, winner) == (False, False, False)


def test_a_burst_without_a_reuse_window_revokes_the_family(no_window_server, make_client, op_user):
    """REFRESH_TOKEN_REUSE_WINDOW = 0: every loser is a replay, so the family dies, the winner's tokens too."""
    data, auth, losers, winner = refresh_burst(no_window_server, make_client, op_user)
    reused = "Refresh token reused: every token of this grant is revoked"
    assert reused in losers and losers <= {reused, "Refresh token expired or revoked"}  # the first loser revokes
    assert works(no_window_server, auth, data, winner) == (False, False, False)


def test_concurrent_client_credentials_for_a_new_client(workers, make_client):
    """Every request succeeds, though all of them create the client's first session nodes at once."""
    client = make_client(extra=("--grant-type", "client_credentials"))
    auth = (client.client_id, client.client_secret)
    responses = race(
        lambda session: session.post(f"{workers.issuer}/token", data={"grant_type": "client_credentials"}, auth=auth)
    )
    assert [r.status_code for r in responses] == [200] * RACERS, [r.text for r in responses]
    values = {r.json()["access_token"] for r in responses}
    assert len(values) == RACERS
    for value in values:
        answer = new_session().post(f"{workers.issuer}/introspect", data={"token": value}, auth=auth).json()
        assert answer["active"] and answer["client_id"] == client.client_id


def test_concurrent_exchanges_of_one_subject_token(workers, make_client, op_user):
    """An exchange spends nothing: all succeed, serialised on the subject's grant row."""
    exchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    client = make_client(
        scope=OFFLINE_SCOPE,
        extra=("--grant-type", "authorization_code", "--grant-type", "refresh_token", "--grant-type", exchange),
    )
    issuer = workers.issuer
    token, _ = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token")
    data = {
        "grant_type": exchange,
        "subject_token": token["access_token"],
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
    }
    auth = (client.client_id, client.client_secret)
    responses = race(lambda session: session.post(f"{issuer}/token", data=data, auth=auth))
    assert [r.status_code for r in responses] == [200] * RACERS, [r.text for r in responses]
    assert len({r.json()["access_token"] for r in responses}) == RACERS
