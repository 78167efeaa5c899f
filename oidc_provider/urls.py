"""The OP's routes. Include them at the issuer's path: ``path("oidc/", include("oidc_provider.urls"))``."""

from django.urls import path

from oidc_provider.views import authorization, discovery, end_session, registration, token, userinfo

app_name = "oidc_provider"

urlpatterns = [
    path(
        ".well-known/openid-configuration",
        discovery.ProviderConfigurationView.as_view(),
        name="provider-configuration",
    ),
    path("jwks", discovery.JWKSView.as_view(), name="jwks"),
    path("authorize", authorization.AuthorizationView.as_view(), name="authorization"),
    path("authorize/resume", authorization.ResumeView.as_view(), name="authorization-resume"),
    path("consent", authorization.ConsentView.as_view(), name="consent"),
    path("token", token.TokenView.as_view(), name="token"),
    path("userinfo", userinfo.UserInfoView.as_view(), name="userinfo"),
    path("register", registration.RegistrationView.as_view(), name="registration"),
    path("register/client", registration.ClientConfigurationView.as_view(), name="client-configuration"),
    path("end_session", end_session.EndSessionView.as_view(), name="end-session"),
    path("end_session/confirm", end_session.LogoutConfirmView.as_view(), name="end-session-confirm"),
    path("introspect", token.IntrospectionView.as_view(), name="introspection"),
    path("revoke", token.RevocationView.as_view(), name="revocation"),
]
