"""The example project as ``manage.py runserver`` serves it in DEBUG, for gunicorn: its WSGI
application with the static files (the admin's CSS and scripts) served from the apps' folders."""

import os

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

application = StaticFilesHandler(get_wsgi_application())
