"""The per-process client-row cache (``CLIENT_CACHE_TTL``, storage/clients.py): off by default; when
on, a client's row is reused across requests for at most the bound, after which a change made
anywhere (here: ``QuerySet.update``, which no signal reports, as a change made by another process)
is seen; a save through the ORM in this process is seen at once; unknown and disabled clients are
never kept."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oidc_provider.models import Client
from oidc_provider.storage import clients as client_rows
from oidc_provider.storage.rows import get_row
from tests import flows

TTL = 30
CC = {"grant_type": "client_credentials"}


class Clock:
    """``time.monotonic`` of storage/clients.py, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    clock = Clock()
    with mock.patch.object(client_rows.time, "monotonic", clock):
        yield clock


@pytest.fixture
def cached(settings, clock):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_CACHE_TTL": TTL}
    client_rows.forget()
    yield clock
    client_rows.forget()


@pytest.fixture
def cc(db):
    flows.make_client("cc", "s3cret", "--grant-type", "client_credentials")
    return "cc"


def client_reads(run):
    """``run()``'s response and how many statements read the client table."""
    with CaptureQueriesContext(connection) as captured:
        response = run()
    table = Client._meta.db_table
    return response, sum(1 for q in captured.captured_queries if q["sql"].startswith("SELECT") and table in q["sql"])


def token(http, secret="s3cret"):
    return flows.token_request(http, CC, "cc", secret)


def test_off_by_default_every_request_reads_the_client(cc, http):
    for _ in range(3):
        response, reads = client_reads(lambda: token(http))
        assert response.status_code == 200 and reads == 1
    assert client_rows._cache == {}


def test_within_the_bound_the_row_is_reused_and_is_the_row_the_database_holds(cc, cached, http):
    response, reads = client_reads(lambda: token(http))
    assert response.status_code == 200 and reads == 1
    cached.now += TTL - 1
    for _ in range(2):
        response, reads = client_reads(lambda: token(http))
        assert response.status_code == 200 and reads == 0
    kept, stock = client_rows._cache["cc"][1], get_row(Client, client_id="cc", is_active=True)
    for field in Client._meta.concrete_fields:
        assert getattr(kept, field.attname) == getattr(stock, field.attname), field.name


def test_a_client_disabled_elsewhere_is_refused_once_the_bound_has_passed(cc, cached, http):
    assert token(http).status_code == 200
    Client.objects.filter(client_id="cc").update(is_active=False)  # no signal: as another process
    cached.now += TTL - 0.001
    assert token(http).status_code == 200  # served from the cache: the bound is what is promised
    cached.now += 0.001
    assert flows.error_of(token(http), 401) == "invalid_client"
    assert "cc" not in client_rows._cache
    cached.now += 1  # and not kept as missing either: re-enabled, it works at once
    Client.objects.filter(client_id="cc").update(is_active=True)
    assert token(http).status_code == 200


def test_a_new_secret_elsewhere_replaces_the_old_within_the_bound(cc, cached, http):
    assert token(http).status_code == 200
    client = Client.objects.get(client_id="cc")
    client.set_secret("n3w-secret")
    Client.objects.filter(client_id="cc").update(**{f: getattr(client, f) for f in secret_fields(client)})
    cached.now += TTL
    assert flows.error_of(token(http), 401) == "invalid_client"
    assert token(http, "n3w-secret").status_code == 200


def secret_fields(client):
    return [f.attname for f in Client._meta.concrete_fields if "secret" in f.name]


@pytest.mark.parametrize("change", ["disable", "new secret", "delete"])
def test_a_change_saved_in_this_process_applies_at_once(cc, cached, http, change):
    assert token(http).status_code == 200
    client = Client.objects.get(client_id="cc")
    if change == "disable":
        client.is_active = False
        client.save()
    elif change == "new secret":
        client.set_secret("n3w-secret")
        client.save()
    else:
        client.delete()
    assert flows.error_of(token(http), 401) == "invalid_client"
    if change == "new secret":
        assert token(http, "n3w-secret").status_code == 200


def test_unknown_client_ids_are_not_kept(db, cached, http):
    response = flows.token_request(http, CC, "later", "s3cret")
    assert flows.error_of(response, 401) == "invalid_client"
    assert client_rows._cache == {}
    flows.make_client("later", "s3cret", "--grant-type", "client_credentials")
    assert flows.token_request(http, CC, "later", "s3cret").status_code == 200


def test_the_cache_holds_a_bounded_number_of_rows(db, cached, http):
    for name in ("a", "b", "c"):
        flows.make_client(name, "s3cret", "--grant-type", "client_credentials")
    with mock.patch.object(client_rows, "CACHE_MAX", 2):
        for name in ("a", "b", "c"):
            assert flows.token_request(http, CC, name, "s3cret").status_code == 200
            assert len(client_rows._cache) <= 2
    assert "c" in client_rows._cache


def test_a_settings_change_empties_the_cache(cc, cached, http, settings):
    assert token(http).status_code == 200 and "cc" in client_rows._cache
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_CACHE_TTL": TTL + 1}
    assert client_rows._cache == {}


def test_the_kept_client_dict_is_never_written_into(offline_rp, cached, browser, http):
    """``idpy.client_db.idpy_info``: a kept row's idpyoidc dict is made once and each request gets a shallow
    copy, so nothing any endpoint does may write into what the copies share."""
    from oidc_provider.idpy.client_db import _IDPY_INFO, client_to_idpy

    tokens = flows.offline_tokens(browser, http)
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200
    assert flows.introspect(http, tokens["access_token"]).json()["active"] is True
    assert flows.exchange(http, tokens["access_token"]).status_code == 200
    kept = client_rows._cache["rp1"][1]
    assert kept.__dict__[_IDPY_INFO] == client_to_idpy(get_row(Client, client_id="rp1"))
    assert "auth_method" not in kept.__dict__[_IDPY_INFO]  # idpyoidc wrote it into a request's copy
