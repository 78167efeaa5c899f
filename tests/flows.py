"""Helpers that walk the code flow through Django's test client (the in-process protocol tests)."""

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

from cryptojwt.jws.jws import factory as jws_factory
from django.core.management import call_command

REDIRECT_URI = "https://rp.example/cb"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def make_client(client_id="rp1", secret="s3cret", *extra):
    args = ["--client-id", client_id, "--redirect-uri", REDIRECT_URI, "--scope", "openid profile email"]
    if secret:
        args += ["--client-secret", secret]
    call_command("createclient", *args, *extra, stdout=open("/dev/null", "w"))


def basic(client_id="rp1", secret="s3cret"):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def query(response):
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def auth_params(challenge, **overrides):
    params = {
        "response_type": "code",
        "client_id": "rp1",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize(browser, challenge, consent="allow", **overrides):
    """GET /authorize as a logged-in browser, answer the consent page; return the final response."""
    response = browser.get("/oidc/authorize", auth_params(challenge, **overrides))
    if response.status_code == 302 and response["Location"].startswith("/oidc/consent"):
        key = query(response)["k"]
        assert browser.get(response["Location"]).status_code == 200
        response = browser.post("/oidc/consent", {"k": key, "decision": consent})
    return response


def get_code(browser, **overrides):
    verifier, challenge = pkce_pair()
    response = authorize(browser, challenge, **overrides)
    assert response.status_code == 302, response.content
    params = query(response)
    assert "code" in params, params
    return params["code"], verifier


def redeem(http, code, verifier, client_id="rp1", secret="s3cret", **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return http.post("/oidc/token", data, HTTP_AUTHORIZATION=basic(client_id, secret))


def jwt_claims(token):
    """The claims of a JWT, unverified (signature checks live in the end-to-end suite)."""
    return json.loads(jws_factory(token).jwt.part[1])


def get_tokens(browser, http, client_id="rp1", secret="s3cret", **overrides):
    """The whole code flow for the logged-in ``browser``: the token response as a dict."""
    code, verifier = get_code(browser, client_id=client_id, **overrides)
    response = redeem(http, code, verifier, client_id=client_id, secret=secret)
    assert response.status_code == 200, response.content
    return response.json()


def verified_claims(http, token):
    """The claims of a JWT whose signature verifies against the OP's published JWKS; and its header."""
    from cryptojwt.key_bundle import KeyBundle

    keys = KeyBundle(keys=http.get("/oidc/jwks").json()["keys"]).get()
    jws = jws_factory(token)
    return jws.verify_compact(token, keys), jws.jwt.headers


OFFLINE_SCOPE = "openid profile email offline_access"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT_TYPE = "urn:ietf:params:oauth:token-type:access_token"
RT_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"


def make_offline_client(client_id="rp1", secret="s3cret", *extra):
    """A confidential client that may hold refresh tokens and exchange tokens."""
    make_client(
        client_id,
        secret,
        "--scope",
        OFFLINE_SCOPE,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--grant-type",
        EXCHANGE,
        *extra,
    )


def offline_tokens(browser, http, client_id="rp1", secret="s3cret", **overrides):
    """The code flow with offline_access (and prompt=consent, OIDC Core §11): the token response."""
    overrides = {"scope": OFFLINE_SCOPE, "prompt": "consent", "client_id": client_id, **overrides}
    code, verifier = get_code(browser, **overrides)
    response = redeem(http, code, verifier, client_id, secret)
    assert response.status_code == 200, response.content
    return response.json()


def public_offline_tokens(browser, http, client_id="spa"):
    """A public client, made here, through the code flow with offline_access: the token response."""
    make_client(client_id, None, "--public", "--scope", OFFLINE_SCOPE)
    code, verifier = get_code(browser, client_id=client_id, scope=OFFLINE_SCOPE, prompt="consent")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    return http.post("/oidc/token", data).json()


def token_request(http, data, client_id="rp1", secret="s3cret"):
    """POST /oidc/token with client_secret_basic (``secret`` None: no client authentication)."""
    headers = {"HTTP_AUTHORIZATION": basic(client_id, secret)} if secret else {}
    return http.post("/oidc/token", data, **headers)


def refresh(http, refresh_token, client_id="rp1", secret="s3cret", **extra):
    return token_request(
        http, {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}, client_id, secret
    )


def exchange(http, subject_token, client_id="rp1", secret="s3cret", **extra):
    data = {"grant_type": EXCHANGE, "subject_token": subject_token, "subject_token_type": AT_TYPE, **extra}
    return token_request(http, {k: v for k, v in data.items() if v is not None}, client_id, secret)


def introspect(http, token, client_id="rp1", secret="s3cret", **extra):
    return http.post("/oidc/introspect", {"token": token, **extra}, HTTP_AUTHORIZATION=basic(client_id, secret))


def revoke(http, token, client_id="rp1", secret="s3cret", **extra):
    return http.post("/oidc/revoke", {"token": token, **extra}, HTTP_AUTHORIZATION=basic(client_id, secret))


def userinfo(http, access_token):
    return http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + access_token)


def error_of(response, status=400):
    """The OAuth error code of a spec-shaped error response (RFC 6749 §5.2)."""
    assert response.status_code == status, response.content
    assert response["Cache-Control"] == "no-store" and response["Content-Type"] == "application/json"
    return response.json()["error"]


# -- a grant's codes and tokens as stored (the grant's row, and rows of their own) --------------------


def _the_grant(grant_key):
    from oidc_provider.models import SessionNode

    grants = SessionNode.objects.filter(kind=SessionNode.GRANT)
    return grants.get(key=grant_key) if grant_key else grants.get()


def stored_tokens(grant_key=None, token_class=None):
    """The codes and tokens of a grant (by default the only one) as stored, each a dict as in a grant
    row's ``issued_token`` (``value`` and ``based_on`` digests): those its row holds (ID tokens, those
    minted with the grant), then those in rows of their own (``IssuedToken``), oldest first."""
    from oidc_provider.models import IssuedToken

    grant = _the_grant(grant_key)
    found = [token for item in grant.data.get("issued_token", []) for token in item.values()]
    for row in IssuedToken.objects.filter(grant_key=grant.key).order_by("pk"):
        token = {**row.data, "value": row.digest, "used": row.used, "revoked": row.revoked}
        found.append({**token, "based_on": row.based_on} if row.based_on else token)
    return [t for t in found if token_class is None or t["token_class"] == token_class]


def change_tokens(change, grant_key=None):
    """Call ``change(token)`` on each of a grant's stored tokens (``stored_tokens``' dicts) and write
    what it changed back where the token is stored: a test editing the database by hand."""
    import datetime as dt

    from oidc_provider.models import IssuedToken

    grant = _the_grant(grant_key)
    for item in grant.data.get("issued_token", []):
        for token in item.values():
            change(token)
    grant.save()
    for row in IssuedToken.objects.filter(grant_key=grant.key):
        token = {**row.data, "value": row.digest, "based_on": row.based_on, "used": row.used, "revoked": row.revoked}
        change(token)
        row.digest, row.based_on = token.pop("value"), token.pop("based_on") or ""
        row.used, row.revoked = token.pop("used"), token.pop("revoked")
        expires_at = token.get("expires_at")
        row.expires_at = dt.datetime.fromtimestamp(expires_at, tz=dt.UTC) if expires_at else None
        row.data = token
        row.save()
