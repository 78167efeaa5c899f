"""Signing keys as rows: encryption at rest, the key jar every worker reloads, rotation, client keys."""

import datetime as dt
import io
import json
import threading
import time

import pytest
from cryptojwt.jws.exception import NoSuitableSigningKeys
from cryptojwt.jws.jws import factory as jws_factory
from cryptojwt.jwt import JWT
from cryptojwt.key_bundle import KeyBundle
from cryptojwt.key_jar import KeyJar
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from oidc_provider.crypto import PRIVATE_MEMBERS
from oidc_provider.idpy.keyjar import ProviderKeyJar
from oidc_provider.models import SigningKey
from oidc_provider.storage import keys as key_rows
from oidc_provider.storage.keys import create_signing_key, load_key_set, rotate_keys

ISSUER = "https://op.example"
ALGS = ["RS256", "PS256", "ES256", "EdDSA"]


def states():
    return sorted(SigningKey.objects.values_list("alg", "state"))


def kid_of(token):
    return jws_factory(token).jwt.headers["kid"]


def sign(keyjar, alg="RS256"):
    return JWT(keyjar, iss=ISSUER, sign_alg=alg, lifetime=60).pack({"sub": "x"}, recv="rp1")


def verify(keyjar, token):
    return JWT(keyjar, allowed_sign_algs=ALGS).unpack(token)


def current(alg="RS256"):
    return SigningKey.objects.get(alg=alg, state=SigningKey.CURRENT)


def later(seconds):
    return timezone.now() + dt.timedelta(seconds=seconds)


# --- rows ----------------------------------------------------------------------------------------


def test_migrate_gives_every_algorithm_a_current_and_a_next_key(db):
    assert states() == sorted((alg, state) for alg in ALGS for state in ("current", "next"))
    assert all(key.activated_at for key in SigningKey.objects.filter(state="current"))


def test_private_keys_are_encrypted_at_rest(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT kid, alg, public_jwk, private_jwk_encrypted FROM oidc_provider_signingkey")
        raw = cursor.fetchall()
    assert len(raw) == 8
    for kid, alg, public, encrypted in raw:
        public = json.loads(public) if isinstance(public, str) else public
        assert not PRIVATE_MEMBERS & set(public) and public["kid"] == kid
        # the ciphertext is base64 (no quotes): a bare "sig" may occur in it by chance, '"sig"' may not
        assert '"d"' not in encrypted and kid not in encrypted and '"sig"' not in encrypted
        private = json.loads(key_rows.crypto.decrypt_text(encrypted))
        assert private["kid"] == kid and private["alg"] == alg and private["d"]  # the private part is in there
        assert private["d"] not in encrypted


def test_keys_need_the_key_encryption_secret(db, settings):
    key = current()
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ENCRYPTION_SECRET": "another"}
    with pytest.raises(ValueError, match="KEY_ENCRYPTION_SECRET_FALLBACKS"):
        key_rows.crypto.decrypt_text(key.private_jwk_encrypted)
    assert load_key_set().signing == []  # published still, but cannot sign


def test_reencrypt_with_a_new_secret(db, settings):
    old = settings.OIDC_PROVIDER["KEY_ENCRYPTION_SECRET"]
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "KEY_ENCRYPTION_SECRET": "new",
        "KEY_ENCRYPTION_SECRET_FALLBACKS": [old],
    }
    assert len(load_key_set().signing) == 4  # the fallback decrypts
    assert key_rows.reencrypt_keys() == 8
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ENCRYPTION_SECRET_FALLBACKS": []}
    assert len(load_key_set().signing) == 4


def test_one_current_and_one_next_key_per_algorithm(db):
    for state in ("current", "next"):
        with pytest.raises(IntegrityError), transaction.atomic():
            create_signing_key("RS256", state)


def test_ensure_promotes_the_published_next_key(db):
    upcoming = SigningKey.objects.get(alg="ES256", state="next")
    current("ES256").delete()
    key_rows.ensure_signing_keys()
    assert current("ES256").kid == upcoming.kid
    assert SigningKey.objects.filter(alg="ES256", state="next").exclude(kid=upcoming.kid).exists()


# --- the key jar ------------------------------------------------------------------------------------


@pytest.fixture
def keyjar(db):
    return ProviderKeyJar(ISSUER, refresh_interval=60)


@pytest.mark.parametrize("alg", ALGS)
def test_each_algorithm_signs_with_its_current_key(keyjar, alg):
    token = sign(keyjar, alg)
    assert kid_of(token) == current(alg).kid
    assert verify(keyjar, token)["sub"] == "x"


