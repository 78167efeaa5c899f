"""Speed rewrite of idpyoidc's ``AuthzHandling.usage_rules`` (not a defect fix).

``AuthzHandling.usage_rules`` deep-copies the whole usage-rules configuration for every
grant and every client-credentials token (``copy.deepcopy``: a few percent of a client-credentials
request's CPU). The rules are JSON-shaped (dicts, lists, numbers, strings): the same copy, made
without ``deepcopy``'s memo and dispatch. Measured (CPU median of 7 rounds of 20 000, this app's
rules): 7.8 µs stock, 2.7 µs here. tests/test_usage_rules.py compares it with the stock method."""

from idpyoidc.server.authz import AuthzHandling as IdpyAuthzHandling


def _copy(value):
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


class AuthzHandling(IdpyAuthzHandling):
    def usage_rules(self, client_id=""):
        """The stock method (a client's ``token_usage_rules`` over the configured ones) with ``_copy``."""
        rules = _copy(self.grant_config.get("usage_rules", {}))
        if not client_id:
            return rules
        try:
            per_client = self.upstream_get("context").cdb[client_id]["token_usage_rules"]
        except KeyError:
            return rules
        if not rules:
            return per_client
        for token_class, rule in rules.items():
            own = per_client.get(token_class)
            if own:
                rule.update(own)
            elif own == {}:
                rules[token_class] = {}
        for token_class, rule in per_client.items():
            rules.setdefault(token_class, rule)
        return rules
