"""``manage.py createclient``."""

import io
import json
import re

import pytest
from cryptojwt.jwk.ec import new_ec_key
from django.core.management import CommandError, call_command

from oidc_provider.models import Client


def create(*args):
    out = io.StringIO()
    call_command("createclient", *args, stdout=out)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines() if "=" in line)


def test_generates_and_prints_a_secret_once(db):
    printed = create("--client-id", "app", "--redirect-uri", "https://app.example/cb", "--name", "App")
    client = Client.objects.get(client_id="app")
    assert printed["client_id"] == "app" and len(printed["client_secret"]) >= 40
    assert client.check_secret(printed["client_secret"]) and printed["client_secret"] not in client.client_secret_hash
    assert client.client_name == "App" and client.token_endpoint_auth_method == "client_secret_basic"
    assert client.grant_types == ["authorization_code"] and client.response_types == ["code"]


def test_a_secret_that_starts_with_a_dash_is_given_with_an_equals_sign(db):
    """As docs/client-authentication.md says: a URL-safe random secret starts with ``-`` one time in 64, which
    argparse reads as an option when it is a separate argument (a CI run failed so)."""
    with pytest.raises(CommandError, match="--client-secret: expected one argument"):
        create("--client-id", "dash", "--redirect-uri", "https://a.example/cb", "--client-secret", "-dash")
    create("--client-id", "dash", "--redirect-uri", "https://a.example/cb", "--client-secret=-dash")
    assert Client.objects.get(client_id="dash").check_secret("-dash")


def test_all_options(db):
    create(
        "--client-id",
        "full",
        "--client-secret",
        "given",
        "--redirect-uri",
        "https://a.example/1",
        "--redirect-uri",
        "https://a.example/2",
        "--post-logout-redirect-uri",
        "https://a.example/bye",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--response-type",
        "code",
        "--scope",
        "openid email offline_access",
        "--token-endpoint-auth-method",
        "client_secret_post",
        "--skip-consent",
        "--require-pkce",
    )
    client = Client.objects.get(client_id="full")
    assert client.redirect_uris == ["https://a.example/1", "https://a.example/2"]
    assert client.post_logout_redirect_uris == ["https://a.example/bye"]
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert client.scopes == ["openid", "email", "offline_access"]
    assert client.skip_consent and client.require_pkce and client.check_secret("given")


def test_machine_client_with_exchange_policy_and_jwt_access_tokens(db):
    policy = (
        '{"subject_token_types": ["refresh_token"], "requested_token_types": ["access_token"], "scopes": ["openid"]}'
    )
    printed = create(
        "--client-id",
        "m2m",
        "--grant-type",
        "client_credentials",
        "--grant-type",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "--access-token-format",
        "jwt",
        "--token-exchange-policy",
        policy,
    )
    client = Client.objects.get(client_id="m2m")
    assert printed["client_secret"] and client.redirect_uris == []
    assert client.grant_types == ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]
    assert client.access_token_format == "jwt"
    assert client.token_exchange == {
        "subject_token_types": ["refresh_token"],
        "requested_token_types": ["access_token"],
        "scopes": ["openid"],
    }


def test_public_client_has_no_secret_and_requires_pkce(db):
    printed = create("--client-id", "spa", "--public", "--redirect-uri", "https://spa.example/cb")
    client = Client.objects.get(client_id="spa")
    assert "client_secret" not in printed
    assert client.is_public and client.require_pkce and client.client_secret_hash == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["--client-id", "x"], "authorization_code needs at least one redirect URI"),
        (
            ["--client-id", "x", "--grant-type", "client_credentials", "--public"],
            "A public client cannot use client_credentials",
        ),
        (
            ["--client-id", "x", "--grant-type", "refresh_token", "--redirect-uri", "https://a.example/cb"],
            "refresh_token needs authorization_code",
        ),
        (["--client-id", "x", "--grant-type", "client_credentials", "--token-exchange-policy", "{"], "not JSON"),
        (
            ["--client-id", "x", "--grant-type", "client_credentials", "--token-exchange-policy", '{"audiences": 1}'],
            "subject_token_types must be",
        ),
        (["--client-id", "x", "--redirect-uri", "/relative"], "absolute"),
        (["--client-id", "x", "--redirect-uri", "https://a.example/cb#frag"], "fragment"),
        (["--client-id", "x", "--redirect-uri", "https://a.example/cb", "--scope", "openid nonsense"], "Unknown scope"),
        (["--client-id", "x", "--redirect-uri", "https://a.example/cb", "--scope", "profile"], "openid"),
        (["--client-id", "x y", "--redirect-uri", "https://a.example/cb"], "whitespace"),
        (
            ["--client-id", "x", "--redirect-uri", "https://a.example/cb", "--public", "--client-secret", "s"],
            "no secret",
        ),
        (
            ["--client-id", "x", "--redirect-uri", "https://a.example/cb", "--token-endpoint-auth-method", "none"],
            "--public",
        ),
    ],
)
def test_bad_input_is_a_clear_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        create(*args)
    assert not Client.objects.exists()


