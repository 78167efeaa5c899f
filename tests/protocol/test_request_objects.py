"""Request objects (RFC 9101, OIDC Core §6) at the authorization endpoint, built with joserfc (not
this OP's code): every refusal with its exact error, and what the object decides."""

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from oidc_provider.idpy.request_object import RequestObjectError, verify_request_object
from oidc_provider.models import Client
from tests import flows

ISSUER = "http://testserver/oidc"
RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})  # same kid, another key: a forger's


def public_jwks(*keys):
    return {"keys": [k.as_dict(private=False) for k in keys]}


@pytest.fixture
def ro_client(rp):
    Client.objects.filter(client_id="rp1").update(jwks=public_jwks(RSA, EC), skip_consent=True)
    return "rp1"


def claims(**overrides):
    now = int(time.time())
    values = {
        "iss": "rp1",
        "aud": ISSUER,
        "exp": now + 300,
        "iat": now,
        "client_id": "rp1",
        "response_type": "code",
        "redirect_uri": flows.REDIRECT_URI,
        "scope": "openid profile",
        "state": "obj-state",
        "nonce": "obj-nonce",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def signed(key=RSA, alg="RS256", **overrides):
    return jwt.encode({"alg": alg, "kid": key.kid}, claims(**overrides), key)


def unsigned(**overrides):
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims(**overrides))}."


def query(**extra):
    """The query beside the object: client_id and the OIDC Core §6.1 trio, with another state."""
    params = {"client_id": "rp1", "response_type": "code", "scope": "openid", "redirect_uri": flows.REDIRECT_URI}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def refused(response, error, description, state="st-q"):
    assert response.status_code == 302, response.content
    assert flows.query(response) == {
        "error": error,
        "error_description": description,
        "state": state,
        "iss": ISSUER,
    }


def test_a_signed_object_decides_the_request(ro_client, browser):
    response = browser.get("/oidc/authorize", query(request=signed(), state="st-q", nonce="query-nonce"))
    assert response.status_code == 302 and response["Location"].startswith(flows.REDIRECT_URI + "?")
    params = flows.query(response)
    assert "code" in params and params["state"] == "obj-state"  # the object's state, not the query's


def test_es256_object(ro_client, browser):
    response = browser.get("/oidc/authorize", query(request=signed(EC, "ES256")))
    assert "code" in flows.query(response)


def test_query_parameters_outside_the_object_are_ignored(ro_client, browser):
    """RFC 9101 §6.3: only the object's parameters are used (a query prompt=none is not)."""
    response = browser.get("/oidc/authorize", query(request=signed(state=None), prompt="none", state="st-q"))
    params = flows.query(response)
    assert "code" in params and "state" not in params


def test_the_objects_claims_request_max_age_and_nonce_reach_the_id_token(ro_client, browser, http):
    verifier, challenge = flows.pkce_pair()
    claims_request = {"id_token": {"email": {"essential": True}}}
    token = signed(claims=claims_request, max_age=3600, scope="openid", code_challenge=challenge)
    code = flows.query(browser.get("/oidc/authorize", query(request=token, nonce="query-nonce")))["code"]
    response = flows.redeem(http, code, verifier)
    assert response.status_code == 200, response.content
    id_token = flows.jwt_claims(response.json()["id_token"])
    assert id_token["email"] == "alice@example.com" and id_token["nonce"] == "obj-nonce"


def test_scope_from_the_query_when_the_object_has_none(ro_client, browser):
    response = browser.get("/oidc/authorize", query(request=signed(scope=None), scope="openid email"))
    assert "code" in flows.query(response)


