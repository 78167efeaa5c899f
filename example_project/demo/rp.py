"""The demo relying party, built on idpyoidc's own RP client (``RPHandler``).

The RP talks to the OP at ``OIDC_PROVIDER["ISSUER"]`` over real HTTP (discovery,
JWKS, token, userinfo), exactly as a third-party site would.

idpyoidc keeps per-flow state (the ``state`` value, nonce, PKCE code_verifier,
the authorization request, ...) in memory, in ``client.get_context().cstate``.
Web requests may be served by different threads or processes, so a fresh
``RPHandler`` is built for every request and the flow state is carried with the
browser: :func:`begin` dumps ``cstate`` after building the authorization request,
:func:`finalize` loads it back before handling the callback. The views keep it in an
encrypted cookie of its own (:func:`seal`), not in the Django session: the demo RP shares
its site, and so its session, with the OP, and the OP ends that session when the user
switches account or signs out.
"""

import base64
import hashlib
import json
import zlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptojwt.key_jar import KeyJar
from django.conf import settings
from idpyoidc.client.rp_handler import RPHandler

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret-change-me"
DEMO_SCOPE = "openid profile email address phone offline_access"

# Key of the flows in progress in the store the views pass in: {state: cstate dump}
SESSION_KEY = "demo_rp_flows"
# a browser cookie holds about 4 kB; each flow takes about a quarter of it once sealed
MAX_PENDING_FLOWS = 3
MAX_SEALED = 3800  # bytes of a cookie value: browsers keep 4096 per cookie, name and attributes included
FLOW_LIFETIME = 1800  # seconds: as long as the OP keeps a pending request (PENDING_REQUEST_LIFETIME)


def issuer() -> str:
    return settings.OIDC_PROVIDER["ISSUER"]


def site_origin() -> str:
    """scheme://host[:port] of the issuer: the demo RP lives on the same site."""
    parts = urlsplit(issuer())
    return f"{parts.scheme}://{parts.netloc}"


def redirect_uri() -> str:
    return f"{site_origin()}/rp/callback"


def client_config() -> dict:
    """Static registration of the demo client (created by ``manage.py setup_demo``)."""
    return {
        "client_type": "oidc",
        "issuer": issuer(),
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "redirect_uris": [redirect_uri()],
        "preference": {
            "response_types": ["code"],
            "scopes_supported": DEMO_SCOPE.split(),
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        },
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }


def logout_url(id_token_hint=None) -> str:
    """The OP's end_session endpoint, asking to come back to the demo's home page afterwards. With the
    ID token of the sign-in as ``id_token_hint`` the OP signs the user out without asking (RP-Initiated
    Logout 1.0 §2); without it, the OP asks first."""
    query = {"client_id": DEMO_CLIENT_ID, "post_logout_redirect_uri": f"{site_origin()}/"}
    if id_token_hint:
        query["id_token_hint"] = id_token_hint
    return f"{issuer()}/end_session?{urlencode(query)}"


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"demo-rp-flows:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(store) -> str:
    """The flows of ``store``, encrypted and authenticated for the browser to carry (the PKCE verifier
    and nonce are in them: the browser may hold them, never read or change them). The oldest flows
    are dropped until the value fits in a cookie."""
    flows = dict(store.get(SESSION_KEY) or {})
    while True:
        sealed = _fernet().encrypt(zlib.compress(json.dumps(flows).encode())).decode()
        if len(sealed) <= MAX_SEALED or not flows:
            return sealed
        flows.pop(next(iter(flows)))


def unseal(value) -> dict:
    """A store with the flows a cookie from :func:`seal` holds; empty when it is absent, altered or
    older than FLOW_LIFETIME."""
    try:
        return {SESSION_KEY: json.loads(zlib.decompress(_fernet().decrypt(value or "", ttl=FLOW_LIFETIME)))}
    except (InvalidToken, zlib.error, ValueError):
        return {}


def make_handler() -> RPHandler:
    # An empty KeyJar: the demo RP has no keys of its own (client_secret_basic), and
    # passing one stops RPHandler from generating key files in the working directory.
    return RPHandler(
        base_url=site_origin(),
        client_configs={issuer(): client_config()},
        keyjar=KeyJar(),
        httpc_params={"verify": True, "timeout": 10},
    )


def without_prompt(url: str) -> str:
    """``url`` without its ``prompt`` parameter.

    idpyoidc's RP adds ``prompt=consent`` to every request with ``offline_access`` that names no
    prompt (OIDC Core §11: "unless other conditions ... are in place"). This OP remembers consent,
    ``offline_access`` included, which is such a condition: without the parameter, a second sign-in
    skips the consent page and still gets a refresh token."""
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "prompt"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def begin(session, extra_args=None) -> str:
    """Start an authorization code flow (with PKCE); return the URL to redirect to."""
    extra_args = extra_args or {}
    handler = make_handler()
    client = handler.client_setup(issuer())  # provider discovery
    url = client.init_authorization(req_args=extra_args or None)
    if "prompt" not in extra_args:
        url = without_prompt(url)
    state = _state_from_url(url)

    flows = dict(session.get(SESSION_KEY) or {})
    flows[state] = client.get_context().cstate.dump()
    # keep only the most recent flows (abandoned logins would pile up otherwise)
    while len(flows) > MAX_PENDING_FLOWS:
        flows.pop(next(iter(flows)))
    session[SESSION_KEY] = flows
    return url


class UnknownState(Exception):
    pass


def finalize(session, response: dict) -> dict:
    """Handle the authorization response (code -> token -> ID token -> userinfo).

    Returns idpyoidc's ``finalize`` result: a dict with ``userinfo``, ``id_token``
    (verified), ``token``, ``state``, ``issuer``, and here ``id_token_jwt`` (the ID token as
    received, for :func:`logout_url`); or with ``error`` if the OP sent one.
    """
    state = response.get("state")
    flows = dict(session.get(SESSION_KEY) or {})
    saved = flows.pop(state, None) if state else None
    session[SESSION_KEY] = flows  # a state value is good for one use only
    if saved is None:
        raise UnknownState(state)

    handler = make_handler()
    client = handler.client_setup(issuer())  # provider discovery again (fresh handler)
    client.get_context().cstate.load(saved)
    result = client.finalize(response)
    if "error" not in result:
        result["id_token_jwt"] = client.get_context().cstate.get_set(state, claim=["id_token"]).get("id_token")
    return result


def _state_from_url(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))["state"]
