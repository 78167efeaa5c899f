"""The seams between idpyoidc and the ORM: clients and the session-tree row store (keys: test_keys.py)."""

import json
import threading
import time

import pytest
from idpyoidc.server.session.grant import Grant
from idpyoidc.server.session.info import ClientSessionInfo, UserSessionInfo
from idpyoidc.server.session.token import AccessToken, AuthorizationCode, IDToken

from oidc_provider.crypto import token_digest
from oidc_provider.idpy.client_db import ClientDatabase, client_to_idpy, split_redirect_uri
from oidc_provider.idpy.session_tree import SessionTreeStore
from oidc_provider.idpy.token_pruning import prune_tokens
from oidc_provider.models import Client, SessionNode
from oidc_provider.storage import token_values
from oidc_provider.storage.token_values import StoredValue, at_rest
from oidc_provider.storage.unit_of_work import GRANTS, unit_of_work
from tests.concurrency import in_thread, postgresql_only


def make_client(**fields):
    defaults = dict(
        client_id="c1",
        redirect_uris=["https://rp.example/cb?x=1"],
        post_logout_redirect_uris=["https://rp.example/bye"],
    )
    return Client.objects.create(**{**defaults, **fields})


def test_client_maps_rfc7591_names_to_what_idpyoidc_reads(db):
    info = client_to_idpy(
        make_client(grant_types=["authorization_code"], response_types=["code"], scope="openid email")
    )
    assert info["redirect_uris"] == [["https://rp.example/cb", {"x": ["1"]}]]
    assert info["grant_types_supported"] == ["authorization_code"]
    assert info["response_types_supported"] == ["code"]
    assert info["post_logout_redirect_uris"] == ["https://rp.example/bye"] and "post_logout_redirect_uri" not in info
    assert info["token_endpoint_client_authn_method"] == ["client_secret_basic"]
    assert info["allowed_scopes"] == ["openid", "email"]
    assert "client_secret" not in info and info["pkce_essential"] is False


def test_public_client_authenticates_as_public_and_needs_pkce(db):
    info = client_to_idpy(make_client(token_endpoint_auth_method="none"))
    assert info["token_endpoint_client_authn_method"] == ["public"] and info["pkce_essential"] is True


def test_split_redirect_uri():
    assert split_redirect_uri("https://a.example/cb") == ["https://a.example/cb", {}]


def test_client_database_reads_rows_once_per_unit(db, django_assert_num_queries):
    make_client()
    cdb = ClientDatabase()
    with unit_of_work():
        with django_assert_num_queries(1):
            assert cdb["c1"]["client_id"] == "c1" and "c1" in cdb and cdb.get("c1")
        assert "nope" not in cdb and cdb.get("nope") is None
        with pytest.raises(KeyError):
            cdb["nope"]


def test_inactive_client_is_unknown(db):
    make_client(is_active=False)
    with unit_of_work():
        assert "c1" not in ClientDatabase()


def store_tree(uid="7", cid="c1"):
    store = SessionTreeStore()
    grant = Grant(scope=["openid"])
    key = f"{uid};;{cid};;{grant.id}"
    store[uid] = UserSessionInfo(id=uid)
    store[f"{uid};;{cid}"] = ClientSessionInfo(id=cid)
    store[key] = grant
    return store, key


def test_session_store_requires_a_unit_of_work(db):
    with pytest.raises(RuntimeError):
        SessionTreeStore().get("x")


def test_nodes_are_written_at_the_end_of_the_unit(db):
    with unit_of_work():
        store, key = store_tree()
        assert not SessionNode.objects.exists()
    rows = {r.key: r for r in SessionNode.objects.all()}
    assert set(rows) == {"7", "7;;c1", key}
    assert rows[key].kind == "grant" and rows[key].parent_key == "7;;c1" and rows[key].user_id == "7"
    assert "subordinate" not in rows["7"].data


def test_subordinates_are_derived_from_child_rows(db):
    with unit_of_work():
        _, first = store_tree()
    with unit_of_work():
        _, second = store_tree()  # a second grant, written by "another request"
    with unit_of_work():
        client_session = SessionTreeStore()["7;;c1"]
        assert client_session.subordinate == [first, second]


def test_mutations_without_set_are_persisted(db):
    """idpyoidc mutates loaded objects without writing them back."""
    with unit_of_work():
        _, key = store_tree()
    with unit_of_work():
        SessionTreeStore()[key].scope.append("email")
    with unit_of_work():
        assert SessionTreeStore()[key].scope == ["openid", "email"]


def test_unchanged_nodes_are_not_rewritten(db, django_assert_num_queries):
    with unit_of_work():
        _, key = store_tree()
    with django_assert_num_queries(3):  # savepoint, the select, release: no write
        with unit_of_work():
            SessionTreeStore()[key]


