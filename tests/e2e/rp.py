"""A relying party built on authlib: the code flow with PKCE S256 and ID token validation."""

import secrets
import time
import warnings

from authlib.integrations.requests_client import OAuth2Session

with warnings.catch_warnings():  # authlib.jose is deprecated in favour of joserfc, still fine here
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

from tests.e2e.browser import TIMEOUT, authorize, new_session


def oauth_session(client) -> OAuth2Session:
    """An authlib client session for a registered client (see conftest.register_clients)."""
    session = OAuth2Session(
        client.client_id,
        client.client_secret,
        scope=client.scope,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=client.auth_method,
        default_timeout=TIMEOUT,
    )
    return new_session(session)


def authorization_response(client, user, authorization_endpoint, *, rp=None, browser=None, consent="allow", **params):
    """Build the request with authlib, play the user with ``browser``; returns (redirect params, request data).

    ``user`` None: the OP must not show a login page (an OP session in ``browser``, or prompt=none).
    """
    rp = rp if rp is not None else oauth_session(client)
    verifier = secrets.token_urlsafe(48)
    nonce = params.pop("nonce", secrets.token_urlsafe(16))
    url, state = rp.create_authorization_url(authorization_endpoint, code_verifier=verifier, nonce=nonce, **params)
    browser = browser if browser is not None else new_session()
    username, password = (user.username, user.password) if user else (None, None)
    result = authorize(browser, url, client.redirect_uri, username, password, consent=consent)
    return result, {"verifier": verifier, "nonce": nonce, "state": state}


def get_code(client, user, authorization_endpoint):
    """A fresh authorization code for ``client`` and its PKCE code_verifier."""
    result, sent = authorization_response(client, user, authorization_endpoint)
    assert "code" in result, result
    return result["code"], sent["verifier"]


def redeem(token_endpoint, client, code, verifier, session=None, **kwargs):
    """POST the code to ``token_endpoint``; client_secret_basic unless ``kwargs`` (auth, headers) say otherwise."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    kwargs.setdefault("auth", (client.client_id, client.client_secret))
    return (session or new_session()).post(token_endpoint, data=data, **kwargs)


def code_flow(client, user, authorization_endpoint, token_endpoint, browser=None, **params):
    """The whole flow up to the token response; returns (token, request data)."""
    rp = oauth_session(client)
    result, sent = authorization_response(client, user, authorization_endpoint, rp=rp, browser=browser, **params)
    assert "code" in result, result
    assert result["state"] == sent["state"]
    token = rp.fetch_token(token_endpoint, code=result["code"], state=sent["state"], code_verifier=sent["verifier"])
    return token, {**sent, "response": result}


class InvalidIDToken(AssertionError):
    pass


def validate_id_token(id_token, jwks, *, issuer, client_id, nonce, access_token, max_age=None, leeway=5):
    """Signature against the OP's JWKS, then iss, aud, exp, iat, nonce, at_hash and auth_time (all required)."""
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
        "auth_time": {"essential": True},
        "at_hash": {"essential": True},  # checked against access_token by CodeIDToken
    }
    params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
    if max_age is not None:
        params["max_age"] = max_age
    try:
        claims = jwt.decode(
            id_token,
            JsonWebKey.import_key_set(jwks),
            claims_cls=CodeIDToken,
            claims_options=options,
            claims_params=params,
        )
        claims.validate(leeway=leeway)
    except Exception as err:  # authlib raises its own and joserfc's JoseError
        raise InvalidIDToken(f"{type(err).__name__}: {err}") from err
    now = time.time()
    assert claims["iat"] <= now + leeway
    assert claims["auth_time"] <= now + leeway
    if max_age is not None:
        assert claims["auth_time"] + max_age >= now - leeway
    return claims


def fetch_jwks(discovery) -> dict:
    response = new_session().get(discovery["jwks_uri"])
    assert response.status_code == 200
    return response.json()


BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def validate_logout_token(token, jwks, *, issuer, client_id, id_token_claims, leeway=5):
    """Back-Channel Logout 1.0 §2.6 as an RP does it: signature against the OP's JWKS, typ, iss, aud,
    iat, exp, jti, events, no nonce; and sid and sub those of the ID token it ends."""
    claims = jwt.decode(token, JsonWebKey.import_key_set(jwks))
    assert claims.header["typ"] == "logout+jwt"
    assert claims["iss"] == issuer
    assert claims["aud"] in ([client_id], client_id)
    now = time.time()
    assert claims["iat"] <= now + leeway < claims["exp"] + leeway
    assert claims["jti"]
    assert claims["events"] == {BACKCHANNEL_LOGOUT_EVENT: {}}
    assert "nonce" not in claims
    assert claims["sid"] == id_token_claims["sid"] and claims["sub"] == id_token_claims["sub"]
    return claims