@pytest.mark.parametrize(
    "token, description",
    [
        (lambda: signed(exp=int(time.time()) - 120), "The request object has expired"),
        (lambda: signed(exp=None), "The request object needs an exp"),
        (lambda: signed(exp=int(time.time()) + 7200), "The request object's exp is more than 3600 s ahead"),
        (lambda: signed(nbf=int(time.time()) + 600), "The request object is not valid yet (nbf)"),
        (lambda: signed(aud="https://other.example"), "The request object's aud must be the issuer"),
        (lambda: signed(iss="rp2"), "The request object's iss must be the client_id"),
        (lambda: signed(OTHER), "The request object's signature does not verify with the client's keys"),
        (lambda: signed()[:-4] + "AAAA", "The request object's signature does not verify with the client's keys"),
        (lambda: unsigned(), "Unsigned request objects are not accepted"),
        (lambda: signed(client_id="rp2"), "The request object's client_id does not match the request's"),
        (lambda: signed(response_type="token"), "The request object's response_type does not match the request's"),
        (
            lambda: signed(request_uri="https://rp.example/x"),
            "A request object must not hold request or request_uri (RFC 9101 §4)",
        ),
        (lambda: signed(state={"a": 1}), "The request object's state has the wrong type"),
        (lambda: signed(state="a\x00b"), "The request object's state holds a NUL character"),
        (lambda: signed(jti=5), "The request object's jti must be a string"),
        (lambda: "abc.def", "The request object is not a signed JWT"),
        (lambda: "a.b.c.d.e", "Encrypted request objects are not supported"),
        (lambda: signed(padding="x" * 20000), "The request object is larger than 16384 bytes"),
        (
            lambda: jwt.encode({"alg": "HS256"}, claims(), OctKey.import_key("s3cret" * 6)),
            "HS256 needs a client that keeps its secret (client_secret_jwt)",
        ),
    ],
)
def test_refused_objects(ro_client, browser, token, description):
    response = browser.get("/oidc/authorize", query(request=token(), state="st-q"))
    refused(response, "invalid_request_object", description)


def signed_with_header(header, key=RSA):
    """An RS256 object with a header joserfc will not write (it refuses an unknown ``crit``), signed
    with ``cryptography`` directly."""

    def part(value):
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(claims()).encode())}"
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{part(signature)}"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "RS256", "kid": "rsa-1", "crit": ["exp-policy"], "exp-policy": "strict"},
        {"alg": "RS256", "kid": "rsa-1", "crit": ["b64"], "b64": False},  # RFC 7797: another signing input
        {"alg": "RS256", "kid": "rsa-1", "crit": []},
    ],
)
def test_a_crit_header_is_refused(ro_client, browser, header):
    """Defect 200, RFC 7515 §4.1.11: a JWS whose ``crit`` lists an extension the recipient does not
    understand is invalid; cryptojwt verifies the signature and ignores ``crit``."""
    response = browser.get("/oidc/authorize", query(request=signed_with_header(header), state="st-q"))
    refused(
        response,
        "invalid_request_object",
        "The request object's crit header names extensions this server does not understand",
    )


@pytest.mark.parametrize("name", ["__verified_it_token_hint", "verified_id_token_hint"])
def test_an_objects_member_named_as_idpyoidcs_verified_values_is_ignored(ro_client, browser, name):
    """Defect 202, as a request object's member: ignored, not a 500."""
    response = browser.get("/oidc/authorize", query(request=signed(**{name: "x"})))
    assert "code" in flows.query(response)


def with_member(member: str) -> str:
    """An RS256 object whose JSON ends with ``member`` as written (a JSON escape kept as it is)."""
    payload = json.dumps(claims())[:-1] + ", " + member + "}"
    return jws.serialize_compact({"alg": "RS256", "kid": "rsa-1"}, payload.encode(), RSA)


HALF_SURROGATES = ['"state": "a\\ud800b"', '"ui_locales": "\\udfff"', '"claims": {"id_token": {"\\ud800": null}}']


@pytest.mark.parametrize("member", HALF_SURROGATES)
def test_half_a_surrogate_pair_is_refused(ro_client, browser, member):
    """JSON can escape a lone surrogate, which no UTF-8 encodes: in ``state`` it raised
    UnicodeEncodeError (a 500) when the OP wrote the redirect."""
    refused(
        browser.get("/oidc/authorize", query(request=with_member(member), state="st-q")),
        "invalid_request_object",
        "The request object holds text that is not valid Unicode",
    )


def test_an_object_signed_by_another_client_does_not_speak_for_it(ro_client, browser):
    """Defect 143: the object is verified with the keys of the query's client, whatever its iss says."""
    flows.make_client("rp2", "s3cret2")
    Client.objects.filter(client_id="rp2").update(jwks=public_jwks(OTHER))
    token = signed(OTHER, iss="rp2", client_id="rp1")
    refused(
        browser.get("/oidc/authorize", query(request=token, state="st-q")),
        "invalid_request_object",
        "The request object's signature does not verify with the client's keys",
    )
    refused(
        browser.get("/oidc/authorize", query(client_id="rp2", request=token, state="st-q")),
        "invalid_request_object",
        "The request object's client_id does not match the request's",
    )


