"""``private_key_jwt`` client authentication (RFC 7523 §3, OIDC Core §9) with the client's keys on its row.

Every test rebuilds the server between authorization and token request, so no key survives in
process memory: what another worker would see.
"""

import json
import time
import uuid
from types import SimpleNamespace

import pytest
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jwk.hmac import SYMKey
from cryptojwt.jwk.rsa import new_rsa_key
from cryptojwt.jws.jws import JWS

from oidc_provider.models import Client, ClientAssertion
from oidc_provider.server import get_server, reset_server
from oidc_provider.storage import client_keys
from oidc_provider.storage.keys import public_jwk
from tests import flows

ISSUER = "http://testserver/oidc"
TOKEN_ENDPOINT = ISSUER + "/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def client_key():
    return new_ec_key("P-256", kid="client-key-1", use="sig")


def jwks_of(*keys):
    return {"keys": [public_jwk(k.serialize(private=True)) for k in keys]}


@pytest.fixture
def pk_client(db, client_key):
    flows.make_client(
        "pk1", None, "--token-endpoint-auth-method", "private_key_jwt", "--jwks", json.dumps(jwks_of(client_key))
    )
    return "pk1"


def assertion(key, alg="ES256", **claims):
    now = int(time.time())
    payload = {"iss": "pk1", "sub": "pk1", "aud": TOKEN_ENDPOINT, "exp": now + 60, "iat": now, "jti": uuid.uuid4().hex}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return JWS(json.dumps(payload), alg=alg, kid=key.kid).sign_compact([key])


def redeem(http, code, verifier, client_assertion, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": client_assertion,
        **extra,
    }
    return http.post("/oidc/token", {k: v for k, v in data.items() if v is not None})


def code_for(browser, client_id="pk1"):
    code, verifier = flows.get_code(browser, client_id=client_id)
    reset_server()  # the token request reaches "another worker"
    return code, verifier


@pytest.mark.parametrize("aud", [TOKEN_ENDPOINT, ISSUER, [ISSUER], [TOKEN_ENDPOINT]])
def test_private_key_jwt_with_keys_from_the_client_row(pk_client, client_key, browser, http, aud):
    """Defect 28: the issuer as ``aud`` is accepted too (RFC 7523 §3); one value, alone or in an array
    of one (RFC 7523bis)."""
    code, verifier = code_for(browser)
    response = redeem(http, code, verifier, assertion(client_key, aud=aud))
    assert response.status_code == 200, response.content
    assert flows.jwt_claims(response.json()["id_token"])["aud"] == ["pk1"]


def test_an_assertion_cannot_be_replayed(pk_client, client_key, browser, http):
    used = assertion(client_key)
    code, verifier = code_for(browser)
    assert redeem(http, code, verifier, used).status_code == 200
    code, verifier = code_for(browser)  # a fresh code, the same assertion, on "another worker"
    response = redeem(http, code, verifier, used)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert ClientAssertion.objects.count() == 1


def test_a_replay_across_servers_racing_is_refused(pk_client, client_key):
    from oidc_provider.storage.assertions import AssertionReplayStore

    first, second = AssertionReplayStore(), AssertionReplayStore()
    first["pk1:j1"] = 1
    assert "pk1:j1" in second
    with pytest.raises(ValueError):
        second["pk1:j1"] = 2  # the check raced: the unique row refuses the second use


