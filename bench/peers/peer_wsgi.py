"""The WSGI application of whichever peer project is on PYTHONPATH (``peer_settings``)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

if os.environ.get("BENCH_PROFILE"):
    from profile_wsgi import ProfiledApplication  # noqa: E402

    application = ProfiledApplication(application, os.environ["BENCH_PROFILE"])
