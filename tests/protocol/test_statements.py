"""What one request of each kind costs the database: the statements the benchmark's figures rest on
(bench/, docs/benchmark.md). Exact counts, so a query that creeps back into a hot path fails here;
none may grow with the grants a user holds or the clients the OP has."""

import json
import re
import sys
import uuid
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from idpyoidc.server.session.database import Database

from oidc_provider.idpy.node_codec import load_node
from oidc_provider.idpy.session_tree import SessionTreeStore
from oidc_provider.models import SessionNode
from oidc_provider.storage.unit_of_work import unit_of_work
from tests import flows

POSTGRES = connection.vendor == "postgresql"


TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")


def statements(run, transaction=None):
    """The SQL ``run`` sends, without transaction control (the test's own transaction turns the OP's
    into savepoints). ``transaction``: assert that ``run`` opened one (True) or none (False)."""
    with CaptureQueriesContext(connection) as captured:
        result = run()
    sql = [q["sql"] for q in captured.captured_queries]
    if transaction is not None:
        assert any(s.startswith(TRANSACTION_CONTROL) for s in sql) is transaction, sql
    return result, [s for s in sql if not s.startswith(TRANSACTION_CONTROL)]


@pytest.fixture
def trusted_rp(db):
    flows.make_client("rp1", "s3cret", "--skip-consent", "--grant-type", "authorization_code")
    return "rp1"


@pytest.fixture
def busy_user(trusted_rp, browser, http):
    """alice already holds grants with rp1: a request must not read them."""
    for _ in range(4):
        flows.get_tokens(browser, http)


def test_authorization_request(busy_user, browser):
    verifier, challenge = flows.pkce_pair()
    response, sql = statements(lambda: browser.get("/oidc/authorize", flows.auth_params(challenge)), transaction=False)
    assert response.status_code == 302 and "code=" in response["Location"]
    # Django's session and user; the client; the grant, inserted only if its parent exists, which it
    # holds (FOR KEY SHARE), and while its OP session is live, held against its end (FOR SHARE): the
    # user and client-session nodes and the OP session are not read by statements of their own.
    # One write, atomic on its own: no transaction (no BEGIN and COMMIT round trips)
    assert len(sql) == 4, sql
    assert sql[-1].startswith("INSERT") and "WHERE EXISTS" in sql[-1] and "opsession" in sql[-1]
    assert ("FOR KEY SHARE" in sql[-1] and "FOR SHARE" in sql[-1]) is POSTGRES


def test_first_authorization_makes_the_user_and_client_nodes(trusted_rp, browser):
    from oidc_provider.models import SessionNode

    verifier, challenge = flows.pkce_pair()
    response, sql = statements(lambda: browser.get("/oidc/authorize", flows.auth_params(challenge)), transaction=True)
    assert response.status_code == 302 and "code=" in response["Location"]
    # the grant's insert finds no parent; the client node's finds no user node; both made, held,
    # and the three rows written in one transaction
    inserts = [s for s in sql if s.startswith("INSERT") and "sessionnode" in s]
    assert len(inserts) == 4, sql
    kinds = {node.kind: node.parent_key for node in SessionNode.objects.all()}
    user_key = kinds[SessionNode.CLIENT]
    assert kinds == {SessionNode.USER: "", SessionNode.CLIENT: user_key, SessionNode.GRANT: f"{user_key};;rp1"}


def test_client_credentials(db, http):
    from oidc_provider.models import SessionNode

    flows.make_client("cc", "s3cret", "--grant-type", "client_credentials")
    for first in (True, False):
        response, sql = statements(
            lambda: flows.token_request(http, {"grant_type": "client_credentials"}, "cc"), transaction=first
        )
        assert response.status_code == 200, response.content
    # the client; the token's grant, under its client node (the first request's insert made both
    # parents after missing them, in a transaction); one write needs none
    assert len(sql) == 2, sql
    assert sql[-1].startswith("INSERT") and "WHERE EXISTS" in sql[-1]
    rows = sorted(SessionNode.objects.values_list("kind", "parent_key"))
    assert rows == [
        ("client", "client_credentials"),
        ("grant", "client_credentials;;cc"),
        ("grant", "client_credentials;;cc"),
        ("user", ""),
    ]


