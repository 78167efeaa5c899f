"""DPoP (RFC 9449): proofs checked, tokens bound to the proof's key.

idpyoidc 5.0.0's ``oauth2/add_on/dpop.py`` is not used (defects 180, 181, 182, 183, 184, 185, 186, 187,
188, 189; ``docs/dpop.md``): it never checks ``typ``, the algorithm, private key parts, ``iat`` or ``jti``,
compares ``htu`` with whatever URL it is given, never checks a token request's proof, hashes ``ath`` as
hex, and binds the grant, not the token. Here:

- ``verify_proof`` checks one proof against the request it came with (a pure function of its inputs);
  ``check_proof`` adds the ``jti`` replay record shared by every worker (``storage.assertions``);
- the view of an endpoint runs the request inside ``presented(proof, scheme)``; the helpers read it
  with ``current()``: the token endpoint's helpers bind what they mint (``binding_for``,
  ``minting_bound``), userinfo checks that a bound token came with a proof of its key;
- a bound token is a ``BoundAccessToken`` or ``BoundRefreshToken``: idpyoidc's class with the key's
  thumbprint (``jkt``), kept with the token wherever it is stored (its own row or its grant's).
"""

import base64
import contextvars
import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptojwt.jwk.jwk import key_from_jwk_dict
from cryptojwt.jws.jws import JWS
from idpyoidc.server.session.token import AccessToken, RefreshToken

from oidc_provider.conf import oidc_settings
from oidc_provider.storage.assertions import first_use

TYP = "dpop+jwt"
# RFC 9449 §4.2: a proof is a few hundred bytes (an RSA-4096 key's about 2 000); anything larger is refused
# unread.
MAX_PROOF_LENGTH = 4096
MAX_JTI_LENGTH = 256
# The members of a private (or symmetric) JWK (RFC 7518 §6): a proof's key must be public (RFC 9449 §4.3).
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
ASYMMETRIC_KEY_TYPES = {"RSA", "EC", "OKP"}
# An RSA key of 2048 to 4096 bits with a public exponent of a few bytes (base64url lengths): a bigger
# modulus or exponent would make each verification costly for nothing, a smaller modulus is weak.
RSA_MODULUS_CHARS = range(342, 684)
RSA_EXPONENT_CHARS = range(1, 7)
DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidProof(Exception):
    """The proof is refused: ``invalid_dpop_proof`` (RFC 9449 §5, §7.1) with this description."""


@dataclass
class Proof:
    jkt: str  # the key's JWK SHA-256 thumbprint (RFC 7638), base64url
    jti: str
    iat: int


@dataclass
class Presentation:
    """What the request in progress presented: its proof (or None), and for a resource request the
    scheme of its ``Authorization`` header. ``bound`` is set when the token endpoint bound a token."""

    proof: Proof | None = None
    scheme: str = ""
    bound: list = field(default_factory=list)
    challenge: bool = False  # a bound token was refused: the resource answers with a DPoP challenge


_current = contextvars.ContextVar("oidc_dpop", default=None)


@contextmanager
def presented(proof: Proof | None, scheme: str = ""):
    token = _current.set(Presentation(proof, scheme))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current() -> Presentation:
    return _current.get() or Presentation()


def enabled() -> bool:
    return bool(oidc_settings.DPOP_ENABLED)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token_hash(token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url of the SHA-256 of the token's ASCII (defect 184: stock uses hex)."""
    return b64url(hashlib.sha256(token.encode("ascii", "replace")).digest())


def _b64decode_json(segment: str):
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError as err:
        raise InvalidProof("The DPoP proof is not a JWT") from err


def normalized_url(url: str) -> tuple:
    """RFC 9449 §4.3: ``htu`` is compared without query and fragment, after RFC 3986 §6.2.2/§6.2.3
    normalization (case of scheme and host, default port, empty path)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port is None or port == DEFAULT_PORTS.get(scheme):
        port = None
    return scheme, host, port, parts.path or "/"


def endpoint_url(path: str) -> str:
    """The URL a proof must name for an endpoint: from the configured ISSUER, never from the request's
    ``Host`` header, which the client chooses (defect 182)."""
    return f"{oidc_settings.ISSUER.rstrip('/')}/{path}"


def header_values(raw: str | None) -> list:
    """The DPoP header's values. Servers join repeated headers with commas, which a JWS never contains."""
    if raw is None:
        return []
    return [v.strip() for v in raw.split(",")]


def verify_proof(values: list, method: str, url: str, now: int, access_token: str | None = None) -> Proof:
    """The proof in ``values`` (the DPoP header's values) for a request of ``method`` to ``url``, or
    ``InvalidProof`` (RFC 9449 §4.3). ``access_token``: a resource request's, which ``ath`` must hash.
    Defect 180: stock checks neither ``typ`` nor the algorithm (an HS256 proof whose "key" is in its own
    header passes) and takes a private JWK."""
    if not values:
        raise InvalidProof("The request has no DPoP proof")
    if len(values) != 1:
        raise InvalidProof("Exactly one DPoP header is allowed")
    jws = values[0]
    if len(jws) > MAX_PROOF_LENGTH:
        raise InvalidProof("The DPoP proof is too large")
    segments = jws.split(".")
    if len(segments) != 3 or not all(segments):
        raise InvalidProof("The DPoP proof is not a signed JWT")
    header = _b64decode_json(segments[0])
    if not isinstance(header, dict):
        raise InvalidProof("The DPoP proof is not a JWT")
    if header.get("typ") != TYP:
        raise InvalidProof("The DPoP proof's typ must be dpop+jwt")
    alg = header.get("alg")
    if alg not in oidc_settings.DPOP_SIGNING_ALGS:
        raise InvalidProof("The DPoP proof's alg is not supported")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or jwk.get("kty") not in ASYMMETRIC_KEY_TYPES:
        raise InvalidProof("The DPoP proof's jwk must be a public key")
    if PRIVATE_MEMBERS & set(jwk):
        raise InvalidProof("The DPoP proof's jwk must not contain a private key")
    if jwk["kty"] == "RSA" and not (
        len(str(jwk.get("n", ""))) in RSA_MODULUS_CHARS and len(str(jwk.get("e", ""))) in RSA_EXPONENT_CHARS
    ):
        raise InvalidProof("The DPoP proof's RSA key must have 2048 to 4096 bits")
    try:
        key = key_from_jwk_dict(jwk)
        claims = JWS(alg=alg).verify_compact(jws, keys=[key], sigalg=alg)
    except Exception as err:  # cryptojwt raises many types for a bad key or signature
        raise InvalidProof("The DPoP proof's signature does not verify with its jwk") from err
    if not isinstance(claims, dict):
        raise InvalidProof("The DPoP proof is not a JWT")
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise InvalidProof("The DPoP proof needs a jti")
    if claims.get("htm") != method:
        raise InvalidProof("The DPoP proof's htm does not match the request's method")
    htu = claims.get("htu")
    if not isinstance(htu, str) or normalized_url(htu) != normalized_url(url):
        raise InvalidProof("The DPoP proof's htu does not match the request's URL")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):  # a NumericDate (RFC 7519 §2)
        raise InvalidProof("The DPoP proof needs an iat")
    if iat < now - oidc_settings.DPOP_PROOF_LIFETIME:
        raise InvalidProof("The DPoP proof is too old")
    if iat > now + oidc_settings.DPOP_CLOCK_SKEW:
        raise InvalidProof("The DPoP proof's iat is in the future")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise InvalidProof("The DPoP proof's ath does not match the access token")
    # cryptojwt's thumbprint is RFC 7638's base64url already
    return Proof(jkt=key.thumbprint("SHA-256").decode(), jti=jti, iat=int(iat))


