"""Rules for client metadata (RFC 7591 names), shared by the admin form, createclient and registration."""

import json
import logging
from urllib.parse import urlsplit

from cryptojwt.key_bundle import KeyBundle
from django.conf import settings

from oidc_provider import outbound
from oidc_provider.conf import oidc_settings
from oidc_provider.crypto import PRIVATE_MEMBERS
from oidc_provider.protocol import (
    ASSERTION_ALGS,
    AUTH_METHODS,
    CONFIDENTIAL_GRANT_TYPES,
    DEFAULT_ENCRYPTION_ENC,
    ENCRYPTED_RESPONSES,
    ENCRYPTION_ALGS,
    ENCRYPTION_ENCS,
    GRANT_TYPES,
    HMAC_ASSERTION_ALGS,
    IMPLICIT,
    RESPONSE_TYPES,
    TOKEN_EXCHANGE,
)
from oidc_provider.response_types import canonical, response_types_problem

logger = logging.getLogger(__name__)

ACCESS_TOKEN_FORMATS = ["opaque", "jwt"]

# RFC 8693 §3 token type identifiers, by the short names policies use.
TOKEN_TYPE_URNS = {
    "access_token": "urn:ietf:params:oauth:token-type:access_token",
    "refresh_token": "urn:ietf:params:oauth:token-type:refresh_token",
}
EXCHANGE_POLICY_KEYS = {"subject_token_types", "requested_token_types", "audiences", "scopes"}


# RFC 8252 §7.3 (and the "localhost" of §8.3): a native app's loopback redirect may be plain http.
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def url_problem(uri) -> str | None:
    """Why ``uri`` is not an absolute http(s) URL without fragment or userinfo, or None. Every URI a
    client registers passes this. What hides the real host from whoever reads it is refused: a
    ``user:pass@`` part, a backslash (browsers read ``\\`` as ``/``: ``https://evil.example\\rp.example``
    goes to evil.example), a percent-encoded host, and a host not in ASCII (``аpple.com`` with a
    Cyrillic ``а``): such a host is registered in its A-label form (``xn--…``, IDNA)."""
    if not isinstance(uri, str):
        return f"{uri!r} is not a string."
    if "\\" in uri:
        return f"{uri} must not contain a backslash."
    try:
        parts = urlsplit(uri)
        _ = parts.port  # raises for a port that is not one
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in uri):
        return f"{uri} is not an absolute http(s) URI."
    if "#" in uri:
        return f"{uri} must not contain a fragment."
    if "@" in parts.netloc:
        return f"{uri} must not contain a user name or password."
    return host_problem(uri, parts.hostname)


def host_problem(uri, host) -> str | None:
    """Why ``host`` (of ``uri``) is not written as it is read: ASCII, IDNA labels as valid A-labels."""
    if "%" in host:
        return f"{uri} must not percent-encode its host."
    if not host.isascii():
        try:
            return f"{uri}: write the host in its A-label form, {host.encode('idna').decode()}."
        except UnicodeError:
            return f"{uri}: the host is not a valid domain name."
    try:
        host.encode("idna").decode("idna")  # labels of 1 to 63 characters; an xn-- one must decode to what it encodes
    except UnicodeError:
        return f"{uri}: the host is not a valid domain name."
    return None


def secure_url_problem(uri, loopback=False) -> str | None:
    """``url_problem``, and outside DEBUG https; with ``loopback``, http on a loopback host too."""
    problem = url_problem(uri)
    if problem:
        return problem
    parts = urlsplit(uri)
    if parts.scheme == "https" or settings.DEBUG or (loopback and parts.hostname in LOOPBACK_HOSTS):
        return None
    if loopback:
        return f"{uri} must be https (http only on a loopback host: 127.0.0.1, [::1] or localhost, RFC 8252 §7.3)."
    return f"{uri} must be https."


def redirect_uri_problem(uri: str):
    """Why ``uri`` cannot be a (post-logout) redirect URI (RFC 6749 §3.1.2, RFC 8252 §7.3), or None."""
    return secure_url_problem(uri, loopback=True)


def scope_problem(scopes: list):
    """Why ``scopes`` is not an allowed-scope list for a client, or None."""
    known = list(oidc_settings.SCOPES_TO_CLAIMS)
    unknown = [s for s in scopes if s not in known]
    if unknown:
        return f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(known)}."
    if scopes and "openid" not in scopes:
        return "The scope must include openid."
    return None


