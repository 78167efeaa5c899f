"""Opaque tokens are URL-safe base64 without padding (``idpy.fast.opaque``); tokens issued in standard
base64 before the switch keep working, and no token answers to a second spelling."""

import re
from unittest import mock

import pytest

from oidc_provider.crypto import token_digest
from tests import flows

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def standard(value):
    """``value`` as idpyoidc's ``DefaultToken`` spells the same bytes: standard base64, padded."""
    return value.translate(str.maketrans("-_", "+/")) + "=" * (-len(value) % 4)


def respelt(old_value, new_value):
    """Store the token ``old_value`` as if it had been issued as ``new_value``."""
    old = token_digest(old_value)

    def change(token):
        if token["value"] == old:
            token["value"] = token_digest(new_value)
        if token.get("based_on") == old:
            token["based_on"] = token_digest(new_value)

    flows.change_tokens(change)


def test_codes_and_tokens_are_url_safe_and_unpadded(offline_rp, browser, http):
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    body = flows.redeem(http, code, verifier).json()
    refreshed = flows.refresh(http, body["refresh_token"]).json()
    for value in (code, body["access_token"], body["refresh_token"], refreshed["refresh_token"]):
        assert URL_SAFE.match(value), value


def test_a_refresh_token_issued_in_standard_base64_still_refreshes(tokens, http):
    old = standard(tokens["refresh_token"])
    assert old != tokens["refresh_token"]  # at least its padding or one of + and /
    respelt(tokens["refresh_token"], old)
    body = flows.refresh(http, old).json()
    assert URL_SAFE.match(body["refresh_token"]) and flows.refresh(http, body["refresh_token"]).status_code == 200


def test_an_access_token_issued_in_standard_base64_still_works(tokens, http):
    old = standard(tokens["access_token"])
    respelt(tokens["access_token"], old)
    assert flows.introspect(http, old).json()["active"] is True
    assert flows.userinfo(http, old).status_code == 200
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}


def test_the_other_spelling_of_a_token_is_not_that_token(tokens, http):
    assert flows.introspect(http, standard(tokens["access_token"])).json() == {"active": False}
    assert flows.userinfo(http, standard(tokens["access_token"])).status_code == 401
    assert flows.introspect(http, tokens["access_token"]).json()["active"] is True


@pytest.mark.parametrize("presenter", ["rp1", "rp2"])
def test_the_other_spelling_of_a_refresh_token_is_refused_and_revokes_nothing(tokens, http, presenter):
    """It decrypts, as a rotated-out token does, but it is a token its grant holds, spelt otherwise: refused
    as no token, not revoking the family as a replay would. Presented by another client, the token as issued
    revokes nothing either."""
    flows.make_offline_client("rp2", "s3cret2")
    secret = {"rp1": "s3cret", "rp2": "s3cret2"}[presenter]
    response = flows.refresh(http, standard(tokens["refresh_token"]), client_id=presenter, secret=secret)
    assert response.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    assert flows.introspect(http, tokens["access_token"]).json()["active"] is True
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200


def test_the_other_spelling_of_a_rotated_out_token_is_still_a_replay(tokens, http):
    """The token it spells is no longer live: whoever holds it is replaying it (RFC 9700 §4.14.2)."""
    rotated = tokens["refresh_token"]
    successor = flows.refresh(http, rotated).json()["refresh_token"]
    with mock.patch("oidc_provider.idpy.refresh_token.oidc_settings.REFRESH_TOKEN_REUSE_WINDOW", 0):
        response = flows.refresh(http, standard(rotated))
    assert response.json()["error_description"] == "Refresh token reused: every token of this grant is revoked"
    assert flows.error_of(flows.refresh(http, successor)) == "invalid_grant"


def _two_alphabets(value):
    """``value`` with one of its ``-`` or ``_`` in the standard alphabet (the same bytes), another left as it is."""
    marks = [i for i, c in enumerate(value) if c in "-_"]
    i = marks[0]
    return value[:i] + {"-": "+", "_": "/"}[value[i]] + value[i + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        lambda v: v[:-1],
        lambda v: v + "A",
        lambda v: v + "=",  # padding a URL-safe value does not have: still the same bytes
        lambda v: v + "==",
        lambda v: "~" + v,  # skipped by the stock decoder: the same bytes
        lambda v: v[:10] + " " + v[10:],
        _two_alphabets,  # the same bytes, in no one spelling
    ],
)
def test_a_damaged_token_is_unknown_and_revokes_nothing(tokens, http, damage):
    for value in (tokens["access_token"], tokens["refresh_token"]):
        assert flows.introspect(http, damage(value)).json() == {"active": False}
    assert flows.error_of(flows.refresh(http, damage(tokens["refresh_token"]))) == "invalid_grant"
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200