def test_code_redemption(busy_user, browser, http):
    code, verifier = flows.get_code(browser)
    with CaptureQueriesContext(connection) as captured:
        response = flows.redeem(http, code, verifier)
    assert response.status_code == 200, response.content
    sql = [q["sql"] for q in captured.captured_queries]
    assert grant_rows_read(sql) == [1]
    # the client; the grant locked, in the transaction that opens just before it (so the lock holds
    # until the grant is written back), the code in the grant's row (the tokens of a grant made with
    # it), so the token table is not read; the grant written back (the code spent, the ID token); the
    # access and refresh tokens, minted into an existing grant, in rows of their own. On PostgreSQL
    # the two writes are one statement (storage.write_batch).
    assert [s.split()[0] for s in sql] == [
        "SELECT",
        "SAVEPOINT",
        "WITH" if POSTGRES else "SELECT",
        *(["WITH"] if POSTGRES else ["UPDATE", "INSERT"]),
        "RELEASE",
    ], sql
    assert ("FOR UPDATE" in sql[2]) is POSTGRES and "issuedtoken" not in sql[2]
    assert writes(sql) == ["UPDATE sessionnode", "INSERT issuedtoken"]


@pytest.mark.parametrize("rotations", [0, 30])
def test_refresh_costs_the_same_however_often_the_chain_was_rotated(offline_rp, browser, http, rotations):
    """A refresh reads the grant and the presented token's row (with its parent), inserts the new
    tokens' rows and marks the presented one used: the same statements, each naming the same number
    of rows, on the first rotation and the thirtieth. The grant's row is not written: what changed
    in the grant (its use count, another ID token with the same ``sid``) is nothing its row keeps."""
    refresh_token = flows.offline_tokens(browser, http)["refresh_token"]
    for _ in range(rotations):
        refresh_token = flows.refresh(http, refresh_token).json()["refresh_token"]
    with CaptureQueriesContext(connection) as captured:
        response = flows.refresh(http, refresh_token)
    assert response.status_code == 200, response.content
    sql = [q["sql"] for q in captured.captured_queries]
    assert grant_rows_read(sql) == [1]
    # PostgreSQL reads the token's row by a statement of its own, after the grant's lock is held (a
    # row read by the locking statement could predate a refresh that held the lock meanwhile), in
    # the lock's round trip: one query string of two statements; it sends the writes as one
    # statement (storage.write_batch)
    written = ["WITH"] if POSTGRES else ["INSERT", "UPDATE"]
    assert [s.split()[0] for s in sql] == ["SELECT", "SAVEPOINT", "WITH" if POSTGRES else "SELECT", *written, "RELEASE"]
    lock, _, token_read = sql[2].rpartition("; SELECT")
    assert ("FOR UPDATE" in lock and "issuedtoken" not in lock) is POSTGRES and "issuedtoken" in token_read
    assert token_read.count("'$") == 2  # the presented token's digest, for itself and for its parent
    assert writes(sql) == ["INSERT issuedtoken", "UPDATE issuedtoken"]
    insert = "".join(sql[-1 - len(written) : -1]).split("INSERT INTO", 1)[1].split("UPDATE", 1)[0]
    assert insert.count("'$") == 2 + 2  # two new tokens: their digests and their parent's


def test_userinfo(busy_user, browser, http):
    access_token = flows.get_tokens(browser, http)["access_token"]
    response, sql = statements(lambda: flows.userinfo(http, access_token), transaction=False)
    assert response.status_code == 200
    # the grant, the client, the user's claims; nothing written, and no transaction (on SQLite it
    # would take the write lock). PostgreSQL reads the user in the grant's round trip: one query
    # string of two statements (storage.rows.fetch_together)
    assert len(sql) == (2 if POSTGRES else 3), sql
    assert grant_rows_read(sql) == [1]  # the grant alone: its user and client nodes are not needed
    user_table = get_user_model()._meta.db_table
    assert [s.count(f'FROM "{user_table}"') for s in sql if user_table in s] == [1]
    assert (user_table in sql[0]) is POSTGRES and "oidc_provider_sessionnode" in sql[0]
    assert_no_parent_read(sql)