def signing_alg_problem(alg: str):
    """Why ``alg`` cannot be a client's ``*_signed_response_alg``, or None (empty: the OP's default)."""
    if alg and alg not in oidc_settings.SIGNING_ALGS:
        return f"{alg} is not offered. Offered: {', '.join(oidc_settings.SIGNING_ALGS)}."
    return None


def jwks_problem(jwks):
    """Why ``jwks`` is not a JWK Set of public keys (RFC 7517 §5), or None."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        return 'Not a JWK Set: expected {"keys": [...]} with at least one key.'
    for key in jwks["keys"]:
        if not isinstance(key, dict) or not key.get("kty"):
            return "Every key needs a kty."
        if PRIVATE_MEMBERS & set(key):
            return "A key holds private material: register the public keys only."
        try:
            if not KeyBundle(keys=[dict(key)], ignore_invalid_keys=False).keys():
                return f"Unusable key (kty {key['kty']})."
        except Exception:  # cryptojwt raises many types for a malformed key
            return f"Unusable key (kty {key['kty']})."
    return None


def jwks_uri_problem(uri: str):
    """Why ``uri`` cannot be a client's jwks_uri, or None: https (http only with DEBUG)."""
    return secure_url_problem(uri)


def client_keys_problem(method: str, jwks, jwks_uri: str):
    """Why a client's key registration does not fit its auth method (RFC 7591 §2), or None."""
    if jwks and jwks_uri:
        return "Give jwks or jwks_uri, not both (RFC 7591 §2)."
    if method == "private_key_jwt" and not (jwks or jwks_uri):
        return "private_key_jwt needs the client's public keys: jwks or jwks_uri."
    return None


ENCRYPTION_CURVES = ("P-256", "P-384", "P-521")
MIN_RSA_ENCRYPTION_BITS = 2048
ENCRYPTION_KEY_OPS = {"encrypt", "wrapKey", "deriveKey"}


def encryption_key_type(alg: str) -> str:
    """The kty of the key a JWE ``alg`` (one of ``ENCRYPTION_ALGS``) encrypts to."""
    return "EC" if alg.startswith("ECDH-ES") else "RSA"


def encryption_keys(keys: list, alg: str) -> list:
    """The keys among ``keys`` (cryptojwt keys of a client's JWK Set) that ``alg`` may encrypt to, those
    marked ``use: enc`` first: the right type (an RSA key of 2048 bits or more, an EC key on a NIST
    curve), ``use`` enc or none, ``alg`` this one or none, ``key_ops`` (if any) allowing encryption."""
    usable = []
    for key in keys:
        if key.kty != encryption_key_type(alg) or key.use not in ("", "enc") or key.alg not in ("", alg):
            continue
        if key.key_ops and not ENCRYPTION_KEY_OPS & set(key.key_ops):
            continue
        if key.kty == "EC" and key.crv not in ENCRYPTION_CURVES:
            continue
        if key.kty == "RSA" and key.public_key().key_size < MIN_RSA_ENCRYPTION_BITS:
            continue
        usable.append(key)
    return sorted(usable, key=lambda k: k.use != "enc")


def encryption_problem(kind: str, alg: str, enc: str, jwks, jwks_uri: str) -> str | None:
    """Why a client's ``{kind}_encrypted_response_alg``/``_enc`` (``kind``: id_token or userinfo) cannot
    be honoured (OpenID Connect Registration 1.0 §2), or None. An empty ``alg``: not encrypted. Inline
    ``jwks`` must hold a key to encrypt to; a ``jwks_uri`` is not fetched here (the key is read when
    a response is encrypted)."""
    name = f"{kind}_encrypted_response"
    if not alg:
        return f"{name}_enc needs {name}_alg (OpenID Connect Registration 1.0 §2)." if enc else None
    if alg not in ENCRYPTION_ALGS:
        return f"{name}_alg: {alg} is not offered. Offered: {', '.join(ENCRYPTION_ALGS)}."
    if enc and enc not in ENCRYPTION_ENCS:
        return f"{name}_enc: {enc} is not offered. Offered: {', '.join(ENCRYPTION_ENCS)}."
    if not (jwks or jwks_uri):
        return f"{name}_alg needs the client's public keys: jwks or jwks_uri."
    if jwks_problem(jwks) is None and not encryption_keys(KeyBundle(keys=[dict(k) for k in jwks["keys"]]).keys(), alg):
        return (
            f"{name}_alg {alg}: jwks has no key to encrypt to "
            f"(an {encryption_key_type(alg)} key with use enc or no use)."
        )
    return None