def test_published_jwks_lists_every_key_without_private_members(keyjar):
    keys = json.loads(keyjar.published.body)["keys"]
    assert [k["kid"] for k in keys[:4]] == [current(alg).kid for alg in ALGS]  # current first
    assert {k["kid"] for k in keys} == set(SigningKey.objects.values_list("kid", flat=True))
    assert all(not PRIVATE_MEMBERS & set(k) and k["use"] == "sig" and k["alg"] for k in keys)


def test_published_keys_never_sign_whatever_their_order(keyjar):
    """Defect 15: cryptojwt signs with the first key of the right type, public-only or not."""
    retired = create_signing_key("RS256", SigningKey.RETIRED)
    keyjar._issuers[ISSUER]._bundles.insert(0, KeyBundle(keys=[dict(retired.public_jwk)]))
    assert kid_of(sign(keyjar)) == current().kid


def test_a_change_is_picked_up_after_the_interval_not_before(keyjar, django_assert_num_queries):
    now = [0.0]
    keyjar.clock = lambda: now[0]
    keyjar._next_check = 60.0
    old = current().kid
    rotate_keys(["RS256"], force=True)
    with django_assert_num_queries(0):
        assert kid_of(sign(keyjar)) == old  # within the interval: the loaded keys, no query
    now[0] = 60.0
    assert kid_of(sign(keyjar)) == current().kid  # reloaded in place on first use
    assert old in {k["kid"] for k in json.loads(keyjar.published.body)["keys"]}  # still published, retired


def test_an_unchanged_key_set_costs_one_small_query_per_interval(keyjar, django_assert_num_queries):
    keyjar.clock = lambda: 1000.0
    keyjar._next_check = 1000.0
    before = keyjar._issuers
    with django_assert_num_queries(3):  # savepoint, the (kid, state) select, release
        assert keyjar.refresh_if_due() is False
    with django_assert_num_queries(0):
        for _ in range(100):
            keyjar.refresh_if_due()
    assert keyjar._issuers is before


def test_tokens_signed_before_a_rotation_still_verify(keyjar):
    before = sign(keyjar, "ES256")
    rotate_keys(force=True)
    keyjar.reload()
    after = sign(keyjar, "ES256")
    assert kid_of(after) != kid_of(before)
    assert verify(keyjar, before)["sub"] == verify(keyjar, after)["sub"] == "x"


def test_a_removed_key_no_longer_verifies(keyjar):
    before = sign(keyjar)
    rotate_keys(["RS256"], force=True, retire_after=0)
    keyjar.reload()
    assert kid_of(before) not in keyjar.published.body
    with pytest.raises(NoSuitableSigningKeys):
        verify(keyjar, before)


def test_missing_current_key_is_recreated_on_refresh(keyjar):
    keyjar.clock = lambda: 10**9
    SigningKey.objects.filter(alg="EdDSA").delete()
    assert keyjar.refresh_if_due() is True
    assert kid_of(sign(keyjar, "EdDSA")) == current("EdDSA").kid


def test_an_unreadable_row_does_not_break_signing(keyjar, caplog):
    before = kid_of(sign(keyjar))
    broken = create_signing_key("ES256", SigningKey.RETIRED)
    SigningKey.objects.filter(pk=broken.pk).update(
        public_jwk={"kty": "EC", "kid": broken.kid, "crv": "P-256", "x": "!"}
    )
    assert keyjar.refresh_if_due(force=True) is False
    assert kid_of(sign(keyjar)) == before and "not reloaded" in caplog.text


def test_signing_during_reloads_from_other_threads(keyjar):
    """The swap is atomic: threads signing and verifying while another reloads never see a half-built jar."""
    key_sets = []
    for _ in range(3):
        rotate_keys(force=True)
        key_sets.append(load_key_set())
    every_key = KeyJar()
    every_key.import_jwks({"keys": [k for key_set in key_sets for k in key_set.published]}, ISSUER)
    errors, tokens, stop = [], [], threading.Event()

    def work():
        while not stop.is_set():
            try:
                for alg in ALGS:
                    token = sign(keyjar, alg)
                    tokens.append(token)
                    verify(every_key, token)
            except Exception as err:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(err))
                return

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for i in range(6):  # cycling back rebuilds the RSA keys (a check of ~50 ms each)
        keyjar.reload(key_sets[i % len(key_sets)])
        time.sleep(0.002)
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert len(tokens) > 8


# --- rotation --------------------------------------------------------------------------------------


