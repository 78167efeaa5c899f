"""The site's front page, then the tutorial's urls block."""

from django.http import HttpResponse
from django.urls import path

from tests.mozilla_rp.tutorial import live_block


def home(request):
    return HttpResponse("Home", content_type="text/plain")


urlpatterns = [path("", home)]

exec(live_block("urls"), globals())