def encryption_metadata(data: dict, jwks, jwks_uri: str) -> dict:
    """The encryption members of registration ``data`` (RFC 7591 names), checked, the enc defaulted to
    A128CBC-HS256 where only the alg is given (OpenID Connect Registration 1.0 §2)."""
    clean = {}
    for kind in ENCRYPTED_RESPONSES:
        alg_name, enc_name = f"{kind}_encrypted_response_alg", f"{kind}_encrypted_response_enc"
        alg = _string(data, alg_name) if alg_name in data else ""
        enc = _string(data, enc_name) if enc_name in data else ""
        problem = encryption_problem(kind, alg, enc, jwks, jwks_uri)
        if problem:
            raise MetadataError(INVALID, problem)
        if alg:
            clean[alg_name], clean[enc_name] = alg, enc or DEFAULT_ENCRYPTION_ENC
    return clean


def frontchannel_logout_uri_problem(uri: str, redirect_uris: list) -> str | None:
    """Front-Channel Logout 1.0 §2: scheme, host and port must be those of a redirect URI (whose
    rules it follows: it is loaded by the browser)."""
    problem = redirect_uri_problem(uri)
    if problem:
        return problem
    origin = urlsplit(uri)[:2]
    if not any(urlsplit(r)[:2] == origin for r in redirect_uris):
        return f"{uri} must have the scheme, host and port of a redirect URI."
    return None


SUBJECT_TYPES = ("public", "pairwise")
SECTOR_DOCUMENT_TIMEOUT = 5.0
SECTOR_DOCUMENT_MAX_BYTES = 64 * 1024


def _host(uri: str) -> str:
    return (urlsplit(uri).hostname or "").lower()


def subject_type_problem(subject_type: str, sector_identifier_uri: str, redirect_uris: list) -> str | None:
    """Why this subject type and sector identifier URI cannot go together (no fetch), or None."""
    if subject_type not in SUBJECT_TYPES:
        return "subject_type must be public or pairwise."
    if sector_identifier_uri:
        problem = secure_url_problem(sector_identifier_uri)
        if problem:
            return f"sector_identifier_uri: {problem}"
    if subject_type == "pairwise" and not sector_identifier_uri and len({_host(u) for u in redirect_uris}) > 1:
        return (
            "A pairwise client with redirect URIs on more than one host needs a sector_identifier_uri "
            "(OpenID Connect Core 1.0 §8.1)."
        )
    return None


def sector_document_problem(sector_identifier_uri: str, redirect_uris: list) -> str | None:
    """Fetch ``sector_identifier_uri`` (through ``outbound``: never inside a transaction) and say why it
    is not a JSON array listing every redirect URI (OpenID Connect Registration 1.0 §5), or None."""
    try:
        response = outbound.get(
            sector_identifier_uri,
            timeout=SECTOR_DOCUMENT_TIMEOUT,
            max_bytes=SECTOR_DOCUMENT_MAX_BYTES,
            accept="application/json",
        )
        document = json.loads(response.body)
    except outbound.OutboundError as err:
        logger.info("sector_identifier_uri not fetched: %s", err)
        return f"sector_identifier_uri could not be fetched: {err.public}"
    except ValueError:
        return "sector_identifier_uri must return a JSON array of redirect URIs."
    if not isinstance(document, list) or not all(isinstance(u, str) for u in document):
        return "sector_identifier_uri must return a JSON array of redirect URIs."
    missing = [u for u in redirect_uris if u not in document]
    if missing:
        return (
            f"sector_identifier_uri does not list the redirect URI {missing[0]} (OpenID Connect Registration 1.0 §5)."
        )
    return None


def sector_of(sector_identifier_uri: str, redirect_uris: list) -> str:
    """A pairwise client's sector (OpenID Connect Core 1.0 §8.1): the host of its sector identifier
    URI, else the host of its redirect URIs (one host, or it has a sector identifier URI)."""
    if sector_identifier_uri:
        return _host(sector_identifier_uri)
    hosts = sorted({_host(u) for u in redirect_uris})
    return hosts[0] if len(hosts) == 1 else ""


def request_object_signing_algs() -> list:
    """The algorithms request objects may be signed with (RFC 9101, docs/request-objects.md): the
    asymmetric ones, HMAC for clients that keep their secret, ``none`` only where
    REQUEST_OBJECT_ALLOW_UNSIGNED allows it."""
    algs = [*ASSERTION_ALGS, *HMAC_ASSERTION_ALGS]
    return [*algs, "none"] if oidc_settings.REQUEST_OBJECT_ALLOW_UNSIGNED else algs


