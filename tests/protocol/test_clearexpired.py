"""``manage.py clearexpired``: what it removes, what it keeps, in batches, and that live sessions survive it."""

import datetime as dt
import io
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from idpyoidc.server.session.grant import Grant
from idpyoidc.server.session.info import ClientSessionInfo, UserSessionInfo

from oidc_provider import cleanup
from oidc_provider.crypto import token_digest
from oidc_provider.idpy import session_tree
from oidc_provider.idpy.session_tree import SessionTreeStore
from oidc_provider.models import (
    BackchannelLogoutFailure,
    Client,
    ClientAssertion,
    Consent,
    InitialAccessToken,
    IssuedToken,
    OPSession,
    PushedRequest,
    SessionNode,
)
from oidc_provider.storage.unit_of_work import current, unit_of_work
from tests import flows
from tests.concurrency import in_thread, postgresql_only

HOUR = dt.timedelta(hours=1)


def node(key, revoked=False, expires_at=None):
    parts = key.split(";;")
    kind = {1: SessionNode.USER, 2: SessionNode.CLIENT, 3: SessionNode.GRANT}[len(parts)]
    return SessionNode.objects.create(
        key=key,
        parent_key=";;".join(parts[:-1]),
        kind=kind,
        user_id=parts[0],
        client_id=parts[1] if len(parts) > 1 else "",
        class_name="x",
        data={},
        revoked=revoked,
        expires_at=expires_at,
    )


def keys():
    return set(SessionNode.objects.values_list("key", flat=True))


def test_expired_and_revoked_grants_go_live_ones_stay(db):
    now = timezone.now()
    for key in ("u", "u;;c"):
        node(key)
    node("u;;c;;expired", expires_at=now - HOUR)
    node("u;;c;;revoked", revoked=True, expires_at=now + HOUR)
    node("u;;c;;live", expires_at=now + HOUR)
    node("u;;c;;forever")
    assert cleanup.clear_expired()["grants"] == 2
    assert keys() == {"u", "u;;c", "u;;c;;live", "u;;c;;forever"}


def test_sessions_left_without_grants_go_in_the_same_run(db):
    now = timezone.now()
    for key in ("gone", "gone;;c1", "gone;;c2", "kept", "kept;;c1", "kept;;c2", "empty", "revoked"):
        node(key, revoked=key == "revoked")
    node("gone;;c1;;g", expires_at=now - HOUR)  # its client and user sessions end with it
    node("kept;;c1;;g", expires_at=now + HOUR)  # keeps kept;;c1 and kept; kept;;c2 goes
    counts = cleanup.clear_expired()
    assert keys() == {"kept", "kept;;c1", "kept;;c1;;g"}
    assert counts["grants"] == 1 and counts["client sessions"] == 3 and counts["user sessions"] == 3


@pytest.fixture
def other_rows(db):
    """One removable and one live row of every other kind clearexpired looks at; returns the live ones."""
    now = timezone.now()
    alice = get_user_model().objects.create_user("carol")
    bob = get_user_model().objects.create_user("bob")
    client = Client.objects.create(client_id="c")
    live = {
        "consent": Consent.objects.create(user=alice, client=client, scope="openid", expires_at=now + HOUR),
        "op": OPSession.objects.create(key="live", user_id="1", ended_at=now - HOUR),
        "op_open": OPSession.objects.create(key="open", user_id="1"),
        "iat": InitialAccessToken.mint(uses=1, expires_in=3600)[0],
        "iat_forever": InitialAccessToken.mint(uses=2)[0],
        "jti": ClientAssertion.objects.create(key="live", expires_at=now + HOUR),
        "failure": BackchannelLogoutFailure.objects.create(client_id="c", uri="https://rp/bc", attempts=3, error="x"),
        "par": PushedRequest.objects.create(digest="live", client_id="c", parameters={}, expires_at=now + HOUR),
    }
    PushedRequest.objects.create(digest="old", client_id="c", parameters={}, expires_at=now - HOUR)
    Consent.objects.create(user=bob, client=client, scope="openid", expires_at=now - HOUR)
    OPSession.objects.create(key="old", user_id="1", ended_at=now - dt.timedelta(weeks=3))  # > SESSION_COOKIE_AGE
    InitialAccessToken.mint(uses=0)
    InitialAccessToken.mint(uses=1, expires_in=1)[0].__class__.objects.filter(
        uses_left=1, expires_at__isnull=False
    ).exclude(pk=live["iat"].pk).update(expires_at=now - HOUR)
    ClientAssertion.objects.create(key="old", expires_at=now - HOUR)
    old = BackchannelLogoutFailure.objects.create(client_id="c", uri="https://rp/bc", attempts=3, error="x")
    BackchannelLogoutFailure.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=31))
    return live