def test_rotation_promotes_next_retires_current_and_publishes_a_new_next(db, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "JWKS_MAX_AGE": 3600, "KEYS_REFRESH_INTERVAL": 30}
    old, upcoming = current(), SigningKey.objects.get(alg="RS256", state="next")
    lines = rotate_keys(["RS256"], now=later(3700))
    old.refresh_from_db()
    assert current().kid == upcoming.kid
    assert (
        old.state == "retired"
        and old.retired_at
        and old.remove_after == old.retired_at + dt.timedelta(seconds=3600 + 30)
    )
    assert SigningKey.objects.filter(alg="RS256", state="next").exclude(kid=upcoming.kid).exists()
    assert any("promote" in line for line in lines)
    assert current("ES256").state == "current" and SigningKey.objects.filter(state="retired").count() == 1


def test_a_next_key_younger_than_the_jwks_cache_is_not_promoted(db, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "JWKS_MAX_AGE": 3600, "KEYS_REFRESH_INTERVAL": 30}
    before = states()
    lines = rotate_keys(["RS256"], now=later(60))
    assert states() == before and "--force" in lines[0]
    rotate_keys(["RS256"], now=later(60), force=True)
    assert ("RS256", "retired") in states()


def test_dry_run_changes_nothing(db):
    before = list(SigningKey.objects.values_list("kid", "state", "updated_at"))
    lines = rotate_keys(force=True, retire_after=0, dry_run=True)
    assert len(lines) >= 12 and list(SigningKey.objects.values_list("kid", "state", "updated_at")) == before


