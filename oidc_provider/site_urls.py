"""The routes a site includes at its root, not under the issuer's path: ``path("",
include("oidc_provider.site_urls"))``. RPs look for WebFinger at ``/.well-known/webfinger`` of the
identifier's host (RFC 7033 §4, OIDC Discovery 1.0 §2)."""

from django.urls import path

from oidc_provider.views.webfinger import WebFingerView

urlpatterns = [
    path(".well-known/webfinger", WebFingerView.as_view(), name="oidc-webfinger"),
]