def request_object_alg_problem(alg: str, method: str) -> str | None:
    """Why ``alg`` cannot be the ``request_object_signing_alg`` of a client authenticating with
    ``method``, or None (empty: any the OP accepts)."""
    if alg and alg not in request_object_signing_algs():
        return f"{alg} is not accepted. Accepted: {', '.join(request_object_signing_algs())}."
    if alg in HMAC_ASSERTION_ALGS and method != "client_secret_jwt":
        return f"{alg} is keyed with the client secret: only a client_secret_jwt client keeps one it can use."
    return None


MAX_REQUEST_URIS = 20


def request_uris_problem(uris) -> str | None:
    """Why ``uris`` cannot be a client's ``request_uris`` (OIDC Registration §2), or None: each is
    fetched by the OP (https outside DEBUG, loopback excepted as for redirect URIs) and may carry a
    fragment (the SHA-256 of its content, which the match ignores)."""
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        return "request_uris must be an array of strings."
    if len(uris) > MAX_REQUEST_URIS:
        return f"At most {MAX_REQUEST_URIS} request_uris."
    for uri in uris:
        if len(uri) > MAX_URL:
            return f"A request URI must be at most {MAX_URL} characters."
        problem = secure_url_problem(uri.split("#", 1)[0], loopback=True)
        if problem:
            return problem
    return None


class MetadataError(ValueError):
    """Registered metadata that cannot be accepted; ``error`` is an RFC 7591 §3.2.2 code."""

    def __init__(self, error, description):
        super().__init__(description)
        self.error = error
        self.description = description


INVALID = "invalid_client_metadata"