def test_every_other_kind_of_expired_row_goes_and_live_ones_stay(other_rows):
    counts = cleanup.clear_expired()
    assert counts == {
        "grants": 0,
        "tokens": 0,
        "client sessions": 0,
        "user sessions": 0,
        "consents": 1,
        "ended OP sessions": 1,
        "initial access tokens": 2,
        "client assertions (jti)": 1,
        "pushed authorization requests": 1,
        "back-channel logout failures": 1,
    }
    remaining = {
        Consent: 1,
        OPSession: 2,
        InitialAccessToken: 2,
        ClientAssertion: 1,
        PushedRequest: 1,
        BackchannelLogoutFailure: 1,
    }
    for model, count in remaining.items():
        assert set(model.objects.all()) == {row for row in other_rows.values() if isinstance(row, model)}, model
        assert model.objects.count() == count


def test_failure_retention_is_a_setting(other_rows, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "BACKCHANNEL_LOGOUT_FAILURE_RETENTION": 0}
    assert cleanup.clear_expired()["back-channel logout failures"] == 2


def test_dry_run_counts_and_removes_nothing(other_rows):
    node("u;;c;;expired", expires_at=timezone.now() - HOUR)
    before = {model: model.objects.count() for model in (SessionNode, Consent, OPSession, InitialAccessToken)}
    out = io.StringIO()
    call_command("clearexpired", "--dry-run", stdout=out)
    assert "grants: would remove 1" in out.getvalue() and "consents: would remove 1" in out.getvalue()
    assert "total: would remove 8" in out.getvalue()
    assert before == {model: model.objects.count() for model in before}


@pytest.mark.parametrize("batch_size, statements", [(1, 5), (2, 3), (5, 1), (1000, 1)])
def test_grants_go_in_batches_of_one_transaction_each(db, batch_size, statements):
    for i in range(5):
        node(f"u;;c;;g{i}", expires_at=timezone.now() - HOUR)  # orphans, so only the grants' phase deletes
    node("u;;c;;live", expires_at=timezone.now() + HOUR)
    with CaptureQueriesContext(connection) as queries:
        assert cleanup.clear_expired(batch_size=batch_size)["grants"] == 5
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE") and "sessionnode" in q["sql"]]
    assert len(deletes) == statements
    assert keys() == {"u;;c;;live"}


def test_command_prints_counts_and_refuses_a_zero_batch(db):
    node("u;;c;;g", expires_at=timezone.now() - HOUR)
    out = io.StringIO()
    call_command("clearexpired", "--batch-size", "1", stdout=out)
    assert "grants: removed 1" in out.getvalue() and "total: removed 1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("clearexpired", "--batch-size", "0")