BAD_ASSERTIONS = {
    "wrong key": lambda key: assertion(new_ec_key("P-256", kid="client-key-1")),
    "unknown kid": lambda key: assertion(new_ec_key("P-256", kid="other")),
    "sub is not iss": lambda key: assertion(key, sub="someone"),
    "no exp": lambda key: assertion(key, exp=None),
    "expired": lambda key: assertion(key, exp=int(time.time()) - 120),
    "exp too far ahead": lambda key: assertion(key, exp=int(time.time()) + 7200),
    "no jti": lambda key: assertion(key, jti=None),
    "other audience": lambda key: assertion(key, aud="https://other.example/token"),
    "no audience": lambda key: assertion(key, aud=None),
    "empty audience array": lambda key: assertion(key, aud=[]),
    "audience not a string": lambda key: assertion(key, aud=[7]),
    "the userinfo endpoint as audience": lambda key: assertion(key, aud=ISSUER + "/userinfo"),
    "iss is another client": lambda key: assertion(key, iss="rp1", sub="rp1"),
    "iss is the OP": lambda key: assertion(key, iss=ISSUER, sub=ISSUER),
    "alg none": lambda key: JWS(
        json.dumps({"iss": "pk1", "sub": "pk1", "aud": TOKEN_ENDPOINT, "jti": "j", "exp": int(time.time()) + 60}),
        alg="none",
    ).sign_compact(),
    "HS256": lambda key: JWS(
        json.dumps({"iss": "pk1", "sub": "pk1", "aud": TOKEN_ENDPOINT, "jti": "j", "exp": int(time.time()) + 60}),
        alg="HS256",
    ).sign_compact([SYMKey(key=b"a-shared-secret-of-some-length")]),
    "not a JWT": lambda key: "not-a-jwt",
    "garbage parts": lambda key: "e30.bm90IGpzb24.c2ln",
    "claims not an object": lambda key: JWS(json.dumps(["pk1"]), alg="ES256", kid=key.kid).sign_compact([key]),
}


@pytest.mark.parametrize("case", BAD_ASSERTIONS)
def test_bad_assertions_are_invalid_client(pk_client, client_key, rp, browser, http, case):
    """Defect 51: sub, exp, jti, lifetime and algorithm are checked, not only the signature."""
    code, verifier = code_for(browser)
    response = redeem(http, code, verifier, BAD_ASSERTIONS[case](client_key))
    assert response.status_code == 401, (case, response.content)
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "aud", [[ISSUER, "https://evil.example"], ["https://evil.example", TOKEN_ENDPOINT], [ISSUER, TOKEN_ENDPOINT]]
)
def test_an_assertion_also_addressed_to_another_party_is_refused(pk_client, client_key, browser, http, aud):
    """Defect 69 (RFC 7523bis): an assertion whose audience names the OP among others may have been
    made for (or be replayed by) the other party; the OP must be its sole audience."""
    code, verifier = code_for(browser)
    response = redeem(http, code, verifier, assertion(client_key, aud=aud))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}
    assert redeem(http, code, verifier, assertion(client_key)).status_code == 200  # the code was not spent


def test_wrong_assertion_type_and_mismatched_client_id(pk_client, client_key, browser, http):
    code, verifier = code_for(browser)
    assert redeem(http, code, verifier, assertion(client_key), client_assertion_type="urn:other").status_code == 401
    assert redeem(http, code, verifier, assertion(client_key), client_id="rp1").status_code == 401
    assert redeem(http, code, verifier, assertion(client_key), client_id="pk1").status_code == 200


def test_a_private_key_jwt_client_cannot_use_other_methods(pk_client, browser, http):
    code, verifier = code_for(browser)
    assert flows.redeem(http, code, verifier, client_id="pk1", secret="").status_code == 401
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "pk1",
    }
    assert http.post("/oidc/token", data).status_code == 401  # as a public client


def test_a_secret_client_cannot_use_private_key_jwt(rp, client_key, browser, http):
    Client.objects.filter(client_id="rp1").update(jwks=jwks_of(client_key))  # keys, but not its method
    code, verifier = code_for(browser, "rp1")
    response = redeem(http, code, verifier, assertion(client_key, iss="rp1", sub="rp1"))
    assert response.status_code == 401


def back_channel(http, endpoint, token, key, aud=ISSUER):
    data = {"token": token, "client_assertion_type": JWT_BEARER, "client_assertion": assertion(key, aud=aud)}
    return http.post(f"/oidc/{endpoint}", data)


