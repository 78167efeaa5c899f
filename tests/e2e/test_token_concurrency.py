"""Token requests racing each other on ``gunicorn -w 4`` over one PostgreSQL database.

SQLite serialises every writer (and the shared op_server has one worker), so these run on
PostgreSQL only.
"""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from tests.e2e.browser import new_session
from tests.e2e.rp import code_flow

pytestmark = pytest.mark.live

OFFLINE_SCOPE = "openid profile email offline_access"
RACERS = 8


@pytest.fixture(scope="module")
def workers(op_db, start_server):
    if not op_db.is_postgres:
        pytest.skip("concurrent workers need PostgreSQL (SQLite serialises writers; set DATABASE_URL)")
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


def test_concurrent_refreshes_with_one_token(workers, make_client, op_user):
    """Exactly one refresh succeeds; the others are replays, so the family dies, the winner's tokens too."""
    client = make_client(scope=OFFLINE_SCOPE)
    issuer = workers.issuer
    token, _ = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token", prompt="consent")
    data = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    auth = (client.client_id, client.client_secret)

    responses = race(lambda session: session.post(f"{issuer}/token", data=data, auth=auth))
    assert sorted(r.status_code for r in responses) == [200] + [400] * (RACERS - 1), [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    again = new_session().post(f"{issuer}/token", data={**data, "refresh_token": winner["refresh_token"]}, auth=auth)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    introspection = new_session().post(f"{issuer}/introspect", data={"token": winner["access_token"]}, auth=auth)
    assert introspection.json() == {"active": False}
    assert all(status < 500 for _, _, status in workers.access_log())


def test_concurrent_client_credentials_for_a_new_client(workers, make_client):
    """Every request succeeds, though all of them create the client's first session nodes at once."""
    client = make_client(extra=("--grant-type", "client_credentials"))
    auth = (client.client_id, client.client_secret)
    responses = race(lambda session: session.post(f"{workers.issuer}/token", data={"grant_type": "client_credentials"}, auth=auth))
    assert [r.status_code for r in responses] == [200] * RACERS, [r.text for r in responses]
    values = {r.json()["access_token"] for r in responses}
    assert len(values) == RACERS
    for value in values:
        answer = new_session().post(f"{workers.issuer}/introspect", data={"token": value}, auth=auth).json()
        assert answer["active"] and answer["client_id"] == client.client_id


def test_concurrent_exchanges_of_one_subject_token(workers, make_client, op_user):
    """An exchange spends nothing: all succeed, serialised on the subject's grant row."""
    exchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    client = make_client(scope=OFFLINE_SCOPE, extra=("--grant-type", "authorization_code", "--grant-type", "refresh_token",
                                                     "--grant-type", exchange))
    issuer = workers.issuer
    token, _ = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token")
    data = {"grant_type": exchange, "subject_token": token["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token"}
    auth = (client.client_id, client.client_secret)
    responses = race(lambda session: session.post(f"{issuer}/token", data=data, auth=auth))
    assert [r.status_code for r in responses] == [200] * RACERS, [r.text for r in responses]
    assert len({r.json()["access_token"] for r in responses}) == RACERS