def test_live_tokens_keep_working_after_clearexpired(tokens, browser, http):
    SessionNode.objects.filter(kind=SessionNode.GRANT).update(expires_at=timezone.now() + HOUR)
    node("other;;rp1;;old", expires_at=timezone.now() - HOUR)
    counts = cleanup.clear_expired()
    assert counts["grants"] == 1 and counts["client sessions"] == 0 and counts["user sessions"] == 0
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200
    refreshed = flows.refresh(http, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    assert flows.introspect(http, refreshed.json()["access_token"]).json()["active"] is True
    assert flows.offline_tokens(browser, http)["access_token"]  # a new grant under the same sessions


def test_tokens_of_a_removed_grant_are_refused(tokens, http):
    SessionNode.objects.filter(kind=SessionNode.GRANT).update(expires_at=timezone.now() - HOUR)
    assert cleanup.clear_expired()["user sessions"] == 1 and not SessionNode.objects.exists()
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "invalid_grant"


def test_a_parent_removed_while_a_grant_is_added_under_it_is_recreated(db):
    """The race with clearexpired: a request loaded the user and client sessions, clearexpired deleted them
    (childless) before the request inserted its new grant; flush re-creates them from the identity map."""
    with unit_of_work():
        store = SessionTreeStore()
        store["7"] = UserSessionInfo(user_id="7")
        store["7;;c1"] = ClientSessionInfo(client_id="c1")
    assert cleanup.clear_expired()["user sessions"] == 1 and not SessionNode.objects.exists()  # childless: gone
    with unit_of_work():
        store = SessionTreeStore()
        store["7"], store["7;;c1"] = UserSessionInfo(user_id="7"), ClientSessionInfo(client_id="c1")
    with unit_of_work():
        store = SessionTreeStore()
        assert store["7"] and store["7;;c1"]  # loaded: in the identity map
        SessionNode.objects.filter(kind__in=[SessionNode.USER, SessionNode.CLIENT]).delete()  # clearexpired, meanwhile
        grant = Grant(scope=["openid"])
        store[f"7;;c1;;{grant.id}"] = grant
    assert keys() == {"7", "7;;c1", f"7;;c1;;{grant.id}"}
    with unit_of_work():
        assert SessionTreeStore()["7;;c1"].subordinate == [f"7;;c1;;{grant.id}"]


def test_expired_token_rows_go_and_live_ones_stay(tokens, http):
    """Tokens minted into an existing grant have rows of their own: clearexpired deletes the expired
    ones (here: every one but the latest access and refresh tokens, as an hour after a run of
    refreshes), in batches; the live ones keep working."""
    last = tokens
    for _ in range(5):
        last = flows.refresh(http, last["refresh_token"]).json()
    live = {token_digest(last["access_token"]), token_digest(last["refresh_token"])}
    assert IssuedToken.objects.count() == 12
    IssuedToken.objects.exclude(digest__in=live).update(expires_at=timezone.now() - HOUR)
    with CaptureQueriesContext(connection) as queries:
        assert cleanup.clear_expired(batch_size=4)["tokens"] == 10
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE") and "issuedtoken" in q["sql"]]
    assert len(deletes) == 3
    assert set(IssuedToken.objects.values_list("digest", flat=True)) == live
    assert flows.introspect(http, last["access_token"]).json()["active"] is True
    assert flows.refresh(http, last["refresh_token"]).status_code == 200


def test_the_tokens_of_a_removed_grant_go_in_the_same_run(tokens, http):
    flows.refresh(http, tokens["refresh_token"])
    assert IssuedToken.objects.count() == 4
    SessionNode.objects.filter(kind=SessionNode.GRANT).update(revoked=True)
    counts = cleanup.clear_expired()
    assert counts["grants"] == 1 and counts["tokens"] == 4 and not IssuedToken.objects.exists()


def sessions_without_grants():
    with unit_of_work():
        store = SessionTreeStore()
        store["7"], store["7;;c1"] = UserSessionInfo(user_id="7"), ClientSessionInfo(client_id="c1")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_clearexpired_deleting_a_parent_first_makes_the_request_recreate_it():
    """clearexpired holds the deleted client session (uncommitted) when a request flushes a new grant under
    it: the request waits on its FOR KEY SHARE, finds the row gone, and re-creates it."""
    sessions_without_grants()
    deleted, release = threading.Event(), threading.Event()

    def clearexpired_batch():
        with transaction.atomic():
            list(SessionNode.objects.select_for_update().filter(key="7;;c1"))
            SessionNode.objects.filter(key="7;;c1").delete()
            deleted.set()
            release.wait(10)

    with unit_of_work():
        store = SessionTreeStore()
        assert store["7;;c1"]
        grant = Grant(scope=["openid"])
        store[f"7;;c1;;{grant.id}"] = grant
        thread = in_thread(clearexpired_batch)
        assert deleted.wait(10)
        threading.Timer(0.3, release.set).start()  # the flush below blocks until then
    thread.join()
    assert keys() == {"7", "7;;c1", f"7;;c1;;{grant.id}"}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_clearexpired_skips_a_parent_a_request_is_adding_a_grant_under():
    """A request holds the client session (FOR KEY SHARE) and its new, uncommitted grant: clearexpired
    neither waits nor deletes the session."""
    sessions_without_grants()
    flushed, release = threading.Event(), threading.Event()
    grant = Grant(scope=["openid"])

    def request():
        with unit_of_work():
            store = SessionTreeStore()
            assert store["7;;c1"]
            store[f"7;;c1;;{grant.id}"] = grant
            session_tree.flush(current())
            flushed.set()
            release.wait(10)

    thread = in_thread(request)
    assert flushed.wait(10)
    started = time.monotonic()
    counts = cleanup.clear_expired()
    assert time.monotonic() - started < 5
    release.set()
    thread.join()
    assert counts["client sessions"] == 0 and counts["user sessions"] == 0
    assert keys() == {"7", "7;;c1", f"7;;c1;;{grant.id}"}
