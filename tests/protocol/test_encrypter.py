"""Opaque tokens and session ids are AES-SIV encrypted (``idpy.fast.encrypter``); what was issued with
Fernet before keeps working."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken
from cryptojwt.jwe.fernet import FernetEncrypter
from idpyoidc.server.util import lv_pack
from idpyoidc.time_util import utc_time_sans_frac
from idpyoidc.util import rndstr

from oidc_provider.crypto import derive_key, expand_key, token_digest
from oidc_provider.idpy.fast.encrypter import SIVEncrypter
from oidc_provider.models import SessionNode
from tests import flows


def encrypter(purpose="token"):
    return SIVEncrypter(
        key=derive_key(f"siv:{purpose}", 64),
        previous_key=expand_key(f"siv:{purpose}", 64),
        legacy_key=expand_key(f"fernet:{purpose}"),
    )


def test_round_trip_and_shape(db):
    plain = lv_pack(rndstr(32), "access_token", "sid", "123").encode()
    sealed = encrypter().encrypt(plain)
    assert sealed[:1] == b"\x02" and len(sealed) == 1 + 16 + len(plain)
    assert encrypter().decrypt(sealed) == plain
    assert encrypter().encrypt(plain) == sealed  # deterministic: the random part keeps outputs unique


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s[:-1] + bytes([s[-1] ^ 1]),  # a flipped bit
        lambda s: s[:20],  # truncated
        lambda s: b"\x02",  # nothing but the version
    ],
)
def test_a_damaged_value_is_refused(db, damage):
    sealed = encrypter().encrypt(b"x" * 40)
    with pytest.raises((InvalidTag, ValueError)):
        encrypter().decrypt(damage(sealed))


def test_another_purposes_key_is_refused(db):
    with pytest.raises(InvalidTag):
        encrypter("refresh").decrypt(encrypter("token").encrypt(b"x" * 40))


def test_fernet_values_still_decrypt(db):
    legacy = FernetEncrypter(key=expand_key("fernet:token"))
    assert encrypter().decrypt(legacy.encrypt(b"a legacy token")) == b"a legacy token"
    with pytest.raises(InvalidToken):
        encrypter().decrypt(FernetEncrypter(key=os.urandom(32)).encrypt(b"a foreign token"))


def test_a_fernet_value_decrypts_only_as_fernet_spelt_it(db):
    """Fernet's decoder skips characters outside its alphabet and reads ``+`` and ``/`` too: a value issued
    before the switch answers to its one spelling (``idpy.fast.opaque``), as a new one does."""
    legacy = FernetEncrypter(key=expand_key("fernet:token"))
    sealed = next(v for v in iter(lambda: legacy.encrypt(b"a legacy token"), None) if b"-" in v or b"_" in v)
    assert encrypter().decrypt(sealed) == b"a legacy token"
    i = next(i for i, c in enumerate(sealed) if c in b"-_")
    for other in (sealed + b"\n", b"*" + sealed, sealed[:i] + {45: b"+", 95: b"/"}[sealed[i]] + sealed[i + 1 :]):
        with pytest.raises(ValueError):
            encrypter().decrypt(other)


def legacy_value(purpose, *parts):
    """A value as idpyoidc made it with Fernet: base64 of the encrypted length-value packing."""
    return base64.b64encode(
        FernetEncrypter(key=expand_key(f"fernet:{purpose}")).encrypt(lv_pack(*parts).encode())
    ).decode()


def test_an_access_token_issued_before_the_switch_still_works(tokens, http):
    """The row keeps the token as it was issued; a Fernet token holds a Fernet session id."""
    row = SessionNode.objects.get(kind=SessionNode.GRANT)
    session_id = legacy_value("session", rndstr(32), row.key)
    value = legacy_value("token", rndstr(32), "access_token", session_id, str(utc_time_sans_frac() + 600))
    old = token_digest(tokens["access_token"])
    flows.change_tokens(lambda token: token["value"] == old and token.update(value=token_digest(value)))
    assert flows.introspect(http, value).json()["active"] is True
    assert flows.userinfo(http, value).status_code == 200
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}


def test_tokens_are_shorter(tokens):
    assert len(tokens["access_token"]) < 400 and len(tokens["refresh_token"]) < 400  # Fernet: about 900