def test_the_registered_alg_only(ro_client, browser):
    Client.objects.filter(client_id="rp1").update(request_object_signing_alg="ES256")
    refused(
        browser.get("/oidc/authorize", query(request=signed(), state="st-q")),
        "invalid_request_object",
        "The request object must be signed with ES256, the client's request_object_signing_alg",
    )
    assert "code" in flows.query(browser.get("/oidc/authorize", query(request=signed(EC, "ES256"))))


def test_unsigned_needs_both_the_setting_and_the_registration(ro_client, browser, settings):
    Client.objects.filter(client_id="rp1").update(request_object_signing_alg="none")
    refused(
        browser.get("/oidc/authorize", query(request=unsigned(), state="st-q")),
        "invalid_request_object",
        "Unsigned request objects are not accepted",
    )
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REQUEST_OBJECT_ALLOW_UNSIGNED": True}
    assert "code" in flows.query(browser.get("/oidc/authorize", query(request=unsigned())))
    Client.objects.filter(client_id="rp1").update(request_object_signing_alg="")
    refused(
        browser.get("/oidc/authorize", query(request=unsigned(), state="st-q")),
        "invalid_request_object",
        "Unsigned request objects are not accepted",
    )


def test_a_jti_is_single_use(ro_client, browser):
    token = signed(jti="once")
    assert "code" in flows.query(browser.get("/oidc/authorize", query(request=token)))
    refused(
        browser.get("/oidc/authorize", query(request=token, state="st-q")),
        "invalid_request_object",
        "The request object has been used before (jti)",
    )


def test_an_object_without_jti_may_be_used_again(ro_client, browser):
    token = signed()
    for _ in range(2):
        assert "code" in flows.query(browser.get("/oidc/authorize", query(request=token)))


def test_a_redirect_uri_only_in_the_object_must_be_registered(ro_client, browser):
    response = browser.get(
        "/oidc/authorize", query(request=signed(redirect_uri="https://evil.example/cb"), redirect_uri=None)
    )
    assert response.status_code == 400 and not response.has_header("Location")


def test_a_redirect_uri_only_in_the_object(ro_client, browser):
    response = browser.get("/oidc/authorize", query(request=signed(), redirect_uri=None))
    assert response["Location"].startswith(flows.REDIRECT_URI + "?") and "code" in flows.query(response)


def test_an_object_redirect_uri_overrides_the_query(ro_client, browser):
    """The query's registered redirect_uri does not vouch for the object's."""
    response = browser.get(
        "/oidc/authorize", query(request=signed(redirect_uri="https://evil.example/cb"), state="st-q")
    )
    assert not response["Location"].startswith("https://evil.example")
    refused(response, "invalid_request", "redirect_uri is not registered for this client")


def test_an_unknown_client_gets_the_error_page(ro_client, browser):
    response = browser.get("/oidc/authorize", query(request=signed(), client_id="nobody"))
    assert response.status_code == 400 and not response.has_header("Location")


def test_both_request_and_request_uri(ro_client, browser):
    response = browser.get(
        "/oidc/authorize", query(request=signed(), request_uri="https://rp.example/r.jwt", state="st-q")
    )
    refused(response, "invalid_request", "Send request or request_uri, not both")