def test_deleted_nodes_are_removed(db):
    with unit_of_work():
        store, key = store_tree()
    with unit_of_work():
        store = SessionTreeStore()
        del store[key]
        assert key not in store
    assert not SessionNode.objects.filter(key=key).exists()


def test_grant_under_encrypted_session_id_is_ignored(db):
    """Defect 30: mint_token stores the grant under `unpack_session_key(<encrypted id>)`."""
    with unit_of_work():
        SessionTreeStore()["Z0FBQUFBQnJ" + "x" * 300] = Grant()
    assert not SessionNode.objects.exists()


def test_prune_drops_dead_tokens_but_keeps_parents_that_give_a_live_one_its_scope():
    grant = Grant()
    dead = AccessToken(value="dead", expires_at=1)
    revoked = AccessToken(value="revoked", revoked=True)
    parent = AccessToken(value="parent", expires_at=1, scope=["openid"])
    child = AccessToken(value="child", based_on="parent", expires_at=0)
    scoped_parent = AccessToken(value="scoped-parent", revoked=True)
    scoped_child = AccessToken(value="scoped-child", based_on="scoped-parent", scope=["openid"])
    tokens = [dead, revoked, parent, child, scoped_parent, scoped_child]
    grant.issued_token = prune_tokens(tokens, tokens, now=100)
    assert [t.value for t in grant.issued_token] == ["parent", "child", "scoped-child"]
    assert grant.find_scope(grant.get_token("child")) == ["openid"]


def test_prune_keeps_one_id_token_with_the_latest_sid_for_logout():
    """Its session_id is the sid a logout token must carry, long after the ID token expired: the
    latest's. Of the live ID tokens with that sid the first is kept (the one a grant's row held
    before a refresh minted another, so the row stays as it was); none when the latest is revoked."""
    older = IDToken(token_class="id_token", value="older", session_id="sid-1", issued_at=10, expires_at=20)
    latest = IDToken(token_class="id_token", value="latest", session_id="sid-1", issued_at=30, expires_at=40)
    tokens = [older, latest]
    assert prune_tokens(tokens, tokens, now=100) == [older]
    older.revoked = True
    assert prune_tokens(tokens, tokens, now=100) == [latest]
    other = IDToken(token_class="id_token", value="other", session_id="sid-2", issued_at=50, expires_at=60)
    older.revoked = False
    tokens = [older, latest, other]
    assert prune_tokens(tokens, tokens, now=100) == [other]
    other.revoked = True
    assert prune_tokens(tokens, tokens, now=100) == []


def test_client_authentication_never_counts_every_client(db, django_assert_num_queries):
    """idpyoidc tests ``if … and _cdb:`` per authentication; that must not be a COUNT(*) (bench/)."""
    assert bool(ClientDatabase())
    with django_assert_num_queries(0):
        bool(ClientDatabase())


def test_grant_rows_store_token_references_not_repeated_values(db):
    """A derived token's ``based_on`` is stored as its parent's id, an ID token's value as its own id
    (only its session_id is read back); loading restores the parents' values, and idpyoidc's
    recursive revocation still follows them."""
    code = AuthorizationCode(value="c" * 900, usage_rules={"supports_minting": ["access_token", "id_token"]})
    access = AccessToken(value="a" * 900, based_on=code.value, scope=["openid"])
    id_token = IDToken(token_class="id_token", value="eyJ." * 350, based_on=code.value, session_id="sid-1")
    with unit_of_work():
        store, key = store_tree()
        store[key].issued_token = [code, access, id_token]
    stored = {t["id"]: t for item in SessionNode.objects.get(key=key).data["issued_token"] for t in item.values()}
    assert stored[access.id]["based_on"] == stored[id_token.id]["based_on"] == f"#{code.id}"
    assert stored[id_token.id]["value"] == f"#{id_token.id}"
    assert len(json.dumps(list(stored.values()))) < 3000  # ~6,000 with every value repeated
    with unit_of_work():
        grant = SessionTreeStore()[key]
        assert [t.based_on for t in grant.issued_token] == [None, code.value, code.value]
        assert (
            grant.get_token(code.value).id == code.id
            and grant.last_issued_token_of_type("id_token").session_id == "sid-1"
        )
        grant.revoke_token(based_on=code.value, recursive=True)  # what a replayed code does
    with unit_of_work():
        assert [t.id for t in SessionTreeStore()[key].issued_token] == [code.id]


def test_a_reference_to_a_token_gone_from_the_row_reads_as_no_parent(db):
    with unit_of_work():
        store, key = store_tree()
        store[key].issued_token = [AccessToken(value="a" * 900, scope=["openid"])]
    row = SessionNode.objects.get(key=key)
    [[name, token]] = row.data["issued_token"][0].items()
    row.data["issued_token"] = [{name: {**token, "based_on": "#0123"}}]  # written by hand: prune never leaves one
    row.save()
    with unit_of_work():
        assert SessionTreeStore()[key].issued_token[0].based_on is None


