"""Signing keys over real HTTP: every algorithm validated by authlib, private_key_jwt from authlib, and
a ``manage.py rotatekeys`` on a running OP reaching every server process within KEYS_REFRESH_INTERVAL
while flows keep running and every earlier ID token keeps validating.
"""

import json
import re
import threading
import time

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jws.jws import factory as jws_factory
from joserfc.jwk import ECKey

from tests.e2e.browser import TIMEOUT, new_session
from tests.e2e.conftest import register_clients
from tests.e2e.live import LiveServer
from tests.e2e.rp import authorization_response, code_flow, fetch_jwks, validate_id_token

pytestmark = pytest.mark.live

KEYS_REFRESH_INTERVAL = 1  # tests/settings.py
ALGS = ["RS256", "PS256", "ES256", "EdDSA"]


def kid_of(id_token):
    return jws_factory(id_token).jwt.headers["kid"]


@pytest.fixture(scope="module")
def alg_clients(op_server):
    return {alg: register_clients(op_server, extra=["--id-token-signed-response-alg", alg])[0] for alg in ALGS}


@pytest.mark.parametrize("alg", ALGS)
def test_every_algorithm_validates_in_authlib(alg_clients, op_user, op_discovery, alg):
    client = alg_clients[alg]
    token, sent = code_flow(client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"])
    claims = validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    assert claims.header["alg"] == alg
    assert alg in op_discovery["id_token_signing_alg_values_supported"]


def test_private_key_jwt_from_authlib(op_server, op_user, op_discovery):
    key = new_ec_key("P-256", kid="rp-key-1", use="sig")
    public = {k: v for k, v in key.serialize(private=True).items() if k != "d"}
    client = register_clients(
        op_server, auth_method="private_key_jwt", extra=["--jwks", json.dumps({"keys": [public]})]
    )[0]
    token_endpoint = op_discovery["token_endpoint"]
    rp = new_session(
        OAuth2Session(
            client.client_id,
            ECKey.import_key(key.serialize(private=True)),
            scope=client.scope,
            redirect_uri=client.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="private_key_jwt",
            default_timeout=TIMEOUT,
        )
    )
    rp.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="ES256", headers={"kid": "rp-key-1"}))
    requests_made = []
    rp.hooks["response"].append(lambda response, **kwargs: requests_made.append(response.request))
    result, sent = authorization_response(client, op_user, op_discovery["authorization_endpoint"], rp=rp)
    token = rp.fetch_token(token_endpoint, code=result["code"], state=sent["state"], code_verifier=sent["verifier"])
    validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    token_request = next(r for r in requests_made if r.url == token_endpoint)
    assert "client_assertion=" in token_request.body and "Authorization" not in token_request.headers


def test_jwks_revalidation_over_http(op_discovery):
    first = new_session().get(op_discovery["jwks_uri"])
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = new_session().get(op_discovery["jwks_uri"], headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.fixture(scope="module")
def server_b(op_db, op_server):
    """Another OP process on the same database and issuer; two workers where the database allows it."""
    server = LiveServer(op_db, workers=2 if op_db.is_postgres else 1, issuer=op_server.issuer).start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


def rotate(server, alg="RS256"):
    """``manage.py rotatekeys --alg <alg>`` until it promotes (the next key must have been published
    JWKS_MAX_AGE + KEYS_REFRESH_INTERVAL); returns the kid that signs from now on."""
    for _ in range(20):
        out = server.manage("rotatekeys", "--alg", alg)
        promoted = re.search(rf"{alg}: promote (\S+) to current", out)
        if promoted:
            return promoted.group(1)
        time.sleep(0.5)
    raise AssertionError(out)


def test_rotation_reaches_every_process_without_a_failed_request(
    make_client, op_server, server_b, op_user, op_discovery
):
    client = make_client()
    authorize = op_discovery["authorization_endpoint"]
    token_endpoints = [op_discovery["token_endpoint"], f"{server_b.url}/oidc/token"]

    def flow(token_endpoint):
        return code_flow(client, op_user, authorize, token_endpoint)

    issued = [flow(endpoint) for endpoint in token_endpoints]
    old_kid = kid_of(issued[0][0]["id_token"])
    assert kid_of(issued[1][0]["id_token"]) == old_kid

    errors, stop = [], threading.Event()

    def traffic():  # relying parties keep signing in at both processes during the rotation
        while not stop.is_set():
            for endpoint in token_endpoints:
                try:
                    issued.append(flow(endpoint))
                except Exception as err:  # noqa: BLE001 - any failure is the finding
                    errors.append(f"{endpoint}: {err!r}")

    background = threading.Thread(target=traffic)
    background.start()
    try:
        new_kid = rotate(op_server)
        rotated = time.monotonic()
        time.sleep(KEYS_REFRESH_INTERVAL + 0.2)
        for endpoint in token_endpoints * 3:  # every process (and worker) now signs with the new key
            token, _ = flow(endpoint)
            assert kid_of(token["id_token"]) == new_kid != old_kid, endpoint
        elapsed = time.monotonic() - rotated
    finally:
        stop.set()
        background.join()
    assert not errors, errors[:3]
    assert elapsed < KEYS_REFRESH_INTERVAL + 30

    kids = {kid_of(token["id_token"]) for token, _ in issued}
    assert kids == {old_kid, new_kid} or kids == {old_kid}  # traffic saw the old key, maybe the new one
    for jwks_uri in (op_discovery["jwks_uri"], f"{server_b.url}/oidc/jwks"):
        jwks = new_session().get(jwks_uri).json()
        assert {old_kid, new_kid} <= {k["kid"] for k in jwks["keys"]}
        for token, sent in issued:  # signed before or during the rotation: still valid
            validate_id_token(
                token["id_token"],
                jwks,
                issuer=op_server.issuer,
                client_id=client.client_id,
                nonce=sent["nonce"],
                access_token=token["access_token"],
            )
