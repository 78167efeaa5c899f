"""Request objects (RFC 9101, OpenID Connect Core 1.0 §6): ``request`` by value, ``request_uri`` by
reference, verified against the client's registration before any parameter of theirs is used.

For other modules (the PAR endpoint verifies a ``request`` pushed to it):

    verify_request_object(token: str, client_id: str) -> dict

        The claims of the request object ``token`` sent by the active client ``client_id``, once
        verified: size (REQUEST_OBJECT_MAX_BYTES), signature with the client's registered keys
        (``jwks``/``jwks_uri``, or its secret for HS* if it keeps one) and ``request_object_signing_alg``
        (unsigned only where REQUEST_OBJECT_ALLOW_UNSIGNED and the client registered ``none``), ``iss``
        the client, ``aud`` the issuer, ``exp`` present, not past and at most MAX_LIFETIME ahead, ``nbf``
        not future, a ``jti`` never seen before (recorded across workers). Anything else raises
        ``RequestObjectError`` whose ``error`` is ``invalid_request_object`` and ``description`` says why
        (English, for the client). A ``jwks_uri`` may be fetched: call it outside a database transaction.

The authorization endpoint (``idpy.authorization.Authorization.parse_request``) then builds the
request from the claims (``merge``): RFC 9101 §6.3, only the object's parameters are used, with
``client_id`` (required) and ``response_type`` from the query, which must match the object's; the
query's ``scope`` is used only when the object has none (OIDC Core §6.1 puts it in the query).
"""

import base64
import binascii
import json
import logging
from typing import NamedTuple

from cryptojwt.jwk.hmac import SYMKey
from cryptojwt.jws.jws import JWS
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider import outbound
from oidc_provider.conf import oidc_settings
from oidc_provider.metadata import request_object_signing_algs
from oidc_provider.protocol import HMAC_ASSERTION_ALGS
from oidc_provider.storage.assertions import CLOCK_SKEW, MAX_ASSERTION_LIFETIME, AssertionReplayStore
from oidc_provider.storage.client_keys import ClientKeys
from oidc_provider.storage.clients import client_row

logger = logging.getLogger(__name__)

INVALID_OBJECT = "invalid_request_object"
INVALID_URI = "invalid_request_uri"
# RFC 9126 §2.2: a request_uri the PAR endpoint issued; resolved there, never fetched.
# The longest an object may live (exp ahead of now), as FAPI 1.0 Advanced §5.2.2 caps it; its jti is
# remembered as long by the replay store (storage/assertions.py), which keeps entries this long.
MAX_LIFETIME = MAX_ASSERTION_LIFETIME
# The JWT members of the object that are no authorization request parameters.
JWT_CLAIMS = ("iss", "aud", "exp", "nbf", "iat", "jti", "sub")
# RFC 9101 §5.2.3 names the type; application/jwt is what many RPs serve a JWT file as.
REQUEST_URI_CONTENT_TYPES = ("application/oauth-authz-req+jwt", "application/jwt")
REQUEST_URI_TIMEOUT = 5.0
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}

_client_keys = ClientKeys()  # clients' keys as client authentication reads them (jwks_uri cached, refetched)
_replays = AssertionReplayStore()