def assert_no_parent_read(sql):
    """An access token's row is read by its digest alone: only a refresh token's parent is read with
    it (``storage.token_rows.by_digest_sql``), a subquery the database would plan and run for nothing."""
    token_reads = [s for s in sql if "issuedtoken" in s]
    assert [s.count("'$") for s in token_reads] == [1] and "refresh_token" not in token_reads[0], token_reads


def test_introspection(busy_user, browser, http):
    access_token = flows.get_tokens(browser, http)["access_token"]
    response, sql = statements(lambda: flows.introspect(http, access_token), transaction=False)
    assert response.json()["active"] is True
    assert len(sql) == 2, sql  # the client, the grant
    assert grant_rows_read(sql) == [1]
    assert_no_parent_read(sql)


def test_a_session_id_is_decrypted_once_per_request(busy_user, browser, http):
    code, verifier = flows.get_code(browser)
    with mock.patch.object(Database, "decrypt_branch_id", autospec=True, side_effect=Database.decrypt_branch_id) as spy:
        assert flows.redeem(http, code, verifier).status_code == 200
    assert spy.call_count == 1


@pytest.mark.parametrize("endpoint", ["userinfo", "introspection", "refresh"])
def test_a_presented_token_is_decrypted_once_per_request(offline_rp, browser, http, endpoint):
    """The userinfo endpoint reads its token for client authentication, to find it and again in
    idpyoidc's ``process_request``; a refresh in its checks and in ``process_request``."""
    from idpyoidc.server.token import DefaultToken

    tokens = flows.offline_tokens(browser, http)
    request = {
        "userinfo": lambda: flows.userinfo(http, tokens["access_token"]),
        "introspection": lambda: flows.introspect(http, tokens["access_token"]),
        "refresh": lambda: flows.refresh(http, tokens["refresh_token"]),
    }[endpoint]
    with mock.patch.object(DefaultToken, "info", autospec=True, side_effect=DefaultToken.info) as spy:
        assert request().status_code == 200
    presented = tokens["refresh_token" if endpoint == "refresh" else "access_token"]
    assert [call.args[1] for call in spy.call_args_list] == [presented]


def test_a_session_id_made_in_a_request_is_never_decrypted(busy_user, browser, http):
    flows.make_client("cc", "s3cret", "--grant-type", "client_credentials")
    verifier, challenge = flows.pkce_pair()
    with mock.patch.object(Database, "decrypt_branch_id", autospec=True, side_effect=Database.decrypt_branch_id) as spy:
        assert browser.get("/oidc/authorize", flows.auth_params(challenge)).status_code == 302
        assert flows.token_request(http, {"grant_type": "client_credentials"}, "cc").status_code == 200
    assert spy.call_count == 0


def test_a_token_minted_in_a_request_is_never_looked_up(busy_user, browser, http):
    """The stock token endpoint looks each token it has just minted up again, for a cookie."""
    from oidc_provider.idpy.session_manager import SessionManager

    flows.make_client("cc", "s3cret", "--grant-type", "client_credentials")
    code, verifier = flows.get_code(browser)
    lookup = SessionManager.get_session_info_by_token
    with mock.patch.object(SessionManager, "get_session_info_by_token", autospec=True, side_effect=lookup) as spy:
        assert flows.token_request(http, {"grant_type": "client_credentials"}, "cc").status_code == 200
        assert spy.call_count == 0
        assert flows.redeem(http, code, verifier).status_code == 200
    assert {call.args[1] for call in spy.call_args_list} == {code}


