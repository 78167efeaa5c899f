"""The session engine ``oidc_provider.session_store``: Django's database sessions keyed by a keyed hash
of the browser's session key. The cookie's key finds its row; the row's key finds nothing."""

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends import db as django_db
from django.contrib.sessions.models import Session

from oidc_provider.crypto import session_key_digest
from oidc_provider.session_store import SessionStore

pytestmark = pytest.mark.django_db


def saved(**data):
    store = SessionStore()
    store.update(data)
    store.save()
    return store


def only_row():
    (row,) = Session.objects.all()
    return row


def test_the_row_is_keyed_by_a_keyed_hash_of_the_key():
    key = saved(user="alice").session_key
    row = only_row()
    assert row.session_key == session_key_digest(key) != key
    assert len(row.session_key) == 40 and row.session_key.isalnum() and row.session_key.islower()
    assert key not in f"{row.session_key} {row.session_data}"
    assert SessionStore(key).load() == {"user": "alice"} == row.get_decoded()
    assert SessionStore().exists(key) and not SessionStore().exists(row.session_key)


def test_the_key_in_the_row_opens_no_session():
    saved(user="alice")
    stolen = SessionStore(only_row().session_key)
    assert stolen.load() == {} and stolen.session_key is None
    assert "user" not in stolen


def test_the_hash_depends_on_the_secret(settings):
    before = session_key_digest("k" * 32)
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SECRET": "another"}
    assert session_key_digest("k" * 32) != before


def test_save_updates_the_same_row():
    store = saved(user="alice")
    store["n"] = 2
    store.save()
    assert only_row().get_decoded() == {"user": "alice", "n": 2}
    assert SessionStore(store.session_key)["n"] == 2


def test_cycle_key_moves_the_session_to_a_new_row():
    store = saved(user="alice")
    old = store.session_key
    store.cycle_key()
    assert store.session_key != old
    assert only_row().session_key == session_key_digest(store.session_key)
    assert SessionStore(store.session_key)["user"] == "alice"
    assert SessionStore(old).load() == {} and not SessionStore().exists(old)


def test_delete_and_flush_remove_the_row():
    first, second = saved(user="alice"), saved(user="bob")
    SessionStore().delete(first.session_key)
    assert only_row().session_key == session_key_digest(second.session_key)
    second.flush()
    assert not Session.objects.exists() and second.session_key is None
    SessionStore().delete()  # no key: nothing to do


def test_clear_expired_removes_expired_rows():
    expired = SessionStore()
    expired["user"] = "bob"
    expired.set_expiry(-1)
    expired.save()
    live = saved(user="carol")
    SessionStore.clear_expired()
    assert only_row().session_key == session_key_digest(live.session_key)


def test_a_row_written_by_djangos_db_engine_matches_no_cookie():
    """Switching engines signs everyone out once: the old rows hold raw keys."""
    old = django_db.SessionStore()
    old["user"] = "alice"
    old.save()
    assert SessionStore(old.session_key).load() == {}


def test_the_async_methods_hash_the_key():
    @async_to_sync
    async def run():
        store = SessionStore()
        await store.aset("user", "alice")
        await store.asave()
        key = store.session_key
        found = {
            "row": await Session.objects.aget(),
            "exists": await SessionStore().aexists(key),
            "loaded": await SessionStore(key).aload(),
        }
        await store.acycle_key()
        found |= {
            "cycled": await Session.objects.aget(),
            "old loads": await SessionStore(key).aload(),
            "new": store.session_key,
        }
        await SessionStore().adelete(store.session_key)
        found["left"] = await Session.objects.acount()
        stolen = SessionStore(session_key_digest(store.session_key))
        found |= {
            "stolen loads": await stolen.aload(),
            "stolen exists": await SessionStore().aexists(found["cycled"].session_key),
        }
        return key, found

    key, found = run()
    assert found["row"].session_key == session_key_digest(key) and found["exists"]
    assert found["loaded"] == {"user": "alice"}
    assert found["cycled"].session_key == session_key_digest(found["new"]) and found["new"] != key
    assert found["old loads"] == {} and found["left"] == 0
    assert found["stolen loads"] == {} and not found["stolen exists"]


def test_aflush_removes_the_row():
    store = saved(user="alice")
    async_to_sync(store.aflush)()
    assert not Session.objects.exists()
