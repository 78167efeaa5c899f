"""Client authentication: secrets against their hashes, and ``client_secret_jwt`` and
``private_key_jwt`` assertions (RFC 7523, OIDC Core §9)."""

import base64
import binascii
import time
from urllib.parse import unquote_plus

from cryptojwt.jwk.hmac import SYMKey
from cryptojwt.jws.jws import JWS
from cryptojwt.jws.jws import factory as jws_factory
from idpyoidc.server import client_authn
from idpyoidc.server.constant import JWT_BEARER
from idpyoidc.server.exception import ClientAuthenticationError
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.protocol import ASSERTION_ALGS, HMAC_ASSERTION_ALGS, PASSWORD_METHODS
from oidc_provider.storage.assertions import CLOCK_SKEW, MAX_ASSERTION_LIFETIME
from oidc_provider.storage.clients import client_row


def basic_credentials(authorization: str) -> tuple[str, str]:
    """Defect 24: RFC 6749 §2.3.1 form-urlencodes id and secret before Basic encoding."""
    if not authorization.startswith("Basic "):
        raise ClientAuthenticationError("Wrong type of authorization token")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise ClientAuthenticationError("Malformed Basic credentials") from err
    if ":" not in decoded:
        raise ClientAuthenticationError("Malformed Basic credentials")
    client_id, secret = decoded.split(":", 1)
    return unquote_plus(client_id), unquote_plus(secret)


def _check(client_id, secret):
    """Defect 100: stock compares plain secrets with ``==``; ours are hashed, compared in constant time.
    A secret with a ``client_secret_expires_at`` in the past no longer works (RFC 7591 §3.2.1), nor
    does one left on the row of a client that registered no secret method (registration used to issue
    one to ``private_key_jwt`` clients), nor a ``client_secret_jwt`` client's, which only keys its
    assertions' HMAC."""
    client = client_row(client_id)
    if client is None or client.token_endpoint_auth_method not in PASSWORD_METHODS or not client.check_secret(secret):
        raise ClientAuthenticationError("Invalid client credentials")
    if client.client_secret_expires_at and client.client_secret_expires_at < time.time():
        raise ClientAuthenticationError("Expired client secret")
    return {"client_id": client_id}


class ClientSecretBasic(client_authn.ClientSecretBasic):
    def _verify(self, request=None, authorization_token=None, endpoint=None, **kwargs):
        return _check(*basic_credentials(authorization_token))


class ClientSecretPost(client_authn.ClientSecretPost):
    def _verify(self, request=None, authorization_token=None, endpoint=None, **kwargs):
        return _check(request["client_id"], request["client_secret"])


# Defect 203: what marks a JWT as a request object (RFC 9101 §4, §10.8). The OP needs the redirect_uri
# of every request it serves, so each request object it accepts carries one; no client assertion does.
REQUEST_OBJECT_TYPES = ("oauth-authz-req+jwt", "application/oauth-authz-req+jwt")
REQUEST_OBJECT_CLAIMS = ("redirect_uri", "response_type")


def is_request_object(header: dict, claims: dict) -> bool:
    typ = header.get("typ")
    typed = isinstance(typ, str) and typ.lower() in REQUEST_OBJECT_TYPES
    return typed or any(name in claims for name in REQUEST_OBJECT_CLAIMS)


def check_assertion(request, issuer, algs=ASSERTION_ALGS) -> tuple[dict, dict]:
    """Defect 51: stock checks neither ``sub`` against ``iss`` nor that ``exp`` and ``jti`` are
    present (RFC 7523 §3, OIDC Core §9), ignores ``client_assertion_type`` and a ``client_id``
    parameter naming another client, and accepts assertions of any lifetime and algorithm. Defect
    69: stock accepts an ``aud`` array that names this OP among any other parties; RFC 7523bis wants
    the OP as its sole audience (a string, or an array of that one value). These claims are read
    before the signature check that idpyoidc then does; nothing is accepted unless both pass."""
    if request.get("client_assertion_type") != JWT_BEARER:
        raise ClientAuthenticationError("client_assertion_type must be " + JWT_BEARER)
    jws = jws_factory(request["client_assertion"])
    if jws is None:
        raise ClientAuthenticationError("client_assertion is not a signed JWT")
    try:
        header, claims = jws.jwt.headers, jws.jwt.payload()
    except Exception as err:  # malformed JSON in either part
        raise ClientAuthenticationError("malformed client_assertion") from err
    if not isinstance(claims, dict):
        raise ClientAuthenticationError("malformed client_assertion")
    if header.get("alg") not in algs:
        raise ClientAuthenticationError("client_assertion algorithm not accepted")
    if is_request_object(header, claims):
        # Defect 203 (RFC 8725 §2.8, §3.11): a request object crosses the browser (and a request_uri
        # is there for anyone to fetch); with iss, sub, aud and jti it would pass every check below
        raise ClientAuthenticationError("a request object is not a client_assertion")
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss or claims.get("sub") != iss or iss == issuer:
        raise ClientAuthenticationError("client_assertion iss and sub must both be the client_id")
    if request.get("client_id", iss) != iss:
        raise ClientAuthenticationError("client_id does not match the client_assertion")
    exp, jti = claims.get("exp"), claims.get("jti")
    if not isinstance(exp, int) or exp > utc_time_sans_frac() + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        raise ClientAuthenticationError(f"client_assertion needs an exp at most {MAX_ASSERTION_LIFETIME} s ahead")
    if not isinstance(jti, str) or not jti:
        raise ClientAuthenticationError("client_assertion needs a jti")
    aud = claims.get("aud")
    if not isinstance(aud, str) and not (isinstance(aud, list) and len(aud) == 1 and isinstance(aud[0], str)):
        raise ClientAuthenticationError("client_assertion aud must be a single value")
    return header, claims