def test_switched_off(ro_client, browser, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REQUEST_OBJECTS": False}
    refused(
        browser.get("/oidc/authorize", query(request=signed(), state="st-q")),
        "request_not_supported",
        "The request parameter is not supported",
    )
    discovery = browser.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["request_parameter_supported"] is False
    assert discovery["request_uri_parameter_supported"] is False
    assert "request_object_signing_alg_values_supported" not in discovery


def test_discovery(rp, browser):
    discovery = browser.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["request_parameter_supported"] is True
    assert discovery["request_uri_parameter_supported"] is True
    assert discovery["require_request_uri_registration"] is True
    assert "none" not in discovery["request_object_signing_alg_values_supported"]
    assert {"RS256", "ES256", "PS256", "HS256"} <= set(discovery["request_object_signing_alg_values_supported"])


def test_par_request_uris_are_never_fetched_while_par_is_off(ro_client, browser, settings):
    """A PAR request_uri is the PAR endpoint's (tests/protocol/test_pushed_authorization.py); with PAR
    off it is refused, never fetched as a request object."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "PAR_ENABLED": False}
    response = browser.get("/oidc/authorize", query(request_uri="urn:ietf:params:oauth:request_uri:abc", state="st-q"))
    refused(response, "request_uri_not_supported", "The request_uri parameter is not supported")


# --- HS256 for a client_secret_jwt client -----------------------------------------------------------


@pytest.fixture
def hmac_client(db):
    flows.make_client("hs1", "h" * 64, "--token-endpoint-auth-method", "client_secret_jwt", "--skip-consent")
    return "hs1"


def test_hs256_with_the_secret_of_a_client_secret_jwt_client(hmac_client, browser):
    token = jwt.encode({"alg": "HS256"}, claims(iss="hs1", client_id="hs1"), OctKey.import_key("h" * 64))
    assert "code" in flows.query(browser.get("/oidc/authorize", query(client_id="hs1", request=token)))
    wrong = jwt.encode({"alg": "HS256"}, claims(iss="hs1", client_id="hs1"), OctKey.import_key("x" * 64))
    refused(
        browser.get("/oidc/authorize", query(client_id="hs1", request=wrong, state="st-q")),
        "invalid_request_object",
        "The request object's signature does not verify with the client's keys",
    )


# --- the function the PAR endpoint calls ------------------------------------------------------------


def test_verify_request_object_for_other_endpoints(ro_client):
    assert verify_request_object(signed(), "rp1")["state"] == "obj-state"
    with pytest.raises(RequestObjectError) as err:
        verify_request_object(signed(aud="x"), "rp1")
    assert (err.value.error, err.value.description) == (
        "invalid_request_object",
        "The request object's aud must be the issuer",
    )


# --- request_uri ------------------------------------------------------------------------------------


@pytest.fixture
def request_server(settings):
    from tests.jwks_server import JWKSServer

    settings.DEBUG = True  # http on 127.0.0.1; the end-to-end tests fetch over https
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "OUTBOUND_ALLOWED_HOSTS": ["127.0.0.1"]}
    server = JWKSServer()
    server.content_type = "application/oauth-authz-req+jwt"
    yield server
    server.close()


@pytest.fixture
def uri_client(ro_client, request_server):
    Client.objects.filter(client_id="rp1").update(request_uris=[request_server.url])
    return request_server


def test_request_uri(uri_client, browser):
    uri_client.body = signed().encode()
    response = browser.get("/oidc/authorize", query(request_uri=uri_client.url + "#frag"))
    assert flows.query(response)["state"] == "obj-state" and uri_client.fetches == 1


@pytest.mark.parametrize(
    "setup, description",
    [
        (lambda s: setattr(s, "status", 500), "request_uri could not be fetched: HTTP 500"),
        (lambda s: setattr(s, "content_type", "text/html"), "request_uri must answer application/oauth-authz-req+jwt"),
        (
            lambda s: setattr(s, "body", b"x" * 20000),
            "request_uri could not be fetched: 127.0.0.1: response larger than 16384 bytes",
        ),
        (lambda s: setattr(s, "body", "é".encode()), "request_uri did not answer a JWT"),
    ],
)
def test_request_uri_failures(uri_client, browser, setup, description):
    uri_client.body = signed().encode()
    setup(uri_client)
    refused(
        browser.get("/oidc/authorize", query(request_uri=uri_client.url, state="st-q")),
        "invalid_request_uri",
        description,
    )


def test_the_request_uri_is_fetched_before_the_unit_of_work(uri_client, browser, monkeypatch):
    """No fetch inside the request's unit of work (where a transaction may open) nor a transaction."""
    from oidc_provider import outbound
    from oidc_provider.storage import unit_of_work

    seen, get = [], outbound.get

    def recording_get(*args, **kwargs):
        seen.append((unit_of_work.active(), outbound.in_transaction()))
        return get(*args, **kwargs)

    monkeypatch.setattr(outbound, "get", recording_get)
    uri_client.body = signed().encode()
    assert "code" in flows.query(browser.get("/oidc/authorize", query(request_uri=uri_client.url)))
    assert seen == [(None, False)]


def test_an_unregistered_request_uri_is_never_fetched(uri_client, browser):
    uri_client.body = signed().encode()
    response = browser.get("/oidc/authorize", query(request_uri=uri_client.url + "/other", state="st-q"))
    refused(response, "invalid_request_uri", "request_uri is not registered for this client")
    assert uri_client.fetches == 0


def test_a_fetched_object_is_checked_as_one_by_value(uri_client, browser):
    uri_client.body = signed(aud="https://other.example").encode()
    refused(
        browser.get("/oidc/authorize", query(request_uri=uri_client.url, state="st-q")),
        "invalid_request_object",
        "The request object's aud must be the issuer",
    )


# --- client metadata --------------------------------------------------------------------------------


def register(http, **metadata):
    return http.post(
        "/oidc/register",
        json.dumps({"redirect_uris": [flows.REDIRECT_URI], **metadata}),
        content_type="application/json",
    )


@pytest.fixture
def open_registration(settings, db):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "open"}