def test_if_due_rotates_only_old_keys(db, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ROTATION_PERIOD": 86400}
    SigningKey.objects.filter(alg="ES256", state="current").update(activated_at=later(-2 * 86400))
    old = current("ES256")
    rotate_keys(if_due=True)
    assert SigningKey.objects.get(kid=old.kid).state == "retired"
    assert SigningKey.objects.filter(state="retired").count() == 1


def test_retired_keys_are_removed_after_their_time(db):
    old = current()
    rotate_keys(["RS256"], force=True, retire_after=600)
    rotate_keys(["RS256"], now=later(300))
    assert SigningKey.objects.filter(kid=old.kid).exists()
    rotate_keys(["RS256"], now=later(601))
    assert not SigningKey.objects.filter(kid=old.kid).exists()


def test_forced_rotation_without_a_next_key(db):
    old = current("PS256")
    SigningKey.objects.filter(alg="PS256", state="next").delete()
    assert "publish a next key" in rotate_keys(["PS256"])[0]  # not forced: only publish ahead
    assert current("PS256").kid == old.kid
    SigningKey.objects.filter(alg="PS256", state="next").delete()
    rotate_keys(["PS256"], force=True)
    assert current("PS256").kid != old.kid and SigningKey.objects.get(kid=old.kid).state == "retired"


def test_an_algorithm_no_longer_offered_is_withdrawn(db, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SIGNING_ALGS": ["RS256", "ES256"]}
    rotate_keys(["EdDSA", "PS256"])
    assert dict(SigningKey.objects.filter(alg__in=["EdDSA", "PS256"]).values_list("alg", "state")) == {
        "EdDSA": "retired",
        "PS256": "retired",
    }


# --- client keys -----------------------------------------------------------------------------------


@pytest.fixture
def client_jwks_uri(settings):
    from cryptojwt.jwk.ec import new_ec_key

    from tests.jwks_server import JWKSServer

    settings.DEBUG = True  # http://127.0.0.1
    server = JWKSServer({"keys": [new_ec_key("P-256", kid="c1").serialize()]})
    yield server
    server.close()


def client_keys():
    from oidc_provider.storage.client_keys import ClientKeys

    return ClientKeys()


def test_jwks_uri_is_fetched_once_per_cache_period(client_jwks_uri, settings):
    keys = client_keys()
    info = {"jwks_uri": client_jwks_uri.url}
    assert [k.kid for k in keys.bundle(info).keys()] == ["c1"]
    keys.bundle(info)
    assert client_jwks_uri.fetches == 1
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_JWKS_CACHE_TTL": 0}
    keys = client_keys()
    keys.bundle(info)
    keys.bundle(info)
    assert client_jwks_uri.fetches == 3


@pytest.mark.parametrize("trouble", ["slow", "large", "redirect", "error", "not a jwks", "http without DEBUG"])
def test_jwks_uri_trouble_gives_no_keys(client_jwks_uri, settings, trouble):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_JWKS_TIMEOUT": 0.5, "CLIENT_JWKS_MAX_BYTES": 4096}
    if trouble == "slow":
        client_jwks_uri.delay = 1.5
    elif trouble == "large":
        client_jwks_uri.padding = 5000
    elif trouble == "redirect":
        client_jwks_uri.status = 302
    elif trouble == "error":
        client_jwks_uri.status = 500
    elif trouble == "not a jwks":
        client_jwks_uri.jwks = {"keys": "nope"}
    else:
        settings.DEBUG = False
    started = time.monotonic()
    keys = client_keys()
    assert keys.bundle({"jwks_uri": client_jwks_uri.url}) is None
    assert time.monotonic() - started < 1.4
    fetches = client_jwks_uri.fetches
    assert keys.bundle({"jwks_uri": client_jwks_uri.url}) is None  # a failure is remembered for a while
    assert client_jwks_uri.fetches == fetches


def test_client_keys_come_from_the_row_and_are_never_kept(keyjar, settings):
    from cryptojwt.jwk.ec import new_ec_key

    from oidc_provider.idpy.client_db import ClientDatabase
    from oidc_provider.models import Client
    from oidc_provider.storage.unit_of_work import unit_of_work

    keyjar.client_db = ClientDatabase()
    jwks = {"keys": [new_ec_key("P-256", kid="k1").serialize()]}
    Client.objects.create(client_id="c1", redirect_uris=["https://rp/cb"], jwks=jwks)
    with unit_of_work():
        assert [k.kid for k in keyjar.get_verify_key(issuer_id="c1")] == ["k1"]
        assert keyjar.get_verify_key(issuer_id="unknown") == []
        # what registration does in idpyoidc: import into the process's jar. It is not kept.
        keyjar.import_jwks({"keys": [new_ec_key("P-256", kid="k2").serialize()]}, "c1")
        keyjar.add_symmetric("c1", "a-secret")
    assert set(keyjar.owners()) == {"", ISSUER}
    Client.objects.filter(client_id="c1").update(jwks={"keys": [new_ec_key("P-256", kid="k3").serialize()]})
    with unit_of_work():
        assert [k.kid for k in keyjar.get_verify_key(issuer_id="c1")] == ["k3"]


def test_a_rotation_racing_another_plans_again(db, monkeypatch):
    """Another host's rotation commits a next key after this one read the rows (PostgreSQL shows it
    only to a new statement): the unique constraint refuses the duplicate, and the rotation plans
    again against the new state instead of failing."""
    real_create = key_rows.create_signing_key
    calls = []

    def create_as_if_raced(alg, state=SigningKey.CURRENT, now=None):
        calls.append(state)
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint oidc_one_next_key_per_alg")
        return real_create(alg, state, now)

    monkeypatch.setattr(key_rows, "create_signing_key", create_as_if_raced)
    SigningKey.objects.filter(alg="RS256", state="next").delete()  # this run will publish one
    lines = rotate_keys(["RS256"])
    assert calls == ["next", "next"] and lines == [
        "RS256: publish a next key; it can sign after 2 s (run rotatekeys again then)"
    ]
    assert sorted(SigningKey.objects.filter(alg="RS256").values_list("state", flat=True)) == ["current", "next"]


# --- manage.py rotatekeys ---------------------------------------------------------------------------


def test_rotatekeys_command(db):
    before = set(SigningKey.objects.values_list("kid", "state"))
    out = io.StringIO()
    call_command("rotatekeys", "--dry-run", "--alg", "ES256", "--force", stdout=out)
    assert "[dry run] ES256: promote" in out.getvalue() and "RS256" not in out.getvalue()
    assert set(SigningKey.objects.values_list("kid", "state")) == before
    call_command("rotatekeys", "--alg", "ES256", "--force", "--retire-after", "60", stdout=out)
    retired = SigningKey.objects.get(state="retired")
    assert retired.alg == "ES256" and (retired.remove_after - retired.retired_at).total_seconds() == 60
    out = io.StringIO()
    call_command("rotatekeys", "--reencrypt", stdout=out)
    assert "re-encrypted 9 key(s)" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("rotatekeys", "--retire-after", "-1")


def test_reencrypt_without_the_old_secret_is_a_clear_error(db, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ENCRYPTION_SECRET": "new"}
    with pytest.raises(CommandError, match="cannot decrypt"):
        call_command("rotatekeys", "--reencrypt", stdout=io.StringIO())


def test_rotatekeys_exits_non_zero_on_a_bad_algorithm():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "django", "rotatekeys", "--alg", "none"],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0 and "invalid choice" in result.stderr
