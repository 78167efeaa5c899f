"""Tokens at rest: a read-only copy of the database yields no usable code, token or browser session.
Grant rows hold a keyed hash of each value (``storage.token_values``); rows written before that are
rewritten by a migration (0007) and, until it runs, still read. Django's session rows are keyed by a
keyed hash of the cookie's key (``oidc_provider.session_store``)."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection

from oidc_provider.crypto import token_digest
from oidc_provider.models import Client, IssuedToken, SessionNode
from tests import flows

migration = importlib.import_module("oidc_provider.migrations.0007_token_digests")
tokens_0011 = importlib.import_module("oidc_provider.migrations.0011_token_rows")
TOKEN_CLASSES = {
    "authorization_code": "idpyoidc.server.session.token.AuthorizationCode",
    "access_token": "idpyoidc.server.session.token.AccessToken",
    "refresh_token": "idpyoidc.server.session.token.RefreshToken",
    "id_token": "idpyoidc.server.session.token.IDToken",
}


def database_dump() -> str:
    """Every row of every table, as text; Django's sessions decoded as well (their keys are in the rows)."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                rows.append(
                    " ".join(bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v) for v in row)
                )
    rows += [str(session.get_decoded()) for session in Session.objects.all()]
    assert len(rows) > 20  # users, clients, keys, session nodes, consents, sessions…
    return "\n".join(rows)


@pytest.mark.parametrize("access_token_format", ["opaque", "jwt"])
def test_a_database_dump_yields_no_code_or_token(offline_rp, browser, http, access_token_format):
    flows.make_client("m2m", "s3cret", "--grant-type", "client_credentials")
    Client.objects.update(access_token_format=access_token_format)
    issued = {}
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    first = flows.redeem(http, code, verifier).json()
    refreshed = flows.refresh(http, first["refresh_token"]).json()
    exchanged = flows.exchange(http, refreshed["access_token"]).json()
    exchanged_rt = flows.exchange(http, refreshed["access_token"], requested_token_type=flows.RT_TYPE).json()
    machine = flows.token_request(http, {"grant_type": "client_credentials"}, "m2m", "s3cret").json()
    live_code, live_verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    assert flows.introspect(http, exchanged["access_token"]).json()["active"]
    assert flows.userinfo(http, refreshed["access_token"]).status_code == 200
    assert flows.revoke(http, exchanged["access_token"]).status_code == 200
    issued = {
        "code": code,
        "live code": live_code,
        "access token": first["access_token"],
        "refresh token": first["refresh_token"],
        "ID token": first["id_token"],
        "refreshed access token": refreshed["access_token"],
        "refreshed refresh token": refreshed["refresh_token"],
        "refreshed ID token": refreshed["id_token"],
        "exchanged access token": exchanged["access_token"],
        "exchanged refresh token": exchanged_rt["access_token"],
        "client-credentials access token": machine["access_token"],
        "browser session key": browser.cookies[settings.SESSION_COOKIE_NAME].value,
    }
    assert (issued["access token"].count(".") == 2) == (access_token_format == "jwt")
    dump = database_dump()
    assert [name for name, value in issued.items() if value in dump] == []
    # what the rows hold still finds every token presented
    assert token_digest(refreshed["refresh_token"]) in dump
    assert flows.introspect(http, machine["access_token"], "m2m", "s3cret").json()["active"]
    assert flows.refresh(http, refreshed["refresh_token"]).status_code == 200
    assert flows.redeem(http, live_code, live_verifier).status_code == 200


def test_a_digest_read_from_the_database_is_no_token(tokens, http):
    """The digest is compared as a digest only with another read from a row: presented, it is a value
    like any other, and unknown."""
    digest = token_digest(tokens["refresh_token"])
    assert flows.error_of(flows.refresh(http, digest)) == "invalid_grant"
    assert flows.introspect(http, token_digest(tokens["access_token"])).json() == {"active": False}
    assert flows.userinfo(http, token_digest(tokens["access_token"])).status_code == 401


def old_format(tokens, code):
    """The grant row as it was written before values were hashed: every token in it (as before tokens
    had rows of their own, migration 0011), each value in clear, the ID token's too, a parent in
    ``based_on`` by reference (or, pruned from the row, by value)."""
    values = {token_digest(v): v for v in (code, tokens["access_token"], tokens["refresh_token"])}
    issued = []
    for token in flows.stored_tokens():
        token = {k: v for k, v in token.items() if k != "based_on"}
        token["value"] = tokens["id_token"] if token["token_class"] == "id_token" else values[token["value"]]
        if token["token_class"] == "refresh_token":
            token["based_on"] = code  # as if the code were gone from the row
        issued.append({TOKEN_CLASSES[token["token_class"]]: token})
    IssuedToken.objects.all().delete()
    row = SessionNode.objects.get(kind=SessionNode.GRANT)
    row.data["issued_token"] = issued
    row.save()
    assert tokens["refresh_token"] in str(row.data) and code in str(row.data)
    return row


