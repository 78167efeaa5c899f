"""Several OP processes over one database: no state may live in a single process.

Process B runs with process A's issuer (one OP behind a load balancer); the browser talks to A,
the RP's back channel to B. A ``gunicorn -w 2`` server runs many flows, on PostgreSQL and on SQLite
(WAL, as the example project runs it).
"""

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from threading import Barrier

import pytest

from tests.e2e.browser import new_session
from tests.e2e.rp import code_flow, get_code, redeem, validate_id_token

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server_b(op_server, start_server):
    return start_server(issuer=op_server.issuer)


def get_json(url, access_token=None):
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    response = new_session().get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_login_at_a_token_and_userinfo_at_b(make_client, op_server, server_b, op_user, op_discovery):
    client = make_client()
    b_issuer = f"{server_b.url}/oidc"
    assert get_json(f"{b_issuer}/.well-known/openid-configuration")["issuer"] == op_server.issuer
    jwks = get_json(f"{b_issuer}/jwks")
    assert jwks == get_json(op_discovery["jwks_uri"])

    token, sent = code_flow(client, op_user, op_discovery["authorization_endpoint"], f"{b_issuer}/token")
    claims = validate_id_token(
        token["id_token"],
        jwks,
        issuer=op_server.issuer,
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    assert get_json(f"{b_issuer}/userinfo", token["access_token"])["sub"] == claims["sub"]
    assert get_json(op_discovery["userinfo_endpoint"], token["access_token"])["sub"] == claims["sub"]

    served_by_b = [line for _, line, _ in server_b.access_log()]
    assert any(line.startswith("POST /oidc/token") for line in served_by_b)
    assert not any("/authorize" in line or "/accounts/login" in line for line in served_by_b)


def test_the_servers_share_sqlite_in_wal_mode(op_db, op_server, server_b):
    """On SQLite the processes run as the example project and docs/deployment.md do: in WAL mode,
    so a request reading at one process does not wait for another's write."""
    if op_db.is_postgres:
        pytest.skip("SQLite only")
    with closing(sqlite3.connect(f"file:{op_db.path}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_code_redeemed_at_b_is_spent_at_a(make_client, server_b, op_user, op_discovery):
    client = make_client()
    code, verifier = get_code(client, op_user, op_discovery["authorization_endpoint"])
    first = redeem(f"{server_b.url}/oidc/token", client, code, verifier)
    assert first.status_code == 200, first.text
    again = redeem(op_discovery["token_endpoint"], client, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_concurrent_redemption_of_one_code(make_client, op_server, server_b, op_user, op_discovery):
    """The same code sent to A and B at once (an attacker racing the RP): exactly one succeeds."""
    client = make_client()
    code, verifier = get_code(client, op_user, op_discovery["authorization_endpoint"])
    urls = [f"{server.url}/oidc/token" for server in (op_server, server_b)] * 3
    barrier = Barrier(len(urls))

    def race(url):
        session = new_session()
        barrier.wait()
        return redeem(url, client, code, verifier, session=session)

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        responses = list(pool.map(race, urls))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (len(urls) - 1), [r.text for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)


def test_two_workers_many_flows(op_db, start_server, make_client, op_user):
    """Ten flows, four at a time, for one client on ``gunicorn -w 2``: every one succeeds."""
    server = start_server(workers=2)
    issuer = server.issuer
    jwks = get_json(f"{issuer}/jwks")
    client = make_client()

    def flow(_):
        token, sent = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token")
        claims = validate_id_token(
            token["id_token"],
            jwks,
            issuer=issuer,
            client_id=client.client_id,
            nonce=sent["nonce"],
            access_token=token["access_token"],
        )
        assert get_json(f"{issuer}/userinfo", token["access_token"])["sub"] == claims["sub"]
        return claims["sub"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        subs = list(pool.map(flow, range(10)))
    assert len(set(subs)) == 1

    log = server.access_log()
    assert all(status < 500 for _, _, status in log)
    assert len({pid for pid, _, _ in log}) == 2, "both workers should have served requests"


def test_one_user_signs_in_to_many_clients_at_once(op_db, start_server, make_client, op_user):
    """Concurrent logins add grants under the same user session: none may be lost (a
    session's ``subordinate`` list comes from its children's rows, never read, modified and written)."""
    server = start_server(workers=2)
    issuer = server.issuer
    clients = [make_client() for _ in range(6)]
    barrier = Barrier(len(clients))

    def flow(client):
        barrier.wait()
        token, _ = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token")
        return token["access_token"]

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        tokens = list(pool.map(flow, clients))
    # every grant survived: each client's token still works, in either worker
    subs = {get_json(f"{issuer}/userinfo", token)["sub"] for token in tokens for _ in range(2)}
    assert len(subs) == 1
    ids = [c.client_id for c in clients]
    rows = server.manage(
        "shell",
        "-c",
        (
            "from oidc_provider.models import SessionNode as N\n"
            f"print(*(N.objects.filter(client_id=c).values_list('kind', flat=True).order_by('kind') for c in {ids!r}))"
        ),
    )
    assert rows.count("'client', 'grant'") == len(clients), rows
