"""Speed rewrite: the code response to a signed-in user's authorization request, without idpyoidc's layers.

For such a request idpyoidc's ``process_request`` makes the grant (``setup_auth``, ``create_session``,
``create_grant``: its ``uuid1`` id drawn and discarded, its usage rules copied), looks it up again to
authorize it (``AuthzHandling``: the rules copied again, the claims), stores it again (``set``), looks it
up again to mint the code (``create_authn_response``) and makes a session cookie that nothing sends (the
site's login is the OP's session). Here the grant is made once with its final attributes, then the
response is what the stock method answers, made as it makes it. ``idpy.authorization.Authorization``
sends here only what this module covers: a ``code`` request, of a user the site's login has
(``signed_in``), with session management off. ``tests/protocol/test_code_issuance.py`` compares the
grant, the response and the row with the stock method's.
"""

from idpyoidc.exception import ParameterError
from idpyoidc.server.exception import InvalidRequest, RedirectURIError
from idpyoidc.server.oauth2.authorization import get_uri
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.idpy import grant_tokens
from oidc_provider.idpy.authn import authn_event
from oidc_provider.idpy.fast.impexp import new_grant


def make_grant(context, request, picked, identity, authn_time):
    """The grant ``create_session`` makes and ``AuthzHandling`` then authorizes (idpyoidc 5.0.0), in one go."""
    manager = context.session_manager
    client_id, uid = request["client_id"], identity["uid"]
    grant = new_grant(grant_tokens.Grant)
    grant.issued_at = utc_time_sans_frac()
    grant.authorization_request = request
    grant.authentication_event = authn_event(uid, picked["acr"], authn_time, picked["method"])
    grant.sub = manager.client_sub(uid, client_id)
    grant.remember_token, grant.remove_inactive_token = manager.remember_token, manager.remove_inactive_token
    for key, value in context.authz.grant_config.items():  # AuthzHandling.__call__ from here
        if key == "expires_in":
            grant.set_expires_at(value)
        elif key == "usage_rules":
            grant.usage_rules = context.authz.usage_rules(client_id)
        else:
            setattr(grant, key, value)
    grant.resources = [client_id]
    scope = request.get("scope") or []
    grant.scope = context.scopes_handler.filter_scopes(scope, client_id=client_id) if scope else []
    grant.claims = context.claims_interface.get_claims_all_usage_from_request(request, grant.scope)
    return grant


def issue(endpoint, request, picked, identity, authn_time) -> dict:
    """What the stock ``process_request`` answers to ``request`` (checked by the stock steps before it)
    for the user ``signed_in`` found: ``picked`` (its authentication method), ``identity``, ``authn_time``.
    An exception is answered as ``authz_part2`` answers one."""
    try:
        return _issue(endpoint, request, picked, identity, authn_time)
    except Exception as err:
        return endpoint.error_by_response_mode({}, request, "server_error", err)


def _issue(endpoint, request, picked, identity, authn_time):
    context = endpoint.upstream_get("context")
    client_id = request["client_id"]
    refused = endpoint.refused_before_minting(request)  # before the grant: none is made for nothing
    if refused:
        return refused
    grant = make_grant(context, request, picked, identity, authn_time)
    if grant.is_active() is False:
        return endpoint.error_response({}, request, "server_error", "Grant not usable")
    session_id = context.session_manager.store_new_grant([identity["uid"], client_id], grant)
    code = endpoint.mint_token(token_class=grant_tokens.AUTHORIZATION_CODE, grant=grant, session_id=session_id)
    args = endpoint.response_cls()
    if request.get("state"):
        args["state"] = request["state"]
    # sic: the stock response's scope, from a set of the requested ones
    args["scope"] = context.scopes_handler.filter_scopes(list(set(request.get("scope") or [])), client_id)
    args["code"] = code.value
    info = {"response_args": endpoint.extra_response_args(args, client_id=client_id), "fragment_enc": False}
    info["session_id"] = session_id
    try:
        info["return_uri"] = get_uri(context, request, "redirect_uri", endpoint.endpoint_type)
    except (RedirectURIError, ParameterError) as err:
        return endpoint.error_response(info, request, "invalid_request", f"{err.args}")
    if "response_mode" in request:
        try:
            info = endpoint.response_mode(request, **info)
        except InvalidRequest as err:
            return endpoint.error_response(info, request, "invalid_request", f"{err.args}")
    if "response_args" in info:  # authz_part2's mix-up mitigation
        info["response_args"]["iss"] = context.issuer
        info["response_args"]["client_id"] = client_id
    return info
