"""Races on ``gunicorn -w 4`` over one PostgreSQL database: parallel dynamic registrations, and a logout
racing the token and authorization requests of the session it ends.

SQLite serialises every writer (and the shared op_server has one worker), so these run on PostgreSQL only.
"""

import secrets
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.browser import new_session
from tests.e2e.conftest import REDIRECT_URI
from tests.e2e.rp import authorization_response, code_flow, oauth_session, redeem

pytestmark = pytest.mark.live

OFFLINE_SCOPE = "openid profile email offline_access"
RACERS = 8


@pytest.fixture(scope="module")
def workers(op_db, op_server, start_server):
    if not op_db.is_postgres:
        pytest.skip("concurrent workers need PostgreSQL (SQLite serialises writers; set DATABASE_URL)")
    return start_server(workers=4)


def together(*sends):
    """Run the callables ``sends`` in threads released at once; their results, in order."""
    barrier = Barrier(len(sends))

    def one(send):
        barrier.wait()
        return send()

    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        return list(pool.map(one, sends))


def test_parallel_registrations_make_distinct_usable_clients(workers, op_user):
    body = {"redirect_uris": [REDIRECT_URI], "scope": "openid profile email", "client_name": "racer"}
    responses = together(*[lambda: new_session().post(f"{workers.issuer}/register", json=body)] * RACERS)
    assert [r.status_code for r in responses] == [201] * RACERS, [r.text for r in responses]
    infos = [r.json() for r in responses]
    for field in ("client_id", "client_secret", "registration_access_token"):
        assert len({info[field] for info in infos}) == RACERS, field
    for info in infos:  # every one reads its own configuration and signs a user in
        read = new_session().get(
            info["registration_client_uri"], headers={"Authorization": f"Bearer {info['registration_access_token']}"}
        )
        assert read.status_code == 200 and read.json()["client_id"] == info["client_id"]
    client = type(
        "Client",
        (),
        {
            "client_id": infos[-1]["client_id"],
            "client_secret": infos[-1]["client_secret"],
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "auth_method": infos[-1]["token_endpoint_auth_method"],
        },
    )
    token, _ = code_flow(client, op_user, f"{workers.issuer}/authorize", f"{workers.issuer}/token")
    assert token["access_token"]
    assert all(status < 500 for _, _, status in workers.access_log())


@pytest.mark.parametrize("round_", range(4))
def test_a_logout_racing_token_requests_leaves_no_live_token(workers, make_client, op_user, round_):
    """RP-initiated logout at the same moment as a refresh and a code redemption of the same OP session:
    whichever commits first, no access or refresh token of the session outlives the logout."""
    client = make_client(scope=OFFLINE_SCOPE)
    issuer, auth = workers.issuer, (client.client_id, client.client_secret)
    browser = new_session()
    token, _ = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token", browser=browser, prompt="consent")
    # a second authorization in the same OP session, its code not yet redeemed
    pending, sent = authorization_response(
        client, None, f"{issuer}/authorize", rp=oauth_session(client), browser=browser, prompt="consent"
    )
    code = {
        "grant_type": "authorization_code",
        "code": pending["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": sent["verifier"],
    }
    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}

    logout, refreshed, redeemed = together(
        lambda: browser.get(
            f"{issuer}/end_session", params={"id_token_hint": token["id_token"]}, allow_redirects=False
        ),
        lambda: new_session().post(f"{issuer}/token", data=refresh, auth=auth),
        lambda: new_session().post(f"{issuer}/token", data=code, auth=auth),
    )
    assert logout.status_code == 200, logout.text
    issued = [token] + [r.json() for r in (refreshed, redeemed) if r.status_code == 200]
    for response in (refreshed, redeemed):
        assert response.status_code in (200, 400), response.text
    for tokens in issued:
        for value in (tokens["access_token"], tokens.get("refresh_token")):
            if value:
                introspection = new_session().post(f"{issuer}/introspect", data={"token": value}, auth=auth)
                assert introspection.json() == {"active": False}, (round_, introspection.text)
        if tokens.get("refresh_token"):
            again = new_session().post(
                f"{issuer}/token",
                auth=auth,
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            )
            assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert all(status < 500 for _, _, status in workers.access_log())


@pytest.mark.parametrize("round_", range(4))
def test_a_logout_racing_authorizations_leaves_no_live_grant(workers, make_client, op_user, round_):
    """RP-initiated logout at the same moment as authorization requests of the same browser: each
    either commits its grant before the logout revokes the session's grants, or is refused (the OP
    session has ended) and asks the user to sign in again. No code redeems to a live token."""
    client = make_client()
    issuer = workers.issuer
    browser = new_session()
    token, _ = code_flow(client, op_user, f"{issuer}/authorize", f"{issuer}/token", browser=browser)

    def authorize():
        rp, verifier = oauth_session(client), secrets.token_urlsafe(48)
        url, _ = rp.create_authorization_url(f"{issuer}/authorize", code_verifier=verifier, nonce="n")
        tab = new_session()  # the same browser in another tab: its cookies, as they are now
        tab.cookies.update(browser.cookies)
        return tab.get(url, allow_redirects=False), verifier

    logout, *authorizations = together(
        lambda: browser.get(
            f"{issuer}/end_session", params={"id_token_hint": token["id_token"]}, allow_redirects=False
        ),
        *[authorize] * (RACERS - 1),
    )
    assert logout.status_code == 200, logout.text
    for response, verifier in authorizations:
        assert response.status_code == 302, response.text
        code = parse_qs(urlsplit(response.headers["Location"]).query).get("code")
        if code is None:  # refused: the login page
            assert urlsplit(response.headers["Location"]).path.endswith("/login/"), response.headers["Location"]
            continue
        redeemed = redeem(f"{issuer}/token", client, code[0], verifier)
        assert redeemed.status_code == 400 and redeemed.json()["error"] == "invalid_grant", (round_, redeemed.text)
    assert all(status < 500 for _, _, status in workers.access_log())
