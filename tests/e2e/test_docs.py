"""The token pages of docs/ run against the live OP: each page's ``createclient`` commands (```sh
blocks) make its clients, then its ```python blocks run in order with the page's placeholders
(``ISSUER``, ``CLIENT_ID``, ``CLIENT_SECRET``, tokens) filled in."""

import json
import re
import shlex
from types import SimpleNamespace

import pytest

from tests.e2e.browser import new_session
from tests.e2e.live import ROOT
from tests.e2e.rp import code_flow

pytestmark = pytest.mark.live

SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def page(name) -> str:
    return (ROOT / "docs" / name).read_text()


def createclient_commands(text) -> list[list[str]]:
    commands = []
    for block in SH_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if words[:3] == ["python", "manage.py", "createclient"]:
                commands.append(words[2:])
    return commands


def create_clients(server, text) -> dict:
    """Run the page's createclient commands; its clients by client_id (id, secret, redirect_uri, scope, auth_method)."""
    clients = {}
    for args in createclient_commands(text):
        output = server.manage(*args)
        options = dict(zip(args[1::2], args[2::2], strict=True))
        client_id = options["--client-id"]
        clients[client_id] = SimpleNamespace(
            client_id=client_id,
            client_secret=re.search(r"^client_secret=(.*)$", output, re.M).group(1),
            redirect_uri=options.get("--redirect-uri"),
            scope=options.get("--scope", ""),
            auth_method=options.get("--token-endpoint-auth-method", "client_secret_basic"),
        )
    assert clients, "the page shows no createclient command"
    return clients


def run_examples(text, **placeholders) -> dict:
    """Execute the page's python blocks in one namespace; return the namespace."""
    namespace = dict(placeholders)
    blocks = PYTHON_BLOCK.findall(text)
    assert blocks, "the page has no python example"
    for block in blocks:
        exec(compile(block, "<docs example>", "exec"), namespace)
    return namespace


def sign_in(client, op_user, op_discovery, **params):
    token, _ = code_flow(
        client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"], **params
    )
    return token


def introspect(op_discovery, client, token):
    return (
        new_session()
        .post(
            op_discovery["introspection_endpoint"], data={"token": token}, auth=(client.client_id, client.client_secret)
        )
        .json()
    )


def test_refresh_tokens_page(op_server, op_user, op_discovery):
    text = page("refresh-tokens.md")
    client = create_clients(op_server, text)["my-app"]
    first = sign_in(client, op_user, op_discovery, prompt="consent")
    ns = run_examples(
        text,
        ISSUER=op_server.issuer,
        CLIENT_ID=client.client_id,
        CLIENT_SECRET=client.client_secret,
        REFRESH_TOKEN=first["refresh_token"],
    )
    assert ns["response"].status_code == 200, ns["response"].text
    assert set(ns["tokens"]) == {"access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token"}
    assert ns["tokens"]["refresh_token"] != first["refresh_token"]


def test_introspection_page(op_server, op_user, op_discovery):
    text = page("introspection.md")
    client = create_clients(op_server, text)["reporting-app"]
    token = sign_in(client, op_user, op_discovery)
    ns = run_examples(
        text,
        ISSUER=op_server.issuer,
        CLIENT_ID=client.client_id,
        CLIENT_SECRET=client.client_secret,
        TOKEN=token["access_token"],
    )
    assert ns["info"]["active"] is True and ns["info"]["client_id"] == "reporting-app"
    documented = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    assert set(ns["info"]) == set(documented)


def test_revocation_page(op_server, op_user, op_discovery):
    text = page("revocation.md")
    client = create_clients(op_server, text)["my-web-app"]
    token = sign_in(client, op_user, op_discovery, prompt="consent")
    run_examples(
        text,
        ISSUER=op_server.issuer,
        CLIENT_ID=client.client_id,
        CLIENT_SECRET=client.client_secret,
        TOKEN=token["refresh_token"],
    )
    assert introspect(op_discovery, client, token["access_token"]) == {"active": False}


def test_token_exchange_page(op_server, op_user, op_discovery):
    text = page("token-exchange.md")
    clients = create_clients(op_server, text)
    gateway, orders = clients["gateway"], clients["orders-api"]
    token = sign_in(gateway, op_user, op_discovery, prompt="consent")
    ns = run_examples(
        text,
        ISSUER=op_server.issuer,
        CLIENT_ID=gateway.client_id,
        CLIENT_SECRET=gateway.client_secret,
        SUBJECT_TOKEN=token["access_token"],
        REFRESH_TOKEN=token["refresh_token"],
    )
    assert ns["exchanged"]["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    info = introspect(op_discovery, orders, ns["for_orders"]["access_token"])
    assert info["active"] and info["aud"] == ["orders-api"] and info["scope"] == "openid profile"
    assert introspect(op_discovery, gateway, ns["new_refresh_token"])["token_type"] == "N_A"
    assert ns["from_refresh"]["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"


def test_client_credentials_page(op_server, op_discovery):
    text = page("client-credentials.md")
    client = create_clients(op_server, text)["billing-job"]
    ns = run_examples(text, ISSUER=op_server.issuer, CLIENT_ID=client.client_id, CLIENT_SECRET=client.client_secret)
    assert set(ns["token"]) == {"access_token", "token_type", "expires_in", "scope"} and ns["token"]["scope"] == "email"
    assert introspect(op_discovery, client, ns["token"]["access_token"])["sub"] == "billing-job"


def test_access_tokens_page(op_server, op_user, op_discovery):
    text = page("access-tokens.md")
    client = create_clients(op_server, text)["jwt-app"]
    token = sign_in(client, op_user, op_discovery)
    ns = run_examples(text, ISSUER=op_server.issuer, CLIENT_ID=client.client_id, ACCESS_TOKEN=token["access_token"])
    assert ns["token"].claims["client_id"] == "jwt-app"


def test_oauth2_page(op_server, op_user, op_discovery):
    """The worked example of a plain OAuth 2.0 request: no openid, an access and a refresh token, no ID token."""
    from tests.e2e.rp import authorization_response

    text = page("oauth2.md")
    client = create_clients(op_server, text)["files-app"]
    assert client.scope == "openid email offline_access"
    client.scope = "email offline_access"  # the request's scope, as in the page's authorization request
    result, sent = authorization_response(client, op_user, op_discovery["authorization_endpoint"])
    ns = run_examples(
        text,
        ISSUER=op_server.issuer,
        CLIENT_ID=client.client_id,
        CLIENT_SECRET=client.client_secret,
        CODE=result["code"],
        CODE_VERIFIER=sent["verifier"],
    )
    assert ns["response"].status_code == 200, ns["response"].text
    documented = json.loads(re.findall(r"```json\n(.*?)```", text, re.S)[0])
    assert (
        set(ns["tokens"]) == set(documented) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    )
    assert ns["tokens"]["scope"] == documented["scope"] == "email offline_access"
    assert ns["info"]["active"] is True and ns["info"]["scope"] == "email offline_access"
    assert ns["info"]["client_id"] == "files-app"
