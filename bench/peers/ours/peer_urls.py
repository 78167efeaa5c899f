from django.urls import include, path

from bench_common import floor_view

urlpatterns = [
    path("oidc/", include("oidc_provider.urls")),
    path("floor", floor_view),
]