# Understood but not offered, and not to be quietly replaced (an unencrypted token instead of an
# encrypted one). Others (an unoffered userinfo_signed_response_alg, default_max_age…) are left out of the
# registered metadata, which RFC 7591 §3.2.1 allows: the client reads what it got in the response.
UNSUPPORTED = (
    "request_object_encryption_alg",
    "request_object_encryption_enc",
)
# Registered metadata kept in ``Client.metadata``: shown back to the client, never acted upon.
INFORMATIONAL = (
    "software_id",
    "software_version",
    "logo_uri",
    "client_uri",
    "policy_uri",
    "tos_uri",
    "contacts",
    "application_type",
)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _half_surrogate(value) -> bool:
    """Half a surrogate pair, which JSON can escape (``"\\ud800"``) and no UTF-8 encodes (RFC 8259
    §8.2): the response, a page or a database row would fail on it."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def _strings(data, name, error=INVALID):
    value = data[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MetadataError(error, f"{name} must be an array of strings.")
    return list(dict.fromkeys(value))


def _string(data, name):
    if not isinstance(data[name], str):
        raise MetadataError(INVALID, f"{name} must be a string.")
    return data[name]


def _boolean(data, name):
    if not isinstance(data[name], bool):
        raise MetadataError(INVALID, f"{name} must be true or false.")
    return data[name]


# What a client may register: the token endpoint's grants, and the implicit grant of the response
# types that return tokens from the authorization endpoint (response_types_problem refuses it unless
# the client uses such a type, enabled at this OP).
REGISTRABLE_GRANT_TYPES = [*GRANT_TYPES, IMPLICIT]

MAX_URL = 2000  # the length of the Client model's URL fields


def _url(data, name, check=url_problem):
    problem = check(data[name])
    if problem:
        raise MetadataError(INVALID, f"{name}: {problem}")
    if len(data[name]) > MAX_URL:
        raise MetadataError(INVALID, f"{name} must be at most {MAX_URL} characters.")
    return data[name]


def _uris(data, name, error):
    uris = _strings(data, name, error)
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise MetadataError(error, f"{name}: {problem}")
    return uris


def clean_registration(data) -> dict:
    """The metadata of a registration request (RFC 7591 §2, OIDC Registration §2, the logout specs)
    that this OP honours, validated. Unknown names are ignored (RFC 7591 §2); names it understands
    but cannot honour are refused. Raises ``MetadataError``."""
    if not isinstance(data, dict):
        raise MetadataError(INVALID, "The request body must be a JSON object.")
    if _has_nul(data):  # no database stores it (PostgreSQL raises)
        raise MetadataError(INVALID, "Client metadata must not contain NUL characters.")
    if _half_surrogate(data):
        raise MetadataError(INVALID, "Client metadata must be valid Unicode text.")
    for name in UNSUPPORTED:
        if name in data:
            raise MetadataError(INVALID, f"{name} is not supported by this provider.")
    if "redirect_uris" not in data:
        raise MetadataError("invalid_redirect_uri", "redirect_uris is required for the authorization code flow.")
    clean = {"redirect_uris": _uris(data, "redirect_uris", "invalid_redirect_uri")}
    if not clean["redirect_uris"]:
        raise MetadataError("invalid_redirect_uri", "redirect_uris must not be empty.")

    logout_uris = []
    if "post_logout_redirect_uris" in data:
        logout_uris = _uris(data, "post_logout_redirect_uris", INVALID)
    if "post_logout_redirect_uri" in data:  # the name of pre-final RP-Initiated Logout drafts
        logout_uris += _uris(
            {"post_logout_redirect_uri": [data["post_logout_redirect_uri"]]}, "post_logout_redirect_uri", INVALID
        )
    if logout_uris:
        clean["post_logout_redirect_uris"] = list(dict.fromkeys(logout_uris))

    response_types = _strings(data, "response_types") if "response_types" in data else list(RESPONSE_TYPES)
    grant_types = _strings(data, "grant_types") if "grant_types" in data else ["authorization_code"]
    problem = response_types_problem(response_types, grant_types)  # hybrid and implicit
    if problem:
        raise MetadataError(INVALID, f"response_types: {problem}")
    clean["response_types"] = [canonical(rt) for rt in response_types]
    unknown = [g for g in grant_types if g not in REGISTRABLE_GRANT_TYPES]
    if unknown:
        raise MetadataError(INVALID, f"grant_types: unsupported {', '.join(unknown)}.")
    if "authorization_code" not in grant_types and any("code" in rt.split() for rt in clean["response_types"]):
        raise MetadataError(INVALID, "grant_types must include authorization_code (RFC 7591 §2.1: response_type code).")
    clean["grant_types"] = grant_types

    method = data.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise MetadataError(INVALID, f"token_endpoint_auth_method: unsupported {method!r}.")
    clean["token_endpoint_auth_method"] = method
    problem = grant_types_problem(grant_types, clean["redirect_uris"], method == "none")
    if problem:
        raise MetadataError(INVALID, f"grant_types: {problem}")

    if "scope" in data:
        scopes = _string(data, "scope").split()
        problem = scope_problem(scopes)
        if problem:
            raise MetadataError(INVALID, f"scope: {problem}")
        clean["scope"] = " ".join(dict.fromkeys(scopes))

    if "jwks" in data and "jwks_uri" in data:
        raise MetadataError(INVALID, "jwks and jwks_uri must not both be present (RFC 7591 §2).")
    if "jwks" in data:
        problem = jwks_problem(data["jwks"])
        if problem:
            raise MetadataError(INVALID, f"jwks: {problem}")
        clean["jwks"] = data["jwks"]
    if "jwks_uri" in data:
        clean["jwks_uri"] = _url(data, "jwks_uri", jwks_uri_problem)
    problem = client_keys_problem(method, clean.get("jwks"), clean.get("jwks_uri", ""))
    if problem:
        raise MetadataError(INVALID, problem)

    if "id_token_signed_response_alg" in data:
        problem = signing_alg_problem(_string(data, "id_token_signed_response_alg"))
        if problem:
            raise MetadataError(INVALID, f"id_token_signed_response_alg: {problem}")
        clean["id_token_signed_response_alg"] = data["id_token_signed_response_alg"]
    # a signed userinfo response the OP cannot make is left out: the client gets plain JSON
    alg = data.get("userinfo_signed_response_alg")
    if isinstance(alg, str) and alg and not signing_alg_problem(alg):
        clean["userinfo_signed_response_alg"] = alg
    clean.update(encryption_metadata(data, clean.get("jwks"), clean.get("jwks_uri", "")))
    if data.get("application_type", "web") not in ("web", "native"):
        raise MetadataError(INVALID, "application_type must be web or native.")
    if "application_type" in data:
        clean["application_type"] = data["application_type"]
    subject_type = data.get("subject_type", "public")
    if subject_type not in SUBJECT_TYPES:
        raise MetadataError(INVALID, "subject_type must be public or pairwise.")
    clean["subject_type"] = subject_type
    if "sector_identifier_uri" in data:
        clean["sector_identifier_uri"] = _url(data, "sector_identifier_uri", secure_url_problem)
    problem = subject_type_problem(subject_type, clean.get("sector_identifier_uri", ""), clean["redirect_uris"])
    if problem:
        raise MetadataError(INVALID, problem)

    if "dpop_bound_access_tokens" in data:  # RFC 9449 §5.2
        clean["dpop_bound_access_tokens"] = _boolean(data, "dpop_bound_access_tokens")

    if "request_uris" in data:
        problem = request_uris_problem(data["request_uris"])
        if problem:
            raise MetadataError(INVALID, f"request_uris: {problem}")
        clean["request_uris"] = list(dict.fromkeys(data["request_uris"]))
    if "request_object_signing_alg" in data:
        problem = request_object_alg_problem(_string(data, "request_object_signing_alg"), method)
        if problem:
            raise MetadataError(INVALID, f"request_object_signing_alg: {problem}")
        clean["request_object_signing_alg"] = data["request_object_signing_alg"]

    if "backchannel_logout_uri" in data:
        clean["backchannel_logout_uri"] = _url(data, "backchannel_logout_uri", secure_url_problem)
    if "frontchannel_logout_uri" in data:
        problem = frontchannel_logout_uri_problem(data["frontchannel_logout_uri"], clean["redirect_uris"])
        if problem:
            raise MetadataError(INVALID, f"frontchannel_logout_uri: {problem}")
        clean["frontchannel_logout_uri"] = _url(data, "frontchannel_logout_uri")
    for name in ("backchannel_logout_session_required", "frontchannel_logout_session_required"):
        if name in data:
            clean[name] = _boolean(data, name)
    if "require_pushed_authorization_requests" in data:  # RFC 9126 §6
        clean["require_pushed_authorization_requests"] = _boolean(data, "require_pushed_authorization_requests")

    for name in ("client_name", "software_id", "software_version"):
        if name in data:
            clean[name] = _string(data, name)
    if len(clean.get("client_name", "")) > 255:
        raise MetadataError(INVALID, "client_name must be at most 255 characters.")
    for name in ("logo_uri", "client_uri", "policy_uri", "tos_uri"):
        if name in data:
            clean[name] = _url(data, name)
    if "contacts" in data:
        clean["contacts"] = _strings(data, "contacts")
    return clean


def grant_types_problem(grant_types: list, redirect_uris: list, is_public: bool):
    """Why this combination of grant types, redirect URIs and client type cannot work, or None."""
    if not grant_types:
        return "At least one grant type is required."
    unknown = [g for g in grant_types if g not in REGISTRABLE_GRANT_TYPES]
    if unknown:
        return f"Unknown grant type(s): {', '.join(unknown)}."
    confidential_only = [g for g in grant_types if g in CONFIDENTIAL_GRANT_TYPES]
    if is_public and confidential_only:
        return f"A public client cannot use {', '.join(confidential_only)}: it has no credentials."
    if "authorization_code" in grant_types and not redirect_uris:
        return "authorization_code needs at least one redirect URI."
    if "refresh_token" in grant_types and not {"authorization_code", TOKEN_EXCHANGE} & set(grant_types):
        return "refresh_token needs authorization_code or token exchange: refresh tokens come from those."
    return None


def token_exchange_problem(policy):
    """Why ``policy`` is not a token-exchange policy (see docs/token-exchange.md), or None."""
    if not isinstance(policy, dict):
        return "The policy must be a JSON object."
    unknown = set(policy) - EXCHANGE_POLICY_KEYS
    if unknown:
        return f"Unknown key(s): {', '.join(sorted(unknown))}. Known: {', '.join(sorted(EXCHANGE_POLICY_KEYS))}."
    for key in ("subject_token_types", "requested_token_types"):
        types = policy.get(key)
        if not isinstance(types, list) or not types or not set(types) <= set(TOKEN_TYPE_URNS):
            return f"{key} must be a non-empty list of {' and/or '.join(TOKEN_TYPE_URNS)}."
    for key in ("audiences", "scopes"):
        values = policy.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            return f"{key} must be a list of non-empty strings."
    unknown_scopes = set(policy.get("scopes", [])) - set(oidc_settings.SCOPES_TO_CLAIMS)
    if unknown_scopes:
        return f"Unknown scope(s) in scopes: {', '.join(sorted(unknown_scopes))}."
    return None