class IssuerAudience:
    """Defect 28: stock wants the assertion's ``aud`` to be the URL of the endpoint it is sent to.
    RFC 7523 §3 lets it be any value identifying the authorization server: the issuer identifier
    (RFC 7523bis) or, as OIDC Core §9 and established practice have it, the token endpoint's URL,
    at every endpoint alike. The endpoint, with those two as the audiences it accepts."""

    def __init__(self, endpoint, issuer):
        self._endpoint, self._issuer = endpoint, issuer

    def allowed_target_uris(self):
        audiences = {self._issuer, self._endpoint.upstream_get("endpoint", "token").full_path}
        if getattr(self._endpoint, "accepts_own_url_as_audience", False):  # RFC 9126 §2: the PAR endpoint
            audiences.add(self._endpoint.full_path)
        return audiences

    def __getattr__(self, name):
        return getattr(self._endpoint, name)


class PrivateKeyJWT(client_authn.PrivateKeyJWT):
    """The client's keys come from its row (idpy/keyjar.py); replays are refused across
    workers (storage/assertions.py)."""

    def _verify(self, request=None, authorization_token=None, endpoint=None, **kwargs):
        issuer = self.upstream_get("context").issuer
        check_assertion(request, issuer)
        if endpoint is not None:
            endpoint = IssuerAudience(endpoint, issuer)
        return super()._verify(request=request, authorization_token=authorization_token, endpoint=endpoint, **kwargs)


def _expired_secret(client) -> bool:
    return bool(client.client_secret_expires_at) and client.client_secret_expires_at < time.time()


class ClientSecretJWT(client_authn.ClientSecretJWT):
    """``client_secret_jwt``: an assertion signed with HMAC keyed with the client's secret, kept
    encrypted on its row (models.Client.recover_secret). Defect 120: stock looks the HMAC key up in
    the key jar, where nothing puts a client's secret (so it fails, or trusts whatever ``oct`` key is
    there under the client's id), and compares that key with a plain ``client_secret`` only when one
    is there. Defect 121: stock refuses an asymmetric assertion with ``AttributeError``, not a client
    authentication error, checks no ``exp`` presence, ``sub`` or lifetime, and remembers a ``jti``
    only when there is one. The claims rules are ``private_key_jwt``'s (``check_assertion``); the
    audience is the issuer or the token endpoint; ``jti`` replays are refused across workers."""

    def _verify(self, request=None, authorization_token=None, endpoint=None, **kwargs):
        context = self.upstream_get("context")
        issuer = context.issuer
        header, claims = check_assertion(request, issuer, algs=HMAC_ASSERTION_ALGS)
        client_id = claims["iss"]
        client = client_row(client_id)
        if client is None or not client.keeps_secret or not client.client_secret_encrypted:
            raise ClientAuthenticationError("Invalid client credentials")
        if _expired_secret(client):
            raise ClientAuthenticationError("Expired client secret")
        key = SYMKey(key=client.recover_secret().encode(), alg=header["alg"])
        try:
            JWS(alg=header["alg"]).verify_compact(request["client_assertion"], keys=[key], sigalg=header["alg"])
        except Exception as err:  # BadSignature, or anything cryptojwt makes of a hostile token
            raise ClientAuthenticationError("Could not verify client_assertion") from err
        now = utc_time_sans_frac()
        if claims["exp"] < now - CLOCK_SKEW:
            raise ClientAuthenticationError("client_assertion has expired")
        nbf = claims.get("nbf")
        if nbf is not None and (not isinstance(nbf, int) or nbf > now + CLOCK_SKEW):
            raise ClientAuthenticationError("client_assertion is not valid yet")
        audiences = {issuer}
        if endpoint is not None:
            audiences = IssuerAudience(endpoint, issuer).allowed_target_uris()
        aud = claims["aud"] if isinstance(claims["aud"], str) else claims["aud"][0]
        if aud not in audiences:
            raise ClientAuthenticationError("client_assertion is not for this server")
        jti_key = f"{client_id}:{claims['jti']}"
        try:
            if jti_key in context.jti_db:
                raise ClientAuthenticationError("client_assertion replayed")
            context.jti_db[jti_key] = now
        except ValueError as err:  # another worker recorded it first (storage/assertions.py)
            raise ClientAuthenticationError("client_assertion replayed") from err
        return {"client_id": client_id, "jwt": claims}