def test_duplicate_client_id_is_refused(db):
    create("--client-id", "dup", "--redirect-uri", "https://a.example/cb")
    with pytest.raises(CommandError, match="already exists"):
        create("--client-id", "dup", "--redirect-uri", "https://a.example/cb")


def test_bad_choice_exits_non_zero(db, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "createclient",
            "--client-id",
            "x",
            "--redirect-uri",
            "https://a/cb",
            "--grant-type",
            "password",
        ],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0 and "invalid choice" in result.stderr


def test_private_key_jwt_client_with_jwks(db, tmp_path):
    from cryptojwt.jwk.rsa import new_rsa_key

    jwks = {"keys": [new_rsa_key(kid="k1").serialize()]}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    printed = create(
        "--client-id",
        "pk",
        "--redirect-uri",
        "https://a.example/cb",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks",
        f"@{path}",
        "--id-token-signed-response-alg",
        "PS256",
        "--userinfo-signed-response-alg",
        "ES256",
    )
    client = Client.objects.get(client_id="pk")
    assert "client_secret" not in printed and client.client_secret_hash == ""
    assert client.jwks == jwks and client.id_token_signed_response_alg == "PS256"
    assert client.userinfo_signed_response_alg == "ES256"
    create(
        "--client-id",
        "pk2",
        "--redirect-uri",
        "https://a.example/cb",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-uri",
        "https://a.example/jwks",
    )
    assert Client.objects.get(client_id="pk2").jwks_uri == "https://a.example/jwks"


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "jwks or jwks_uri"),
        (["--jwks", "{not json"], "--jwks"),
        (["--jwks", '{"keys": []}'], "JWK Set"),
        (["--jwks", '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'], "private material"),
        (["--jwks", '{"keys": [{"kty": "RSA", "n": "x"}]}'], "Unusable"),
        (["--jwks-uri", "http://a.example/jwks"], "https"),
        (["--jwks-uri", "https://a.example/jwks", "--jwks", '{"keys": [{"kty": "EC"}]}'], "Unusable"),
        (
            ["--jwks-uri", "https://a.example/jwks", "--jwks", json.dumps({"keys": [new_ec_key("P-256").serialize()]})],
            "not both",
        ),
        (["--jwks-uri", "https://a.example/jwks", "--client-secret", "s"], "no secret"),
        (["--jwks-uri", "https://a.example/jwks", "--id-token-signed-response-alg", "none"], "not offered"),
        (["--jwks-uri", "https://a.example/jwks", "--userinfo-signed-response-alg", "HS256"], "not offered"),
    ],
)
def test_private_key_jwt_mistakes(db, extra, message):
    with pytest.raises(CommandError, match=message):
        create(
            "--client-id",
            "pk",
            "--redirect-uri",
            "https://a.example/cb",
            "--token-endpoint-auth-method",
            "private_key_jwt",
            *extra,
        )
    assert not Client.objects.exists()


def test_request_object_metadata(db):
    call_command(
        "createclient",
        "--client-id",
        "ro",
        "--redirect-uri",
        "https://rp.example/cb",
        "--request-uri",
        "https://rp.example/r.jwt#abc",
        "--request-object-signing-alg",
        "ES256",
        stdout=io.StringIO(),
    )
    client = Client.objects.get(client_id="ro")
    assert client.request_uris == ["https://rp.example/r.jwt#abc"] and client.request_object_signing_alg == "ES256"


@pytest.mark.parametrize(
    "args, error",
    [
        (["--request-uri", "http://rp.example/r.jwt"], "http://rp.example/r.jwt must be https"),
        (["--request-object-signing-alg", "HS256"], "HS256 is keyed with the client secret"),
        (["--request-object-signing-alg", "none"], "none is not accepted."),
    ],
)
def test_request_object_metadata_refused(db, args, error):
    with pytest.raises(CommandError, match=re.escape(error)):
        call_command("createclient", "--client-id", "ro", "--redirect-uri", "https://rp.example/cb", *args)
