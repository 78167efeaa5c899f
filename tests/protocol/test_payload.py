"""``idpy.fast.payload``: no ``payload_arguments`` for a token whose handler drops them (a speed
rewrite): the tokens are the ones idpyoidc mints with the payload, and a JWT still gets it whole."""

from unittest import mock

import pytest
from idpyoidc.server.session.grant import Grant as IdpyGrant

from oidc_provider.idpy.fast.opaque import OpaqueToken
from oidc_provider.idpy.fast.payload import carries_payload
from oidc_provider.idpy.grant_tokens import Grant
from oidc_provider.idpy.tokens import find_token
from oidc_provider.models import Client
from oidc_provider.server import get_server
from oidc_provider.storage.unit_of_work import unit_of_work
from tests import flows

OPAQUE = ["authorization_code", "refresh_token", "access_token"]


@pytest.fixture
def loaded(offline_rp, browser, http):
    """The refresh token's grant, as a request reads it (this module's ``Grant``), in a unit of work."""
    tokens = flows.offline_tokens(browser, http)
    with unit_of_work():
        info, token = find_token(get_server().context, tokens["refresh_token"])
        assert type(info["grant"]) is Grant
        yield info, token


@pytest.mark.parametrize("token_class", OPAQUE)
def test_an_opaque_token_is_the_token_minted_with_the_stock_payload(loaded, token_class):
    info, _ = loaded
    context = get_server().context
    handler = context.session_manager.token_handler.handler[token_class]
    grant, sid = info["grant"], info["branch_id"]
    item = grant.token_map[token_class](token_class=token_class)
    assert not carries_payload(handler, sid)
    assert grant.payload_arguments(sid, context, item, token_class) == {}
    stock = IdpyGrant.payload_arguments(grant, sid, context, item, token_class)
    assert stock["jti"] and stock["scope"]  # what is skipped is not nothing
    with_payload, without = handler(session_id=sid, **stock), handler(session_id=sid)
    assert with_payload != without  # fresh random parts: compare what they carry
    carried, bare = handler.info(with_payload), handler.info(without)
    assert abs(int(carried.pop("exp")) - int(bare.pop("exp"))) <= 1  # whole seconds: a tick may pass between
    for info_of in (carried, bare):
        del info_of["_id"]  # the random part
    assert carried == bare and bare["token_class"] == token_class and bare["sid"] == sid


def test_the_handlers_that_carry_a_payload(loaded):
    info, _ = loaded
    handlers = get_server().context.session_manager.token_handler.handler
    assert type(handlers["authorization_code"]) is OpaqueToken  # whose __call__ is DefaultToken's, re-spelt
    assert not carries_payload(handlers["authorization_code"], info["branch_id"])
    assert not carries_payload(handlers["refresh_token"], info["branch_id"])
    assert carries_payload(handlers["id_token"], info["branch_id"])
    Client.objects.filter(client_id="rp1").update(access_token_format="jwt")
    assert carries_payload(handlers["access_token"], info["branch_id"])


def test_a_new_grant_is_this_modules_and_its_code_computes_no_payload(rp, user, browser, http):
    """An authorization makes its grant of ``grant_tokens.Grant`` too (``idpy.session_manager``
    ``add_grant``), so the code minted with it computes no payload; the code still redeems."""
    made, original = [], IdpyGrant.payload_arguments

    def stock(grant, session_id, context, item, *args, **kwargs):
        made.append((type(grant), item.token_class))
        return original(grant, session_id, context, item, *args, **kwargs)

    with mock.patch.object(IdpyGrant, "payload_arguments", autospec=True, side_effect=stock):
        code, verifier = flows.get_code(browser)
        assert made == []  # a code: nothing computed
        assert flows.redeem(http, code, verifier).status_code == 200
    assert made == [(Grant, "id_token")]  # the redemption's ID token, minted by the grant read back


def test_a_refreshed_jwt_access_token_has_the_claims_of_the_first(offline_rp, browser, http):
    """The first access token is minted at the redemption, the refreshed one at the refresh, each by
    the grant read from its row: the same claims, but for the times and the ``jti``."""
    Client.objects.filter(client_id="rp1").update(access_token_format="jwt")
    tokens = flows.offline_tokens(browser, http)
    refreshed = flows.refresh(http, tokens["refresh_token"]).json()
    first, second = flows.jwt_claims(tokens["access_token"]), flows.jwt_claims(refreshed["access_token"])
    varying = {"iat", "exp", "jti"}
    assert {k: v for k, v in first.items() if k not in varying} == {k: v for k, v in second.items() if k not in varying}
    assert set(first) == set(second) and first["jti"] != second["jti"]
