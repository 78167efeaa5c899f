"""A relying party rotating the key behind its jwks_uri, over real HTTP: on the first assertion with
the new kid the OP fetches the jwks_uri again (through oidc_provider.outbound) and accepts it."""

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptojwt.jwk.ec import new_ec_key
from joserfc.jwk import ECKey

from tests.e2e.browser import TIMEOUT, new_session
from tests.e2e.conftest import register_clients
from tests.e2e.rp import authorization_response
from tests.jwks_server import JWKSServer

pytestmark = pytest.mark.live


def public_jwks(key):
    return {"keys": [{k: v for k, v in key.serialize(private=True).items() if k != "d"}]}


def token_request(client, key, op_user, op_discovery):
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
    rp.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="ES256", headers={"kid": key.kid}))
    result, sent = authorization_response(client, op_user, op_discovery["authorization_endpoint"], rp=rp)
    return rp.fetch_token(token_endpoint, code=result["code"], state=sent["state"], code_verifier=sent["verifier"])


def test_a_key_rotated_at_the_jwks_uri_is_accepted_at_once(op_server, op_user, op_discovery):
    old = new_ec_key("P-256", kid="rp-key-old", use="sig")
    jwks_uri = JWKSServer(public_jwks(old))  # http://127.0.0.1: DEBUG and OUTBOUND_ALLOWED_HOSTS in tests/settings.py
    try:
        client = register_clients(op_server, auth_method="private_key_jwt", extra=["--jwks-uri", jwks_uri.url])[0]
        assert "access_token" in token_request(client, old, op_user, op_discovery)
        new = new_ec_key("P-256", kid="rp-key-new", use="sig")
        jwks_uri.jwks = public_jwks(new)  # the new kid only
        assert "access_token" in token_request(client, new, op_user, op_discovery)
        assert jwks_uri.fetches == 2
    finally:
        jwks_uri.close()
