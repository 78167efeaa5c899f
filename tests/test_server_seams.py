"""The idpyoidc server is built with this app's classes from its configuration (idpy/server.py), not
patched after construction: each test fails with idpyoidc's stock ``Server``/``EndpointContext``."""

from idpyoidc.server.client_authn import client_auth_setup

from oidc_provider import protocol
from oidc_provider.idpy import client_authn
from oidc_provider.idpy.client_db import RegistrationAccessTokens
from oidc_provider.idpy.server import EndpointContext
from oidc_provider.idpy.session_manager import SessionManager
from oidc_provider.idpy.session_tree import SessionTreeStore
from oidc_provider.server import GRANT_HELPERS, build_conf, get_server
from oidc_provider.storage.assertions import AssertionReplayStore


def test_the_server_builds_the_configured_context(db):
    """Defect 85: the stock Server builds idpyoidc's EndpointContext whatever the configuration."""
    assert type(get_server().context) is EndpointContext


def test_the_session_tree_lives_in_rows(db):
    """Defect 86: the stock context builds idpyoidc's SessionManager over a process-local dict."""
    manager = get_server().context.session_manager
    assert type(manager) is SessionManager and type(manager.db) is SessionTreeStore
    assert manager.userinfo is get_server().context.userinfo  # wired as the stock one would be


def test_replay_cache_and_registration_tokens_live_in_rows(db):
    """Defect 87: the stock context keeps both in process-local dicts."""
    context = get_server().context
    assert type(context.jti_db) is AssertionReplayStore
    assert type(context.registration_access_token) is RegistrationAccessTokens


def test_configured_client_authentication_wins_over_the_built_ins(db):
    """Defect 88: client_auth_setup replaces configured classes by its built-ins of the same name."""
    conf = build_conf()["client_authn_methods"]
    assert type(client_auth_setup(None, dict(conf))["client_secret_basic"]) is not client_authn.ClientSecretBasic
    methods = get_server().context.client_authn_methods
    assert type(methods["client_secret_basic"]) is client_authn.ClientSecretBasic
    assert type(methods["client_secret_post"]) is client_authn.ClientSecretPost
    assert type(methods["private_key_jwt"]) is client_authn.PrivateKeyJWT
    assert type(methods["client_secret_jwt"]) is client_authn.ClientSecretJWT
    assert build_conf()["client_authn_methods"] == conf  # the configuration is left as it was


def test_every_grant_type_has_a_helper():
    assert list(GRANT_HELPERS) == protocol.GRANT_TYPES