@pytest.mark.parametrize("aud", [ISSUER, TOKEN_ENDPOINT])
def test_a_private_key_jwt_client_introspects_and_revokes_with_an_assertion(pk_client, client_key, browser, http, aud):
    code, verifier = code_for(browser)
    access_token = redeem(http, code, verifier, assertion(client_key)).json()["access_token"]
    info = back_channel(http, "introspect", access_token, client_key, aud).json()
    assert info["active"] is True and info["client_id"] == "pk1"
    assert back_channel(http, "revoke", access_token, client_key, aud).status_code == 200
    assert back_channel(http, "introspect", access_token, client_key, aud).json() == {"active": False}


@pytest.mark.parametrize("endpoint", ["introspect", "revoke"])
def test_an_assertion_addressed_to_the_endpoint_url_is_refused(pk_client, client_key, http, endpoint):
    """The OP is named by its issuer or its token endpoint, at every endpoint alike (RFC 7523bis)."""
    response = back_channel(http, endpoint, "x", client_key, aud=f"{ISSUER}/{endpoint}")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}


@pytest.mark.parametrize("endpoint", ["introspect", "revoke"])
def test_a_secret_left_on_a_private_key_jwt_client_opens_no_endpoint(pk_client, http, endpoint):
    """The code before this fix gave a registered private_key_jwt client a secret, and introspection and
    revocation took Basic or post from any confidential client: the secret worked there."""
    client = Client.objects.get(client_id="pk1")
    client.set_secret("leaked")
    client.save()
    for headers, data in (
        ({"HTTP_AUTHORIZATION": flows.basic("pk1", "leaked")}, {}),
        ({}, {"client_id": "pk1", "client_secret": "leaked"}),
    ):
        response = http.post(f"/oidc/{endpoint}", {"token": "x", **data}, **headers)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}


def test_a_secret_client_cannot_introspect_with_an_assertion(rp, client_key, http):
    Client.objects.filter(client_id="rp1").update(jwks=jwks_of(client_key))  # keys, but not its method
    data = {
        "token": "x",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion(client_key, iss="rp1", sub="rp1", aud=ISSUER),
    }
    response = http.post("/oidc/introspect", data)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_the_client_rotates_its_keys_on_its_row(pk_client, client_key, browser, http):
    """A new jwks on the row is used from the next request on, by every worker."""
    new_key = new_rsa_key(kid="client-key-2", use="sig")
    code, verifier = flows.get_code(browser, client_id="pk1")
    get_server()  # this worker has already seen the old keys
    Client.objects.filter(client_id="pk1").update(jwks=jwks_of(new_key))
    assert redeem(http, code, verifier, assertion(client_key)).status_code == 401
    assert redeem(http, code, verifier, assertion(new_key, alg="PS256")).status_code == 200


def test_keys_from_the_jwks_uri_fetched_once_per_cache_period(db, client_key, browser, http, jwks_server):
    jwks_server.jwks = jwks_of(client_key)
    flows.make_client("pk1", None, "--token-endpoint-auth-method", "private_key_jwt", "--jwks-uri", jwks_server.url)
    for _ in range(2):
        code, verifier = flows.get_code(browser, client_id="pk1")
        assert redeem(http, code, verifier, assertion(client_key)).status_code == 200
    assert jwks_server.fetches == 1