def test_the_migration_hashes_the_values_of_rows_in_the_old_format(offline_rp, browser, http):
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    tokens = flows.redeem(http, code, verifier).json()
    row = old_format(tokens, code)
    migration.digest_token_values(apps, SimpleNamespace(connection=connection))
    row.refresh_from_db()
    stored = {t["token_class"]: t for item in row.data["issued_token"] for t in item.values()}
    assert stored["refresh_token"]["value"] == token_digest(tokens["refresh_token"])
    assert stored["refresh_token"]["based_on"] == token_digest(code)
    assert stored["access_token"]["value"] == token_digest(tokens["access_token"])
    assert stored["id_token"]["value"] == "#" + stored["id_token"]["id"]
    values = (code, tokens["access_token"], tokens["refresh_token"], tokens["id_token"])
    assert not [v for v in values if v in str(row.data)]
    assert migration.digested_data(row.data) is None  # a second run changes nothing
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200
    assert flows.error_of(flows.redeem(http, code, verifier)) == "invalid_grant"  # still spent


def test_migration_0011_moves_a_grants_tokens_to_rows_of_their_own_and_back(offline_rp, browser, http):
    """Every token but the ID tokens leaves the grant's row for a row keyed by its digest; the ID token's
    reference to its parent by id becomes the parent's digest. Reversed, the row is as before."""
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    tokens = flows.redeem(http, code, verifier).json()
    before = flows.stored_tokens()
    old_format(tokens, code)
    migration.digest_token_values(apps, SimpleNamespace(connection=connection))  # all in the row, hashed
    row = SessionNode.objects.get(kind=SessionNode.GRANT)
    in_row = {t["token_class"]: t for item in row.data["issued_token"] for t in item.values()}
    in_row["id_token"]["based_on"] = "#" + in_row["authorization_code"]["id"]  # as the release before wrote it
    row.save()
    schema_editor = SimpleNamespace(connection=connection)
    tokens_0011.move_tokens_out(apps, schema_editor)
    row.refresh_from_db()
    [[(name, id_token)]] = [item.items() for item in row.data["issued_token"]]
    assert id_token["token_class"] == "id_token" and id_token["based_on"] == token_digest(code)
    moved = {t.token_class: t for t in IssuedToken.objects.all()}
    assert set(moved) == {"authorization_code", "access_token", "refresh_token"}
    assert moved["refresh_token"].digest == token_digest(tokens["refresh_token"])
    assert moved["refresh_token"].based_on == token_digest(code)
    assert moved["authorization_code"].used > 0 and not moved["access_token"].revoked
    assert {(t["token_class"], t["value"]) for t in flows.stored_tokens()} == {
        (t["token_class"], t["value"]) for t in before if t["token_class"] != "id_token"
    } | {("id_token", id_token["value"])}
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200
    tokens_0011.move_tokens_back(apps, schema_editor)
    IssuedToken.objects.all().delete()  # the reverse migration drops the table
    row.refresh_from_db()
    back = {t["token_class"]: t for item in row.data["issued_token"] for t in item.values()}
    assert set(back) == {"authorization_code", "access_token", "refresh_token", "id_token"}
    assert back["refresh_token"]["value"] == token_digest(tokens["refresh_token"])
    assert back["refresh_token"]["based_on"] == token_digest(code) and back["authorization_code"]["used"] > 0
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200  # the row alone still serves


def test_a_row_in_the_old_format_still_works_before_the_migration(offline_rp, browser, http):
    """Between the new code's start and ``migrate``: its values are hashed as it is read, and hashed
    in the row when it is next written."""
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    tokens = flows.redeem(http, code, verifier).json()
    row = old_format(tokens, code)
    assert flows.introspect(http, tokens["access_token"]).json()["active"]
    new = flows.refresh(http, tokens["refresh_token"]).json()
    row.refresh_from_db()
    assert tokens["refresh_token"] not in str(row.data) and new["refresh_token"] not in str(row.data)
    assert flows.userinfo(http, new["access_token"]).status_code == 200