def test_registration_keeps_request_uris_and_alg(open_registration, http):
    response = register(
        http,
        request_uris=["https://rp.example/r.jwt#abc", "https://rp.example/q?x=1"],
        request_object_signing_alg="ES256",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["request_uris"] == ["https://rp.example/r.jwt#abc", "https://rp.example/q?x=1"]
    assert body["request_object_signing_alg"] == "ES256"
    client = Client.objects.get(client_id=body["client_id"])
    assert client.request_uris == body["request_uris"] and client.request_object_signing_alg == "ES256"
    read = http.get(
        body["registration_client_uri"], HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}"
    ).json()
    assert read["request_uris"] == body["request_uris"] and read["request_object_signing_alg"] == "ES256"


@pytest.mark.parametrize(
    "metadata, description",
    [
        (
            {"request_uris": ["http://rp.example/r.jwt"]},
            "request_uris: http://rp.example/r.jwt must be https (http only on a loopback host: 127.0.0.1, "
            "[::1] or localhost, RFC 8252 §7.3).",
        ),
        ({"request_uris": "https://rp.example/r.jwt"}, "request_uris: request_uris must be an array of strings."),
        (
            {"request_object_signing_alg": "HS256"},
            "request_object_signing_alg: HS256 is keyed with the client secret: only a client_secret_jwt "
            "client keeps one it can use.",
        ),
        (
            {"request_object_signing_alg": "none"},
            "request_object_signing_alg: none is not accepted. Accepted: RS256, RS384, RS512, PS256, PS384, "
            "PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512.",
        ),
    ],
)
def test_registration_refuses(open_registration, http, metadata, description):
    response = register(http, **metadata)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description": description}


# --- a request object is never a client assertion (defect 203) ---------------------------------------

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def assertion_clients(db):
    """A private_key_jwt and a client_secret_jwt client that may use the client_credentials grant."""
    grants = ["--grant-type", "client_credentials", "--grant-type", "authorization_code", "--skip-consent"]
    jwks = json.dumps(public_jwks(RSA))
    flows.make_client("pk1", None, "--token-endpoint-auth-method", "private_key_jwt", "--jwks", jwks, *grants)
    flows.make_client("hs1", "h" * 64, "--token-endpoint-auth-method", "client_secret_jwt", *grants)


def as_client_assertion(http, token):
    data = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": token}
    return http.post("/oidc/token", data)


@pytest.mark.parametrize("typ", [None, "oauth-authz-req+jwt"])
@pytest.mark.parametrize(
    "client_id, alg, key",
    [("pk1", "RS256", lambda: RSA), ("hs1", "HS256", lambda: OctKey.import_key("h" * 64))],
)
def test_a_request_object_is_not_the_clients_assertion(assertion_clients, browser, http, client_id, alg, key, typ):
    """Defect 203 (RFC 8725 §2.8, RFC 9101 §10.8): a request object passes through the browser (its
    URL, history, Referer; a request_uri is there for anyone to fetch). One with ``sub`` and ``jti``
    had every claim of a client assertion, and got whoever replayed it at the token endpoint the
    client's tokens."""
    header = {"alg": alg, **({"typ": typ} if typ else {})}
    values = claims(iss=client_id, client_id=client_id, sub=client_id, jti=f"obj-{client_id}-{typ}")
    token = jwt.encode(header, values, key())
    assert "code" in flows.query(browser.get("/oidc/authorize", query(client_id=client_id, request=token)))
    response = as_client_assertion(http, token)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}
    # the same JWT without what makes it a request object authenticates the client
    plain = {k: v for k, v in values.items() if k not in ("redirect_uri", "response_type")}
    assert as_client_assertion(http, jwt.encode({"alg": alg}, dict(plain, jti="other"), key())).status_code == 200
    if typ:  # typed as a request object, it is refused whatever it holds
        assert as_client_assertion(http, jwt.encode(header, dict(plain, jti="typed"), key())).status_code == 401