def test_discovery_advertises_private_key_jwt(db, http):
    info = http.get("/oidc/.well-known/openid-configuration").json()
    assert "private_key_jwt" in info["token_endpoint_auth_methods_supported"]
    assert {"RS256", "ES256", "PS256", "EdDSA"} <= set(info["token_endpoint_auth_signing_alg_values_supported"])
    # HS256/384/512 are there for client_secret_jwt only (the "HS256" bad assertion: refused from a
    # private_key_jwt client); `none` never is
    assert "none" not in info["token_endpoint_auth_signing_alg_values_supported"]
    for endpoint in ("introspection", "revocation"):
        assert "private_key_jwt" in info[f"{endpoint}_endpoint_auth_methods_supported"]
        assert (
            info[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
            == info["token_endpoint_auth_signing_alg_values_supported"]
        )


def pk_client_at(jwks_server, *keys):
    jwks_server.jwks = jwks_of(*keys)
    flows.make_client("pk1", None, "--token-endpoint-auth-method", "private_key_jwt", "--jwks-uri", jwks_server.url)


def test_a_client_that_rotates_the_keys_at_its_jwks_uri_is_accepted_at_once(db, client_key, browser, http, jwks_server):
    """A new kid only at the jwks_uri: the cached keys lack it, so they are fetched again (they
    were kept CLIENT_JWKS_CACHE_TTL seconds and the new key refused until then)."""
    pk_client_at(jwks_server, client_key)
    code, verifier = flows.get_code(browser, client_id="pk1")
    assert redeem(http, code, verifier, assertion(client_key)).status_code == 200
    new_key = new_ec_key("P-256", kid="client-key-2", use="sig")
    jwks_server.jwks = jwks_of(new_key)
    code, verifier = flows.get_code(browser, client_id="pk1")
    response = redeem(http, code, verifier, assertion(new_key))
    assert response.status_code == 200, response.content
    assert jwks_server.fetches == 2


def test_a_flood_of_unknown_kids_fetches_the_jwks_uri_once_per_interval(
    db, client_key, browser, http, jwks_server, settings, monkeypatch
):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_JWKS_REFETCH_INTERVAL": 1}
    # the key cache's clock, moved by hand: a flood slower than the interval (a loaded machine) would refetch
    clock = SimpleNamespace(now=time.monotonic())
    monkeypatch.setattr(client_keys, "time", SimpleNamespace(monotonic=lambda: clock.now))
    pk_client_at(jwks_server, client_key)
    code, verifier = flows.get_code(browser, client_id="pk1")
    assert redeem(http, code, verifier, assertion(client_key)).status_code == 200
    code, verifier = flows.get_code(browser, client_id="pk1")
    for n in range(20):
        response = redeem(http, code, verifier, assertion(new_ec_key("P-256", kid=f"flood-{n}")))
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert jwks_server.fetches == 2  # the first unknown kid refetched; the other 19 waited
    clock.now += 1.1
    assert redeem(http, code, verifier, assertion(new_ec_key("P-256", kid="after"))).status_code == 401
    assert jwks_server.fetches == 3
    assert redeem(http, code, verifier, assertion(client_key)).status_code == 200  # the known key still works
    assert jwks_server.fetches == 3


def test_a_jwks_uri_gone_wrong_keeps_the_cached_keys(db, client_key, browser, http, jwks_server):
    """An unknown kid whose refetch fails (RP down) does not drop the keys that still work."""
    pk_client_at(jwks_server, client_key)
    code, verifier = flows.get_code(browser, client_id="pk1")
    assert redeem(http, code, verifier, assertion(client_key)).status_code == 200
    jwks_server.status = 500
    code, verifier = flows.get_code(browser, client_id="pk1")
    assert redeem(http, code, verifier, assertion(new_ec_key("P-256", kid="other"))).status_code == 401
    assert redeem(http, code, verifier, assertion(client_key)).status_code == 200
    assert jwks_server.fetches == 2


@pytest.mark.parametrize("path", ["/oidc/introspect", "/oidc/revoke"])
def test_a_jwks_uri_client_authenticates_at_every_endpoint_on_a_cold_cache(
    db, client_key, browser, http, jwks_server, path
):
    """The jwks_uri is fetched during client authentication, which must come before the request's
    transaction opens (nothing is sent inside one): on a worker that has not cached the keys yet."""
    pk_client_at(jwks_server, client_key)
    code, verifier = flows.get_code(browser, client_id="pk1")
    token = redeem(http, code, verifier, assertion(client_key)).json()["access_token"]
    reset_server()  # another worker
    response = http.post(
        path, {"token": token, "client_assertion_type": JWT_BEARER, "client_assertion": assertion(client_key)}
    )
    assert response.status_code == 200, response.content
    assert jwks_server.fetches == 2
