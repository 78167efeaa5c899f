"""Speed rewrite ``idpy/fast/code.py``: a signed-in user's ``code`` request answered without idpyoidc's
layers gets the grant, the code and the response the stock ``process_request`` gives it."""

import json
import time
from unittest import mock

import pytest
from idpyoidc.server.oauth2 import authorization as stock

from oidc_provider.idpy import node_codec
from oidc_provider.idpy.fast import code
from oidc_provider.storage.unit_of_work import GRANTS, unit_of_work
from oidc_provider.views.authorization import authorization_endpoint
from tests import flows

CASES = {
    "query": {},
    "no state": {"state": None},
    "form_post": {"response_mode": "form_post"},
    "fragment": {"response_mode": "fragment"},
    "plain OAuth 2.0": {"scope": "profile email", "nonce": None},
    "claims": {"claims": json.dumps({"userinfo": {"email": {"essential": True}}, "id_token": {"name": None}})},
    "scope not allowed": {"scope": "openid profile phone"},
    "resource and audience": {"resource": "https://api.example/", "audience": "rp2"},
    "max_age": {"max_age": "3600"},
}
# differ between any two grants, codes or responses
MADE_APART = {"id", "issued_at", "expires_at", "authentication_event", "issued_token", "authorization_request"}


def issued(endpoint, params, authn, answer):
    """``answer(endpoint, request, authn)``'s result and the grant it made."""
    parsed = endpoint.parse_request(params)
    result = answer(endpoint, parsed, authn)
    manager = endpoint.upstream_get("context").session_manager
    return result, manager[result["session_id"]], parsed


def fast(endpoint, parsed, authn):
    with mock.patch.object(code, "issue", wraps=code.issue) as issue:
        result = endpoint.process_request(parsed, http_info={}, authn=authn)
    assert issue.call_count == 1
    return result


def stock_method(endpoint, parsed, authn):
    return stock.Authorization.process_request(endpoint, parsed, http_info={}, authn=authn)


def token_fields(grant):
    (token,) = grant.issued_token
    return {k: v for k, v in vars(token).items() if k not in ("id", "value", "issued_at", "expires_at")}


@pytest.mark.parametrize("case", CASES)
def test_the_grant_code_and_response_are_the_stock_methods(rp, user, case):
    endpoint = authorization_endpoint()
    params = flows.auth_params(flows.pkce_pair()[1], **CASES[case])
    # one sign-in for both, so a second ticking over between them cannot tell them apart
    authn = {"uid": str(user.pk), "authn_time": int(time.time()) - 5}
    with unit_of_work(GRANTS):
        ours, mine, our_request = issued(endpoint, params, authn, fast)
        theirs, stocks, their_request = issued(endpoint, params, authn, stock_method)
        assert mine is not stocks
        # the stock method makes a session cookie too, which no response sends
        assert ours.keys() == theirs.keys() - {"cookie"}
        args, stock_args = ours.pop("response_args"), theirs.pop("response_args")
        assert args["code"] != stock_args["code"]
        assert type(args) is type(stock_args)
        assert {k: v for k, v in args.items() if k != "code"} == {k: v for k, v in stock_args.items() if k != "code"}
        assert {k: v for k, v in ours.items() if k != "session_id"} == {
            k: v for k, v in theirs.items() if k not in ("session_id", "cookie")
        }
        assert {k: v for k, v in vars(mine).items() if k not in MADE_APART} == {
            k: v for k, v in vars(stocks).items() if k not in MADE_APART
        }
        assert mine.authorization_request.to_dict() == stocks.authorization_request.to_dict()
        assert our_request.to_dict() == their_request.to_dict()  # defect 165's parameters dropped from both
        assert "resource" not in our_request and "audience" not in our_request
        event, stock_event = mine.authentication_event.to_dict(), stocks.authentication_event.to_dict()
        assert abs(event.pop("valid_until") - stock_event.pop("valid_until")) <= 1 and event == stock_event
        assert abs(mine.expires_at - stocks.expires_at) <= 1 and abs(mine.issued_at - stocks.issued_at) <= 1
        assert token_fields(mine) == token_fields(stocks)
        # and the rows written: the same but for ids, times and the code
        row, stock_row = node_codec.dump(mine), node_codec.dump(stocks)
        for data in (row, stock_row):
            for key in ("issued_at", "expires_at", "authentication_event"):
                data.pop(key)
            for token in data.pop("issued_token"):
                (fields,) = token.values()
                for key in ("id", "value", "issued_at", "expires_at"):
                    fields.pop(key)
                data.setdefault("tokens", []).append(token)
        assert row == stock_row


def test_a_login_asked_for_is_the_stock_methods(rp, user):
    endpoint = authorization_endpoint()
    parsed = endpoint.parse_request(flows.auth_params(flows.pkce_pair()[1], prompt="login"))
    authn = {"uid": str(user.pk), "authn_time": int(time.time()) - 5}
    with unit_of_work(GRANTS), mock.patch.object(code, "issue") as issue:
        result = endpoint.process_request(parsed, http_info={}, authn=authn)
    assert issue.call_count == 0 and "http_response" in result  # the login page, as the view asks for it


def test_another_response_type_is_the_stock_methods(rp, user, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "RESPONSE_TYPES": ["code", "code id_token"]}
    flows.make_client("hy", "s3cret", "--response-type", "code id_token")
    endpoint = authorization_endpoint()
    parsed = endpoint.parse_request(
        flows.auth_params(flows.pkce_pair()[1], client_id="hy", response_type="code id_token")
    )
    assert "error" not in parsed
    authn = {"uid": str(user.pk), "authn_time": int(time.time()) - 5}
    with unit_of_work(GRANTS), mock.patch.object(code, "issue") as issue:
        result = endpoint.process_request(parsed, http_info={}, authn=authn)
    assert issue.call_count == 0 and {"code", "id_token"} <= set(result["response_args"])


def test_a_refused_response_type_makes_no_grant(rp, user):
    """Defect 163's check (``refused_before_minting``), made before the grant here (the stock method refuses
    after making one)."""
    endpoint = authorization_endpoint()
    parsed = endpoint.parse_request(flows.auth_params(flows.pkce_pair()[1]))
    authn = {"uid": str(user.pk), "authn_time": int(time.time()) - 5}
    with unit_of_work(GRANTS) as unit, mock.patch.object(endpoint, "response_type_refusal") as refusal:
        refusal.return_value = ("unauthorized_client", "The client is not registered for this response_type")
        result = endpoint.process_request(parsed, http_info={}, authn=authn)
        assert dict(result["response_args"]) == {
            "error": "unauthorized_client",
            "error_description": "The client is not registered for this response_type",
            "state": "st-1",
        }
        assert not unit.nodes
