"""WSGI entry point of the test project, served by gunicorn in the end-to-end suite (tests/e2e/)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

application = get_wsgi_application()
