"""Tokens minted into an existing grant have rows of their own (``idpy/grant_tokens.py``,
``storage/token_rows.py``): a request reads its grant with the token it presents, never the grant's
other tokens, unless it walks them all; revoking them all is one statement."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from oidc_provider.crypto import token_digest
from oidc_provider.idpy.grant_tokens import TokenList
from oidc_provider.idpy.session_tree import SessionTreeStore
from oidc_provider.idpy.tokens import find_token
from oidc_provider.models import IssuedToken, SessionNode
from oidc_provider.server import get_server
from oidc_provider.storage.token_values import StoredValue
from oidc_provider.storage.unit_of_work import unit_of_work
from tests import flows


def rotate(http, tokens, times):
    for _ in range(times):
        tokens = flows.refresh(http, tokens["refresh_token"]).json()
    return tokens


def grant_key():
    return SessionNode.objects.get(kind=SessionNode.GRANT).key


def token_statements(captured, verb):
    """The reads of token rows (``SELECT``), or their writes, counted part by part in a batch of writes
    (``storage.write_batch``: one statement on PostgreSQL)."""
    sql = [q["sql"] for q in captured.captured_queries]
    if verb == "SELECT":
        return [s for s in sql if s.startswith(verb) and "issuedtoken" in s]
    return [part for s in sql for part in re.findall(rf'{verb}(?: INTO)? "oidc_provider_issuedtoken"', s)]


def test_a_grant_read_for_a_token_holds_it_its_parent_and_its_own_rows_tokens_only(tokens, http):
    last = rotate(http, tokens, 3)
    assert IssuedToken.objects.count() == 8
    with unit_of_work():
        info, token = find_token(get_server().context, last["refresh_token"])
        held = info["grant"].issued_token.in_memory()
        # the code the grant was made with and its latest ID token (its row), the token, its parent
        assert sorted(t.token_class for t in held) == [
            "authorization_code",
            "id_token",
            "refresh_token",
            "refresh_token",
        ]
        parent = info["grant"].get_token(token.based_on)
        assert parent in held and parent.revoked and not token.revoked


def test_a_token_not_read_with_its_grant_costs_one_statement_and_a_miss_one(tokens, http, django_assert_num_queries):
    with unit_of_work():
        grant = SessionTreeStore()[grant_key()]
        assert isinstance(grant.issued_token, TokenList)
        with django_assert_num_queries(1):
            assert grant.get_token(tokens["access_token"]).token_class == "access_token"
        with django_assert_num_queries(1):
            assert grant.get_token("not-a-token") is None
        with django_assert_num_queries(0):
            assert grant.get_token("not-a-token") is None and grant.get_token(tokens["access_token"])


def test_walking_every_token_reads_them_all_in_the_order_they_were_issued(tokens, http):
    rotate(http, tokens, 2)
    with unit_of_work():
        grant = SessionTreeStore()[grant_key()]
        walked = list(grant.issued_token)
    # the code, the ID token, an access and a refresh token at the redemption and at each refresh
    assert len(walked) == len(flows.stored_tokens()) == 1 + 1 + 2 + 2 * 2
    assert [t.issued_at for t in walked] == sorted(t.issued_at for t in walked)
    assert walked[0].token_class == "authorization_code"


def test_revoking_every_token_of_a_grant_is_one_statement(tokens, http):
    last = rotate(http, tokens, 3)
    with CaptureQueriesContext(connection) as captured, unit_of_work():
        SessionTreeStore()[grant_key()].revoke_token()
    assert len(token_statements(captured, "UPDATE")) == 1 and not token_statements(captured, "SELECT")
    assert not IssuedToken.objects.filter(revoked=False).exists()
    assert all(t["revoked"] for t in flows.stored_tokens() if t["token_class"] != "id_token")
    assert flows.userinfo(http, last["access_token"]).status_code == 401


def test_a_replayed_code_revokes_what_was_minted_from_it_with_one_update(offline_rp, browser, http):
    """RFC 6749 §4.1.2: idpyoidc's recursive revoke_token walks every token; they are written back
    revoked by one statement, not one each."""
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    last = rotate(http, flows.redeem(http, code, verifier).json(), 3)
    with CaptureQueriesContext(connection) as captured:
        assert flows.error_of(flows.redeem(http, code, verifier)) == "invalid_grant"
    assert len(token_statements(captured, "UPDATE")) == 1
    assert not IssuedToken.objects.filter(revoked=False).exists()
    assert flows.userinfo(http, last["access_token"]).status_code == 401
    assert flows.error_of(flows.refresh(http, last["refresh_token"])) == "invalid_grant"


def test_a_token_revoked_since_it_was_read_stays_revoked(tokens, http):
    """A request that read a token (without the grant's lock) and changed it writes it back without
    undoing a revocation committed meanwhile (``storage.token_rows.update_sql``)."""
    with unit_of_work():
        grant = SessionTreeStore()[grant_key()]
        token = grant.get_token(tokens["access_token"])
        IssuedToken.objects.filter(digest=token_digest(tokens["access_token"])).update(revoked=True)  # meanwhile
        token.used += 1
    row = IssuedToken.objects.get(digest=token_digest(tokens["access_token"]))
    assert row.revoked and row.used == token.used
    assert flows.userinfo(http, tokens["access_token"]).status_code == 401


def test_a_token_of_another_grant_is_never_taken_for_this_ones(tokens, browser, http):
    other = flows.offline_tokens(browser, http)
    keys = list(SessionNode.objects.filter(kind=SessionNode.GRANT).values_list("key", flat=True))
    mine = IssuedToken.objects.get(digest=token_digest(tokens["access_token"])).grant_key
    [elsewhere] = [key for key in keys if key != mine]
    with unit_of_work():
        assert SessionTreeStore()[elsewhere].get_token(tokens["access_token"]) is None
        assert SessionTreeStore()[elsewhere].get_token(other["access_token"]) is not None


def test_a_grant_read_from_rows_answers_as_idpyoidcs_grant_holding_every_token(tokens, http):
    """Speed rewrite (idpy/grant_tokens.py): ``get_token``, ``find_scope``, ``last_issued_token_of_type``
    and ``revoke_token`` of a grant that reads its tokens as asked give what idpyoidc's ``Grant`` gives
    with all of them in its list."""
    from idpyoidc.server.session.grant import Grant

    rotate(http, tokens, 3)
    key = grant_key()
    with unit_of_work():
        everything = SessionTreeStore()[key].dump()  # walks the list: every token read
    values = [t["value"] for item in everything["issued_token"] for t in item.values()]
    assert len(values) == 1 + 1 + 2 + 3 * 2

    def stock():
        return Grant().load(everything)

    def ours():
        return SessionTreeStore()[key]

    with unit_of_work():
        for value in values:
            if value.startswith("#"):  # an ID token's, never presented: stored as a reference to itself
                continue
            grant, reference = ours(), stock()
            found, expected = grant.get_token(StoredValue(value)), reference.get_token(value)
            assert found.id == expected.id
            assert grant.find_scope(found) == reference.find_scope(expected)
            assert grant.find_scope(found.based_on) == reference.find_scope(expected.based_on)
    for token_class in ("authorization_code", "access_token", "refresh_token", "id_token"):
        with unit_of_work():
            assert ours().last_issued_token_of_type(token_class).id == (
                stock().last_issued_token_of_type(token_class).id
            )
    code = values[0]
    reference = stock()
    reference.revoke_token(based_on=code, recursive=True)
    expected = {t.id: t.revoked for t in reference.issued_token}
    with unit_of_work():
        grant = ours()
        grant.revoke_token(based_on=StoredValue(code), recursive=True)
        assert {t.id: t.revoked for t in grant.issued_token} == expected
    with unit_of_work():  # as written (the grant's row keeps no revoked ID token)
        assert {t.id: t.revoked for t in ours().issued_token if t.token_class != "id_token"} == {
            t.id: t.revoked for t in reference.issued_token if t.token_class != "id_token"
        }