def test_grant_rows_do_not_repeat_usage_rules_or_the_default_token_map(db, django_assert_num_queries):
    """A token's usage rules equal to its grant's for its class are stored as a reference, and the
    default token map not at all; loading restores both, and an unchanged grant is not rewritten."""
    rules = {"access_token": {"expires_in": 3600, "supports_minting": ["access_token"]}}
    same = AccessToken(token_class="access_token", value="a" * 900, usage_rules=dict(rules["access_token"]))
    own = AccessToken(
        token_class="access_token", value="b" * 900, usage_rules={"expires_in": 60, "supports_minting": []}
    )
    with unit_of_work():
        store, key = store_tree()
        store[key].usage_rules = rules
        store[key].issued_token = [same, own]
    data = SessionNode.objects.get(key=key).data
    stored = {t["id"]: t for item in data["issued_token"] for t in item.values()}
    assert "token_map" not in data
    assert stored[same.id]["usage_rules"] == "#" and stored[own.id]["usage_rules"] == own.usage_rules
    with unit_of_work():
        grant = SessionTreeStore()[key]
        assert grant.token_map == Grant().token_map
        assert [t.usage_rules for t in grant.issued_token] == [rules["access_token"], own.usage_rules]
        grant.issued_token[0].usage_rules["expires_in"] = 5  # a change to the restored copy is written
    with unit_of_work():
        assert SessionTreeStore()[key].issued_token[0].usage_rules["expires_in"] == 5
        assert SessionTreeStore()[key].usage_rules == rules
    with django_assert_num_queries(1), unit_of_work(GRANTS):  # read; nothing changed, nothing written
        SessionTreeStore()[key]


def test_grant_rows_leave_out_what_is_at_its_default(db):
    """Attributes at the value idpyoidc's constructors give them are not stored; loading restores
    the same grant."""
    from oidc_provider.idpy.fast import impexp

    token = AccessToken(token_class="access_token", value="a" * 300, scope=["openid"], expires_at=2_000_000_000)
    with unit_of_work():
        store, key = store_tree()
        store[key].issued_token = [token]
        store[key].scope = ["openid"]
        expected = impexp.dump(store[key], ["subordinate"])
    data = SessionNode.objects.get(key=key).data
    stored = data["issued_token"][0]["idpyoidc.server.session.token.AccessToken"]
    assert not {"used", "claims", "extra", "revoked", "not_before", "resources", "expires_at"} & set(data)
    assert not {"used", "claims", "revoked", "not_before", "resources", "name"} & set(stored)
    assert stored["expires_at"] == 2_000_000_000 and data["scope"] == stored["scope"] == ["openid"]
    with unit_of_work():
        assert impexp.dump(SessionTreeStore()[key], ["subordinate"]) == expected


def test_a_stored_value_equals_its_raw_value_and_never_a_presented_digest():
    """A digest read from a copy of the database and presented as a token is a value like any other."""
    stored = StoredValue(token_digest("the-token"))
    assert stored == "the-token" and "the-token" == stored and stored != "another-token"
    assert stored == StoredValue(token_digest("the-token")) and stored != StoredValue(token_digest("another-token"))
    assert stored != token_digest("the-token") and not (stored == str(stored)) and stored is not None
    assert hash(stored) == hash(token_digest("the-token")) and at_rest(stored) == at_rest("the-token") == str(stored)
    assert type(at_rest(stored)) is str


def test_finding_a_token_hashes_the_presented_value_once(db, monkeypatch):
    raw = [f"token-{i}" for i in range(10)]
    with unit_of_work():
        store, key = store_tree()
        store[key].issued_token = [AccessToken(value=v, scope=["openid"]) for v in raw]
    assert raw[-1] not in json.dumps(SessionNode.objects.get(key=key).data)
    calls = []
    monkeypatch.setattr(token_values, "token_digest", lambda value: calls.append(value) or token_digest(value))
    with unit_of_work():
        grant = SessionTreeStore()[key]
        assert grant.get_token(raw[-1]).value == raw[-1] and grant.get_token("token-x") is None
    assert calls == [raw[-1], "token-x"]