class RequestObjectError(Exception):
    """``error`` (``invalid_request_object`` or ``invalid_request_uri``) and why, for the client."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


def _refuse(description: str):
    raise RequestObjectError(INVALID_OBJECT, description)


def _b64json(part: str):
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return None


def _decode(token) -> tuple[dict, dict]:
    """The header and claims of a compact JWS, unverified."""
    if not isinstance(token, str):
        _refuse("The request object is not a JWT")
    if len(token.encode()) > oidc_settings.REQUEST_OBJECT_MAX_BYTES:
        _refuse(f"The request object is larger than {oidc_settings.REQUEST_OBJECT_MAX_BYTES} bytes")
    parts = token.split(".")
    if len(parts) == 5:
        _refuse("Encrypted request objects are not supported")
    header, claims = (_b64json(parts[0]), _b64json(parts[1])) if len(parts) == 3 else (None, None)
    if not isinstance(header, dict) or not isinstance(claims, dict) or not isinstance(header.get("alg"), str):
        _refuse("The request object is not a signed JWT")
    if "crit" in header:  # defect 200: no extension is understood here, and cryptojwt ignores crit
        _refuse("The request object's crit header names extensions this server does not understand")
    return header, claims


def _check_alg(alg: str, client):
    """The client's ``request_object_signing_alg`` if it registered one, else any supported
    asymmetric one, or HS* for a client that keeps its secret; ``none`` as ``signing_algs`` says."""
    registered = client.request_object_signing_alg
    if alg == "none" and (registered != "none" or not oidc_settings.REQUEST_OBJECT_ALLOW_UNSIGNED):
        _refuse("Unsigned request objects are not accepted")
    if registered and alg != registered:
        _refuse(f"The request object must be signed with {registered}, the client's request_object_signing_alg")
    if alg in HMAC_ASSERTION_ALGS and not (client.keeps_secret and client.client_secret_encrypted):
        _refuse(f"{alg} needs a client that keeps its secret (client_secret_jwt)")
    if alg not in request_object_signing_algs():
        _refuse(f"The request object's algorithm {alg} is not accepted")


def _verified_claims(token: str, header: dict, claims: dict, client) -> dict:
    """``claims`` of an unsigned object, else the claims as the signature check decoded them."""
    alg = header["alg"]
    if alg == "none":
        if not token.endswith("."):
            _refuse("An unsigned request object has an empty signature")
        return claims
    if alg in HMAC_ASSERTION_ALGS:
        if client.client_secret_expires_at and client.client_secret_expires_at < utc_time_sans_frac():
            _refuse("The client's secret has expired")
        try:
            keys = [SYMKey(key=client.recover_secret().encode(), alg=alg)]
        except ValueError:  # KEY_ENCRYPTION_SECRET changed without the old one among its fallbacks
            _refuse("The request object's signature does not verify with the client's keys")
    else:
        info = {"jwks_uri": client.jwks_uri} if client.jwks_uri else {"jwks": client.jwks}
        kid = header.get("kid") if isinstance(header.get("kid"), str) else ""
        bundle = _client_keys.bundle(info, kid)  # an unknown kid refetches a jwks_uri (rate-limited)
        kty = KEY_TYPES.get(alg[:2], "")
        keys = [k for k in (bundle.get(kty) if bundle else []) if k.use in ("", "sig")]
    try:
        verified = JWS(alg=alg).verify_compact(token, keys=keys, sigalg=alg)
    except Exception:  # BadSignature, NoSuitableSigningKeys, or whatever cryptojwt makes of a hostile token
        _refuse("The request object's signature does not verify with the client's keys")
    if not isinstance(verified, dict):
        _refuse("The request object is not a signed JWT")
    return verified


def _check_text(claims: dict):
    """JSON may escape half a surrogate pair (``"\\ud800"``), which no UTF-8 encodes (RFC 8259 §8.2):
    such a member would fail when the OP writes it to a URL, a page or a database row."""
    try:
        json.dumps(claims, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        _refuse("The request object holds text that is not valid Unicode")


def _check_claims(claims: dict, client_id: str):
    _check_text(claims)
    now = utc_time_sans_frac()
    if claims.get("iss") != client_id:
        _refuse("The request object's iss must be the client_id")
    aud, issuer = claims.get("aud"), oidc_settings.ISSUER
    if not (aud == issuer or (isinstance(aud, list) and issuer in aud)):
        _refuse("The request object's aud must be the issuer")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int) or isinstance(exp, bool):
        _refuse("The request object needs an exp")
    if exp < now - CLOCK_SKEW:
        _refuse("The request object has expired")
    if exp > now + MAX_LIFETIME + CLOCK_SKEW:
        _refuse(f"The request object's exp is more than {MAX_LIFETIME} s ahead")
    if nbf is not None and (not isinstance(nbf, int) or isinstance(nbf, bool) or nbf > now + CLOCK_SKEW):
        _refuse("The request object is not valid yet (nbf)")
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not jti):
        _refuse("The request object's jti must be a string")


def _spend_jti(client_id: str, jti):
    """A ``jti`` is single use, across workers (the client-assertion replay rows, in a namespace of
    their own: defect 143, stock shares the assertions' ``iss:jti``). An object without one may be used
    again while it lives (RFC 9101 allows a ``request_uri`` to be reused)."""
    if jti is None:
        return
    key = f"request_object:{client_id}:{jti}"
    try:
        if key in _replays:
            _refuse("The request object has been used before (jti)")
        _replays[key] = utc_time_sans_frac()
    except ValueError:  # another worker recorded it first
        _refuse("The request object has been used before (jti)")


def verify_request_object(token: str, client_id: str) -> dict:
    """The verified claims of ``token``, a request object of ``client_id`` (module docstring)."""
    header, claims = _decode(token)
    client = client_row(client_id)
    if client is None:
        _refuse("Unknown client")
    _check_alg(header["alg"], client)
    claims = _verified_claims(token, header, claims, client)
    _check_claims(claims, client_id)
    _spend_jti(client_id, claims.get("jti"))
    return claims


def _without_fragment(uri: str) -> str:
    return uri.split("#", 1)[0]


class Fetched(NamedTuple):
    """What a ``request_uri`` gave: the request object, or the error (``RequestObjectError``)."""

    uri: str
    token: str = ""
    error: RequestObjectError | None = None


def fetch_request_uri(client_id: str, uri: str) -> Fetched:
    """GET ``uri`` if it is one of the ``request_uris`` the client registered (compared without
    fragments, OIDC Registration §2), through ``outbound`` (https, public addresses, no redirects,
    REQUEST_URI_TIMEOUT, REQUEST_OBJECT_MAX_BYTES); never inside a transaction. Nothing is sent for
    an unregistered URI."""
    client = client_row(client_id)
    registered = [_without_fragment(u) for u in (client.request_uris or [])] if client else []
    if not isinstance(uri, str) or _without_fragment(uri) not in registered:
        return Fetched(uri, error=RequestObjectError(INVALID_URI, "request_uri is not registered for this client"))
    try:
        response = outbound.get(
            _without_fragment(uri),
            timeout=REQUEST_URI_TIMEOUT,
            max_bytes=oidc_settings.REQUEST_OBJECT_MAX_BYTES,
            accept=", ".join(REQUEST_URI_CONTENT_TYPES),
        )
    except outbound.OutboundError as err:
        logger.info("request_uri of client %s not fetched: %s", client_id, err)
        return Fetched(uri, error=RequestObjectError(INVALID_URI, f"request_uri could not be fetched: {err.public}"))
    content_type = response.content_type.split(";", 1)[0].strip().lower()
    if content_type not in REQUEST_URI_CONTENT_TYPES:
        error = f"request_uri must answer {REQUEST_URI_CONTENT_TYPES[0]}"
        return Fetched(uri, error=RequestObjectError(INVALID_URI, error))
    try:
        return Fetched(uri, token=response.body.decode("ascii").strip())
    except UnicodeDecodeError:
        return Fetched(uri, error=RequestObjectError(INVALID_URI, "request_uri did not answer a JWT"))


def _parameter(name, value):
    """A request object member as the authorization request parameter it stands for (the form the
    query would carry it in): strings as they are, ``claims`` as JSON, ``max_age`` as a number."""
    if name == "claims" and isinstance(value, dict):
        return json.dumps(value)
    if name == "max_age" and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if not isinstance(value, str):
        _refuse(f"The request object's {name} has the wrong type")
    if "\x00" in value:
        _refuse(f"The request object's {name} holds a NUL character")
    return value


def merge(query: dict, claims: dict) -> dict:
    """The authorization request made of a verified object's ``claims`` and the ``query`` it came
    with (module docstring)."""
    if "request" in claims or "request_uri" in claims:
        _refuse("A request object must not hold request or request_uri (RFC 9101 §4)")
    params = {name: _parameter(name, value) for name, value in claims.items() if name not in JWT_CLAIMS}
    if params.get("client_id", query["client_id"]) != query["client_id"]:
        _refuse("The request object's client_id does not match the request's")
    params["client_id"] = query["client_id"]
    object_type, query_type = params.get("response_type"), query.get("response_type")
    if object_type is not None and query_type is not None and set(object_type.split()) != set(query_type.split()):
        _refuse("The request object's response_type does not match the request's")
    if object_type is None and query_type is not None:
        params["response_type"] = query_type
    if "scope" not in params and "scope" in query:
        params["scope"] = query["scope"]
    return params
