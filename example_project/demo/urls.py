from django.urls import path

from . import views

app_name = "demo"

urlpatterns = [
    path("login", views.rp_login, name="rp-login"),
    path("callback", views.rp_callback, name="rp-callback"),
]
