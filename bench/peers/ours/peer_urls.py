from bench_common import floor_view
from django.urls import include, path

urlpatterns = [
    path("oidc/", include("oidc_provider.urls")),
    path("floor", floor_view),
]