def test_a_batch_of_writes_is_one_statement_on_postgresql_and_does_every_write(db):
    """``storage.write_batch``: three writes to three rows; on PostgreSQL one round trip."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from oidc_provider.storage import write_batch

    for client_id in ("a", "b", "c"):
        make_client(client_id=client_id)
    table = connection.ops.quote_name(Client._meta.db_table)
    update = f'UPDATE {table} SET "client_name" = %s WHERE "client_id" = %s'
    with CaptureQueriesContext(connection) as captured:
        write_batch.execute([(update, ["A", "a"]), (update, ["B", "b"]), (update, ["C", "c"])])
    assert len(captured) == (1 if connection.vendor == "postgresql" else 3)
    assert dict(Client.objects.values_list("client_id", "client_name")) == {"a": "A", "b": "B", "c": "C"}
    with CaptureQueriesContext(connection) as captured:
        write_batch.execute([])
    assert len(captured) == 0


def test_reads_fetched_together_are_one_round_trip_on_postgresql(db):
    """``storage.rows.fetch_together``: each read's rows, in order; one query string on PostgreSQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from oidc_provider.storage.rows import fetch_together, get_row, row_read

    for client_id in ("a", "b"):
        make_client(client_id=client_id)
    table = connection.ops.quote_name(Client._meta.db_table)
    read = f'SELECT "client_id" FROM {table} WHERE "client_id" IN (%s, %s) ORDER BY "client_id"'
    statement, make = row_read(Client, client_id="b")
    with CaptureQueriesContext(connection) as captured:
        found = fetch_together([(read, ["a", "b"]), statement, (read, ["z", "b"])])
    assert len(captured) == (1 if connection.vendor == "postgresql" else 3)
    assert found[0] == [("a",), ("b",)] and found[2] == [("b",)]
    assert make(found[1]) == get_row(Client, client_id="b") and make([]) is None


def read_behind_a_refresh(isolation=None, then=None):
    """A second refresh's locked read of a grant and its token while a first refresh holds the grant's lock
    and marks the token used: ``(waited, nodes, tokens, key, digest)``. ``isolation``: the second's
    transaction isolation level (else the connection's, Django's default ``READ COMMITTED``);
    ``then(waited, tokens)``: what the second does next in its transaction, with what it read."""
    from django.db import connection, transaction

    from oidc_provider.models import IssuedToken
    from oidc_provider.storage.session_tree_rows import select_rows

    key, digest = "7;;c1;;g1", "$" + "d" * 43
    SessionNode.objects.create(key=key, parent_key="7;;c1", kind=SessionNode.GRANT, user_id="7", data={})
    IssuedToken.objects.create(digest=digest, grant_key=key, token_class="refresh_token", class_name="x", data={})
    holding, waited, release = threading.Event(), threading.Event(), threading.Event()

    def first_refresh():
        with transaction.atomic():
            SessionNode.objects.select_for_update().get(key=key)
            IssuedToken.objects.filter(digest=digest).update(used=1)
            holding.set()
            release.wait(10)

    def release_once_the_read_waits():
        with connection.cursor() as cursor:
            for _ in range(500):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                if cursor.fetchone()[0]:
                    waited.set()
                    break
                time.sleep(0.02)
        release.set()

    threads = [in_thread(first_refresh)]
    assert holding.wait(10)
    threads.append(in_thread(release_once_the_read_waits))
    try:
        with transaction.atomic():
            if isolation:
                with connection.cursor() as cursor:
                    cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
            nodes, tokens, _ = select_rows([key], locked=key, tokens=[digest])
            if then:
                then(waited, tokens)
    finally:
        for thread in threads:
            thread.join()
    return waited, nodes, tokens, key, digest


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_token_read_under_a_grant_lock_sees_what_the_last_holder_committed():
    """Two refreshes of one token at once: the second waits for the grant's lock, and the token's row,
    read in the same round trip once the lock is held, is the one the first committed (used). Read in
    the locking statement's snapshot it would still be unused, and the token spent twice."""
    waited, nodes, tokens, key, digest = read_behind_a_refresh()
    assert waited.is_set()  # the read did wait for the first refresh's lock
    assert [row[0] for row in nodes] == [key]
    assert [(row[0], row[3]) for row in tokens] == [(digest, 1)]


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_above_read_committed_the_second_of_two_refreshes_fails(isolation):
    """Why check W039 warns of an isolation level above ``READ COMMITTED``: there the second of two
    refreshes of one token reads the token as its transaction's snapshot has it, unused, though it waited
    for the first's lock, and its write of the token fails (PostgreSQL's serialization failure, SQLSTATE
    40001): an error the token endpoint answers with a 500, where ``READ COMMITTED`` gives the reuse
    window's answer or ``invalid_grant``."""
    from django.db import OperationalError

    from oidc_provider.models import IssuedToken

    seen = {}

    def spend(waited, tokens):
        seen.update(waited=waited.is_set(), tokens=[(row[0], row[3]) for row in tokens])
        IssuedToken.objects.filter(digest=tokens[0][0]).update(used=1)

    with pytest.raises(OperationalError) as failure:
        read_behind_a_refresh(isolation, then=spend)
    # the locked read waited for the first refresh, yet has the token unused; then the write fails
    assert seen == {"waited": True, "tokens": [("$" + "d" * 43, 0)]}
    assert failure.value.__cause__.sqlstate == "40001"
