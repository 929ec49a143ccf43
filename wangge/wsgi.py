"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from wangge.core.heap import freeze_startup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
application = get_wsgi_application()
# Each gunicorn worker imports this module: what it has loaded is never garbage (wangge.core.heap).
freeze_startup()
