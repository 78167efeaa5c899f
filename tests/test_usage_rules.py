"""Speed rewrite (idpy/fast/authz.py): the usage rules a grant gets are the stock method's, without
``copy.deepcopy``."""

import pytest
from idpyoidc.server.authz import AuthzHandling as IdpyAuthzHandling

from oidc_provider.idpy.fast.authz import AuthzHandling

CONFIG = {
    "authorization_code": {"supports_minting": ["access_token", "id_token"], "max_usage": 1, "expires_in": 600},
    "access_token": {"supports_minting": ["access_token"], "expires_in": 3600},
}


def handlers(config, clients):
    context = type("Context", (), {"cdb": clients})()
    upstream = {"context": context}.get
    grant_config = {"usage_rules": config} if config is not None else {}
    return IdpyAuthzHandling(upstream, grant_config=grant_config), AuthzHandling(upstream, grant_config=grant_config)


@pytest.mark.parametrize(
    "per_client",
    [
        None,  # the client has no rules of its own
        {"access_token": {"expires_in": 60}},  # one rule changed
        {"authorization_code": {}},  # a class the client may not have
        {"refresh_token": {"expires_in": 86400}},  # a class the configuration lacks
    ],
)
@pytest.mark.parametrize("config", [CONFIG, None])
@pytest.mark.parametrize("client_id", ["rp", "", "unknown"])
def test_the_same_rules_as_the_stock_method(config, per_client, client_id):
    client = {"client_id": "rp"} if per_client is None else {"client_id": "rp", "token_usage_rules": per_client}
    stock, ours = handlers(config, {"rp": client})
    assert ours.usage_rules(client_id) == stock.usage_rules(client_id)


def test_the_rules_are_a_copy():
    _, ours = handlers(CONFIG, {"rp": {"client_id": "rp"}})
    rules = ours.usage_rules("rp")
    rules["access_token"]["supports_minting"].append("refresh_token")
    rules["access_token"]["expires_in"] = 1
    assert CONFIG["access_token"] == {"supports_minting": ["access_token"], "expires_in": 3600}
