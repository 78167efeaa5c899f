from django.contrib import admin
from django.urls import include, path

from example_project.demo import views as demo_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/", include("oidc_provider.urls")),
    path("", include("oidc_provider.site_urls")),
    path("rp/", include("example_project.demo.urls")),
    path("", demo_views.home, name="home"),
]