def test_no_token_is_given_a_uuid1(offline_rp, browser, http):
    """Speed rewrite (idpy/fast/ids.py): a token minted or read in a request gets a random id, not
    idpyoidc's ``uuid1`` (~9 µs each), and a grant is not constructed, neither one read
    (``impexp._blank``) nor the one an authorization makes (``impexp.new_grant``, ``fast/code.py``): only a
    JWT still draws one for its ``jti`` (``Grant.payload_arguments``; an ID token's is replaced, defect 204)."""
    from oidc_provider.idpy.fast.impexp import _made
    from oidc_provider.idpy.grant_tokens import Grant

    flows.make_client("cc", "s3cret", "--grant-type", "client_credentials")
    _made(Grant)  # made once per process (two Grant() to compare)
    callers = []

    def for_grant():
        frame = sys._getframe(1)
        while frame.f_code.co_filename == mock.__file__:
            frame = frame.f_back
        callers.append(frame.f_code.co_name)
        return uuid.uuid1()

    with (
        mock.patch("idpyoidc.server.session.token.uuid1", wraps=uuid.uuid1) as for_tokens,
        mock.patch("idpyoidc.server.session.grant.uuid1", side_effect=for_grant),
    ):
        tokens = flows.offline_tokens(browser, http)  # authorization (a new grant), redemption
        assert flows.refresh(http, tokens["refresh_token"]).status_code == 200
        assert flows.userinfo(http, tokens["access_token"]).status_code == 200
        assert flows.introspect(http, tokens["access_token"]).json()["active"] is True
        assert flows.token_request(http, {"grant_type": "client_credentials"}, "cc").status_code == 200
    assert for_tokens.call_count == 0
    assert set(callers) == {"payload_arguments"}
    issued = [t for row in SessionNode.objects.filter(kind="grant") for t in load_node(row).issued_token]
    # idpyoidc's shape (32 hex characters), not its uuid1 (version 1, RFC 4122 variant): a random id
    # looks like one by chance once in 64, all of these (a code, an ID token, a token) about never
    ids = [uuid.UUID(hex=t.id) for t in issued]
    assert len(ids) >= 3 and all(len(t.id) == 32 for t in issued)
    assert not all(i.version == 1 and i.variant == uuid.RFC_4122 for i in ids)


def test_children_are_read_only_when_asked_for(busy_user, browser, http):
    flows.get_tokens(browser, http)
    user_id = str(browser.session["_auth_user_id"])
    with unit_of_work():
        store = SessionTreeStore()
        client_session, sql = statements(lambda: store[f"{user_id};;rp1"])
        assert len(sql) == 1
        grants, sql = statements(lambda: list(client_session.subordinate))
        assert len(grants) == 5 and len(sql) == 1
        assert all(key.startswith(f"{user_id};;rp1;;") for key in grants)


def test_values_typed_by_themselves_dump_as_impexp_dumps_them():
    """The dict and list attributes whose values ImpExp types one by one (``type2cls``): every kind of
    value it tells apart, nested, as ``ImpExp.dump`` writes them."""
    from idpyoidc.impexp import ImpExp
    from idpyoidc.message import Message

    from oidc_provider.idpy.fast import impexp

    class Holder(ImpExp):
        parameter = {"d": {}, "l": [], "ld": {}, "s": "", "sb": "", "n": 0, "f": bool, "none": None}

    holder = Holder()
    holder.d = {
        "s": "x",
        "n": 1,
        "t": True,
        "z": None,
        "b": b"\x00\xff",
        "l": [b"y", {"class": "m.C", "k": [1, "2", b"z"]}, [[]]],
        "class": Message,
        "m": Message(a="b"),
        "upstream_get": print,
    }
    holder.l = ["s", 2, False, None, b"w", {"class": "m.D", "upstream_get": print, "x": {"y": b"v"}}, [[1]]]
    holder.ld, holder.s, holder.sb, holder.n, holder.f, holder.none = {"x": b"u"}, "BYTES:AP8=", "t", 7, True, {}
    assert impexp.dump(holder) == holder.dump()
    assert impexp.dump(holder)["d"]["b"] == "BYTES:AP8=" and "upstream_get" not in impexp.dump(holder)["l"][5]
    del holder.d["m"]  # dumped as the Message it is, which JSON cannot hold: no row has one
    data = json.loads(json.dumps(holder.dump()))
    assert vars(impexp.load(Holder, data)) == vars(Holder().load(data))
    assert impexp.load(Holder, data).s == b"\x00\xff" and impexp.load(Holder, data).d["l"][0] == b"y"
    holder.ld = [1]  # a list where a dict belongs: neither knows how to dump it
    with pytest.raises(AttributeError):
        holder.dump()
    with pytest.raises(AttributeError):
        impexp.dump(holder)


