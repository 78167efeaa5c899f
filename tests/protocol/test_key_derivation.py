"""Keys come from HKDF-SHA256 (``crypto.derive_key``); what was derived before it, with the hand-made
expansion frozen below, still verifies, decrypts and is found."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.contrib.auth import get_user_model
from django.utils import timezone
from idpyoidc.server.util import lv_pack
from idpyoidc.time_util import utc_time_sans_frac
from idpyoidc.util import rndstr

from oidc_provider import crypto
from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client, InitialAccessToken, OPSession, SessionNode, SigningKey
from oidc_provider.session_store import SessionStore
from oidc_provider.storage.keys import load_key_set, reencrypt_keys
from tests import flows
from tests.protocol.test_registration import read, register


def old_derive_key(purpose: str, length: int = 32, secret: str = None) -> bytes:
    """``crypto.derive_key`` as it was before HKDF, frozen."""
    master = (secret if secret is not None else oidc_settings.SECRET).encode()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(master, block + purpose.encode() + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def old_hash_token(token, purpose):
    return "hmac-sha256$" + hmac.new(old_derive_key(purpose), token.encode(), hashlib.sha256).hexdigest()


def test_new_keys_are_hkdf_and_differ_from_the_old_ones(db):
    for purpose, length in (("siv:token", 64), ("client-secret", 32), ("salt:session", 16)):
        assert crypto.expand_key(purpose, length) == old_derive_key(purpose, length)
        assert crypto.derive_key(purpose, length) != old_derive_key(purpose, length)
    assert crypto.hash_client_secret("s3cret").startswith("hmac-sha256-hkdf$")
    assert crypto.hash_client_secret("s3cret") != old_hash_token("s3cret", "client-secret")


def test_a_client_secret_hashed_before_still_authenticates(tokens, http):
    Client.objects.filter(client_id="rp1").update(client_secret_hash=old_hash_token("s3cret", "client-secret"))
    assert flows.introspect(http, tokens["access_token"]).json()["active"] is True
    assert flows.introspect(http, tokens["access_token"], secret="wrong").status_code == 401


def test_an_initial_access_token_hashed_before_still_registers(http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "initial_access_token"}
    InitialAccessToken.objects.create(token_hash=old_hash_token("partner-token", "initial-access-token"))
    assert register(http, HTTP_AUTHORIZATION="Bearer partner-token").status_code == 201
    assert InitialAccessToken.objects.get().uses_left == 0
    assert InitialAccessToken.mint()[0].token_hash.startswith("hmac-sha256-hkdf$")


def test_a_registration_access_token_hashed_before_still_reads(db, http):
    body = register(http).json()
    old = old_hash_token(body["registration_access_token"], "registration-access-token")
    assert Client.objects.get(client_id=body["client_id"]).registration_access_token_hash != old
    Client.objects.filter(client_id=body["client_id"]).update(registration_access_token_hash=old)
    assert read(http, body["client_id"], body["registration_access_token"]).status_code == 200


def old_siv_value(purpose, *parts):
    """A value as the OP made it with AES-SIV before HKDF: version 1 and the old key, base64."""
    sealed = AESSIV(old_derive_key(f"siv:{purpose}", 64)).encrypt(lv_pack(*parts).encode(), None)
    return base64.b64encode(b"\x01" + sealed).decode()


def test_tokens_issued_before_still_work_and_new_ones_use_the_new_key(tokens, http):
    new = tokens["access_token"]
    assert base64.urlsafe_b64decode(new + "=" * (-len(new) % 4))[:1] == b"\x02"  # idpy.fast.opaque's spelling
    row = SessionNode.objects.get(kind=SessionNode.GRANT)
    session_id = old_siv_value("session", rndstr(32), row.key)
    value = old_siv_value("token", rndstr(32), "access_token", session_id, str(utc_time_sans_frac() + 600))
    old = crypto.token_digest(tokens["access_token"])
    flows.change_tokens(lambda token: token["value"] == old and token.update(value=crypto.token_digest(value)))
    assert flows.introspect(http, value).json()["active"] is True
    assert flows.userinfo(http, value).status_code == 200


def test_values_found_by_equality_keep_their_derivation(db):
    """Token digests, session key digests and the ``sub`` salt: rows are searched by the first two and
    relying parties keep ``sub``, so they are what they were."""
    mac = hmac.new(old_derive_key("tokens-at-rest"), b"a token", hashlib.sha256).digest()
    assert crypto.token_digest("a token") == "$" + base64.urlsafe_b64encode(mac).decode()[:43]
    mac = hmac.new(old_derive_key("django-session-keys-at-rest"), b"a session key", hashlib.sha256).digest()
    assert crypto.session_key_digest("a session key") == base64.b32encode(mac).decode().lower()[:40]


def test_a_browser_session_saved_before_still_loads(db):
    key = "k" * 32
    mac = hmac.new(old_derive_key("django-session-keys-at-rest"), key.encode(), hashlib.sha256).digest()
    store = SessionStore()
    store.model.objects.create(
        session_key=base64.b32encode(mac).decode().lower()[:40],
        session_data=store.encode({"k": "v"}),
        expire_date=timezone.now() + timedelta(hours=1),
    )
    assert SessionStore(key).load() == {"k": "v"}


def test_the_public_sub_is_what_it_was(tokens):
    user = get_user_model().objects.get(username="alice")
    salt = base64.b64encode(old_derive_key("salt:session", 16)).decode()
    assert flows.jwt_claims(tokens["id_token"])["sub"] == hashlib.sha256(f"{user.pk}{salt}".encode()).hexdigest()


def test_signing_keys_encrypted_before_still_load_and_reencrypt_to_hkdf(db):
    secret = oidc_settings.KEY_ENCRYPTION_SECRET
    old = Fernet(base64.urlsafe_b64encode(old_derive_key("signing-keys-at-rest", secret=secret)))
    for row in SigningKey.objects.all():
        row.private_jwk_encrypted = old.encrypt(crypto.decrypt_text(row.private_jwk_encrypted).encode()).decode()
        row.save()
    assert len(load_key_set().signing) == 4
    assert reencrypt_keys() == 8
    new = Fernet(base64.urlsafe_b64encode(crypto.derive_key("signing-keys-at-rest", secret=secret)))
    for row in SigningKey.objects.all():
        assert json.loads(new.decrypt(row.private_jwk_encrypted.encode()))["kid"] == row.kid


def test_an_op_session_made_before_is_the_one_a_later_authorization_joins(rp, browser):
    """Concurrent first authorizations of one login meet in one OP session because its key is derived
    from the Django session's: one made by a process still on the old derivation is the same one."""
    session_key = browser.session.session_key
    old_key = hmac.new(old_derive_key("op-session"), session_key.encode(), hashlib.sha256).hexdigest()
    OPSession.objects.create(key=old_key, user_id=str(get_user_model().objects.get(username="alice").pk))
    flows.get_code(browser)
    assert list(OPSession.objects.values_list("key", flat=True)) == [old_key]
    assert SessionNode.objects.get(kind=SessionNode.GRANT).op_session == old_key
