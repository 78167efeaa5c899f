"""The example project prints each log line once (issue 18, part 8): Django's own configuration gives the
"django" logger a console handler, and the example's root handler printed the same records again.
Each case runs manage.py in a subprocess, so Django configures logging from the example's settings
exactly as runserver or gunicorn does."""

import pytest

from tests.test_example_project import PRODUCTION, manage

SCRIPT = """
import logging
from django.conf import settings
from django.test import Client
Client().get("/no-such-page/", HTTP_HOST=settings.ALLOWED_HOSTS[0], secure=True)  # django.request: "Not Found"
for name in ("oidc_provider.pages", "example_project.demo.views", "idpyoidc.server", "somewhere.else"):
    logging.getLogger(name).warning("marker of %s", name)
logging.getLogger("idpyoidc").info("idpyoidc info: %s", "hidden")
"""


@pytest.mark.parametrize("env", [{}, PRODUCTION], ids=["DEBUG", "production"])
def test_each_record_reaches_the_console_once(tmp_path, env):
    code, output = manage(tmp_path, env, "shell", "-c", SCRIPT)
    assert code == 0, output
    expected = [
        "WARNING django.request: Not Found: /no-such-page/",
        "WARNING oidc_provider.pages: marker of oidc_provider.pages",
        "WARNING example_project.demo.views: marker of example_project.demo.views",
        "WARNING idpyoidc.server: marker of idpyoidc.server",
        "WARNING somewhere.else: marker of somewhere.else",
    ]
    assert [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))] == expected, output
    assert "hidden" not in output  # idpyoidc stays at WARNING