def check_proof(raw: str | None, method: str, path: str, access_token: str | None = None) -> Proof:
    """``verify_proof`` of the request's DPoP header, then its ``jti`` recorded: a proof is used once,
    on every worker (RFC 9449 §11.1). Kept as long as the proof could be accepted. Defect 181: stock
    checks neither ``iat`` nor ``jti``: a captured proof works for ever."""
    proof = verify_proof(header_values(raw), method, endpoint_url(path), int(time.time()), access_token)
    lifetime = oidc_settings.DPOP_PROOF_LIFETIME + 2 * oidc_settings.DPOP_CLOCK_SKEW
    if not first_use(f"dpop:{proof.jkt}:{proof.jti}", lifetime):
        raise InvalidProof("The DPoP proof was already used")
    return proof


def drop_claimed_key(request):
    """Defect 187: with DPoP advertised, the stock refresh-token helper binds the grant to a
    ``dpop_jkt`` *form parameter* of the token request (a key the client merely names, which then
    goes into every later JWT's ``cnf``), and the token-exchange helper answers ``token_type: DPoP``
    for it. The key comes from the checked proof alone."""
    if "dpop_jkt" in request:
        del request["dpop_jkt"]
    return request


# -- bound tokens --------------------------------------------------------------------------------------


class BoundAccessToken(AccessToken):
    """An access token bound to a key (RFC 9449 §6): its ``cnf.jkt``."""

    parameter = {**AccessToken.parameter, "jkt": ""}

    def __init__(self, *args, jkt: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.jkt = jkt


class BoundRefreshToken(RefreshToken):
    """A public client's refresh token bound to a key (RFC 9449 §5)."""

    parameter = {**RefreshToken.parameter, "jkt": ""}

    def __init__(self, *args, jkt: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.jkt = jkt


BOUND_CLASSES = {"access_token": BoundAccessToken, "refresh_token": BoundRefreshToken}


def jkt_of(token) -> str:
    """The thumbprint a token is bound to ('' for a bearer token)."""
    return getattr(token, "jkt", "") or ""


def proven(jkt: str) -> bool:
    """Does the request in progress carry a proof of the key ``jkt``? (A bearer token's '' needs none.)"""
    proof = current().proof
    return not jkt or (proof is not None and proof.jkt == jkt)


def binding_for(token_class: str, client: dict) -> str:
    """The thumbprint the token of ``token_class`` minted now for ``client`` is bound to, or ''.
    Access tokens are bound whenever a proof came; refresh tokens only for public clients (RFC 9449
    §5: a confidential client's are bound to its credentials already)."""
    proof = current().proof
    if proof is None or token_class not in BOUND_CLASSES:
        return ""
    if token_class == "refresh_token" and client.get("token_endpoint_auth_method") != "none":
        return ""
    return proof.jkt


@contextmanager
def minting_bound(grant, token_class: str, jkt: str):
    """Lend ``grant`` the bound class for ``token_class`` and, for a JWT access token's ``cnf`` claim
    (RFC 9449 §6.1), the key in its ``extra`` (which idpyoidc's ``payload_arguments`` reads), for one
    mint. Stock keeps ``dpop_jkt`` in the grant for good, so every later token of the grant had that
    key's ``cnf`` (defect 186). The grant object belongs to this request."""
    saved_map, saved_extra = grant.token_map, grant.extra
    grant.token_map = {**saved_map, token_class: BOUND_CLASSES[token_class]}
    if token_class == "access_token":
        grant.extra = {**saved_extra, "dpop_jkt": jkt}
    try:
        yield
    finally:
        grant.token_map, grant.extra = saved_map, saved_extra
