"""The OP's routes. Include them at the issuer's path: ``path("oidc/", include("oidc_provider.urls"))``."""

from django.urls import path

from oidc_provider.protocol import PATHS
from oidc_provider.views import (
    authorization,
    discovery,
    end_session,
    pushed_authorization,
    registration,
    token,
    userinfo,
)

app_name = "oidc_provider"

urlpatterns = [
    path(PATHS["provider_config"], discovery.ProviderConfigurationView.as_view(), name="provider-configuration"),
    path(PATHS["jwks"], discovery.JWKSView.as_view(), name="jwks"),
    path(PATHS["authorization"], authorization.AuthorizationView.as_view(), name="authorization"),
    path(PATHS["authorization_resume"], authorization.ResumeView.as_view(), name="authorization-resume"),
    path(PATHS["consent"], authorization.ConsentView.as_view(), name="consent"),
    path(f"{PATHS['consent']}/switch-account", authorization.SwitchAccountView.as_view(), name="switch-account"),
    path(PATHS["token"], token.TokenView.as_view(), name="token"),
    path(PATHS["userinfo"], userinfo.UserInfoView.as_view(), name="userinfo"),
    path(PATHS["registration"], registration.RegistrationView.as_view(), name="registration"),
    path(PATHS["registration_read"], registration.ClientConfigurationView.as_view(), name="client-configuration"),
    path(PATHS["session"], end_session.EndSessionView.as_view(), name="end-session"),
    path(PATHS["session_confirm"], end_session.LogoutConfirmView.as_view(), name="end-session-confirm"),
    path(PATHS["introspection"], token.IntrospectionView.as_view(), name="introspection"),
    path(PATHS["token_revocation"], token.RevocationView.as_view(), name="revocation"),
    path(
        PATHS["pushed_authorization"],
        pushed_authorization.PushedAuthorizationView.as_view(),
        name="pushed-authorization",
    ),
]
