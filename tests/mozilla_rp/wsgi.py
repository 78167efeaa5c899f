"""WSGI entry point of the tutorial's site, served by gunicorn in tests/e2e/test_mozilla_django_oidc.py."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.mozilla_rp.settings")

application = get_wsgi_application()