def test_quiet_dump_and_quick_load_are_idpyoidc_dump_and_load(offline_rp, browser, http):
    """Speed rewrite (idpy/fast/impexp.py): the session tree is dumped without ImpExp's debug f-strings,
    to the same output, and loaded without its init-argument handling, to the same objects."""
    from oidc_provider.idpy.fast import impexp
    from oidc_provider.idpy.node_codec import load_node
    from oidc_provider.models import SessionNode

    tokens = flows.offline_tokens(browser, http)
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200
    assert flows.exchange(http, tokens["access_token"]).status_code == 200
    flows.make_client("cc", "s3cret", "--grant-type", "client_credentials")
    assert flows.token_request(http, {"grant_type": "client_credentials"}, "cc").status_code == 200
    nodes = [load_node(row) for row in SessionNode.objects.all()]
    assert {type(n).__name__ for n in nodes} == {"UserSessionInfo", "ClientSessionInfo", "Grant"}
    issued = {t.token_class for n in nodes if hasattr(n, "issued_token") for t in n.issued_token}
    assert issued == {"authorization_code", "access_token", "refresh_token", "id_token"}
    for node in nodes:
        assert impexp.dump(node) == node.dump()
        assert impexp.dump(node, ["subordinate"]) == node.dump(exclude_attributes=["subordinate"])
        data = node.dump()
        quick, stock = impexp.load(type(node), data), type(node)().load(data)
        assert vars(quick).keys() == vars(stock).keys()
        for attr, value in vars(stock).items():
            if attr == "issued_token":
                assert [vars(t) for t in getattr(quick, attr)] == [vars(t) for t in value]
            elif attr != "id" or attr in data:  # an id not in the dump is a fresh uuid1
                assert getattr(quick, attr) == value, attr
        assert impexp.dump(quick) == data
        # nothing shared with the data: a unit of work compares a node's new dump with the data it
        # was loaded from, which a shared list or dict would change along with the node
        assert not _containers(vars(quick)) & _containers(data)


def writes(sql):
    """The writes in ``sql``, as "VERB table", a batch of them (``storage.write_batch``) part by part."""
    found = re.findall(r'(UPDATE|INSERT INTO) "oidc_provider_(\w+)"', " ".join(sql))
    return [f"{verb.split()[0]} {table}" for verb, table in found]


def grant_rows_read(sql):
    """How many session-tree keys each statement reading the tree asks for."""
    reads = [
        s for s in sql if s.startswith(("SELECT", "WITH")) and not writes([s]) and "oidc_provider_sessionnode" in s
    ]
    # a read of the grant's tokens in the same statement is not counted
    return [len(re.findall(r"'[^']*'", s.split("WHERE", 1)[1].split("oidc_provider_issuedtoken")[0])) for s in reads]


@pytest.mark.parametrize("name", ["Grant", "ExchangeGrant", "AccessToken", "IDToken", "UserSessionInfo"])
def test_a_node_is_loaded_into_what_its_constructor_makes(name):
    """Speed rewrite (idpy/fast/impexp.py ``_blank``): what a node is loaded into has the attributes its
    class's constructor gives, but the id and issue time the row has; and no container of its own is
    another's, as no two constructed nodes share one but those idpyoidc's constructor shares."""
    from idpyoidc.server.session import grant, info, token

    from oidc_provider.idpy.fast.impexp import _blank

    cls = next(getattr(m, name) for m in (grant, info, token) if hasattr(m, name))
    item = {"id": "0123456789abcdef0123456789abcdef", "issued_at": 1_000_000}
    blank, made, again = _blank(cls, item), cls(), cls()
    for obj in (blank, made):  # what the load then sets from the row
        vars(obj).update({k: v for k, v in item.items() if k in vars(made)})
    assert type(blank) is cls and vars(blank) == vars(made)
    if name.endswith("Grant"):  # its dump has no id (its key names it): a random one, each time
        ids = {_blank(cls, {"issued_at": 1}).id for _ in range(2)}
        assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    shared = _containers(vars(made)) & _containers(vars(again))
    assert not (_containers(vars(blank)) & _containers(vars(_blank(cls, item)))) - shared
    assert not (_containers(vars(blank)) & _containers(vars(made))) - shared


def _containers(value, found=None):
    """The ids of the dicts and lists in ``value`` (and in the objects it holds)."""
    found = set() if found is None else found
    if isinstance(value, (dict, list)):
        found.add(id(value))
        for item in value.values() if isinstance(value, dict) else value:
            _containers(item, found)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        _containers(vars(value), found)
    return found
