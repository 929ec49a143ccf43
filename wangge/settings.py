"""Django settings for Wangge, read from the environment.

The embedded default needs no variable at all: SQLite in WAL mode and a generated secret key,
both under the data directory (``WANGGE_DATA_DIR``, default ``./var``). A wrong value stops
start-up with a message naming the variable (see ``wangge.core.env``).
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
import xstatic.pkg.leaflet
from django.utils.translation import gettext_lazy as _

from wangge.core import env

# Lets ``admin.ModelAdmin[Model]`` and other generic annotations work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent

DATA_DIR = env.path("WANGGE_DATA_DIR", default=Path.cwd() / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.boolean("DEBUG", default=False)
SECRET_KEY = env.secret_key(DATA_DIR)
ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_htmx",
    "wangge.core",
    "wangge.accounts",
    "wangge.areas",
    "wangge.registry",
    "wangge.protection",
    "wangge.web",
    "wangge.demo",
    # After wangge.web, whose templates override drf-spectacular's Redoc page (no Google Fonts).
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from here, not a CDN
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wangge.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "wangge.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "wangge.urls"
WSGI_APPLICATION = "wangge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wangge.web.context.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.database("DATABASE_URL", default_sqlite=DATA_DIR / "wangge.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A cache every server process shares (gunicorn runs several): sign-in throttles count across
# workers. Files in the data dir need no extra service on a single server.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": DATA_DIR / "cache",
        # Many entries before culling, so a guesser cannot push their own failure counts out.
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
}

AUTH_USER_MODEL = "accounts.User"
# Django's model backend with failed sign-ins throttled per username and address (accounts.throttle).
AUTHENTICATION_BACKENDS = ["wangge.accounts.backends.ThrottledModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Leaflet ships as a Python package (xstatic-leaflet): no Node build, served as static/leaflet/.
STATICFILES_DIRS = [("leaflet", xstatic.pkg.leaflet.BASE_DIR)]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.boolean("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "wangge.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wangge API",
    "DESCRIPTION": "Grid-based community service: areas, registry, search (scoped to the caller).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The docs pages load their scripts from our static files: intranets often have no internet,
    # and a CDN's "latest" script would run with the user's session.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "kind"; name each enum so the schema is stable and warning-free.
    "ENUM_NAME_OVERRIDES": {
        "AreaKindEnum": "wangge.areas.models.Area.Kind",
        "LifeEventKindEnum": "wangge.registry.models.LifeEvent.Kind",
        "LifeEventInputKindEnum": "wangge.registry.serializers.EVENT_INPUT_KINDS",
        "AlertKindEnum": "wangge.protection.models.Alert.Kind",
        "SafeZoneKindEnum": "wangge.protection.models.SafeZone.Kind",
        "IncidentUpdateKindEnum": "wangge.protection.models.IncidentUpdate.Kind",
        "ResponderKindEnum": "wangge.protection.models.Responder.Kind",
    },
}

# Optional base-map tiles for Leaflet; no tiles by default (the map draws grids on a blank canvas).
MAP_TILE_URL = env.string("WANGGE_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.string("WANGGE_TILE_ATTRIBUTION", default="")

EMAIL_BACKEND = env.string("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", default="WARNING")},
}

# Missing-person protection (wangge.protection): the MQTT broker the worker subscribes to, and
# how long location trails are kept (locations tied to an open incident are kept longer).
MQTT_URL = env.string("MQTT_URL", default="mqtt://127.0.0.1:1883")
WANGGE_LOCATION_RETENTION_DAYS = env.integer("WANGGE_LOCATION_RETENTION_DAYS", default=30, minimum=1)
WANGGE_ZONE_DWELL_SECONDS = env.integer("WANGGE_ZONE_DWELL_SECONDS", default=60, minimum=0)
WANGGE_SILENT_MINUTES = env.integer("WANGGE_SILENT_MINUTES", default=10, minimum=1)
WANGGE_PHONE_OFF_HOURS = env.integer("WANGGE_PHONE_OFF_HOURS", default=12, minimum=1)
WANGGE_LOW_BATTERY_PERCENT = env.integer("WANGGE_LOW_BATTERY_PERCENT", default=15, minimum=0)
WANGGE_WEBHOOK_URL = env.string("WANGGE_WEBHOOK_URL", default="")
WANGGE_WEBHOOK_SECRET = env.string("WANGGE_WEBHOOK_SECRET", default="")
WANGGE_SMS_BACKEND = env.string("WANGGE_SMS_BACKEND", default="wangge.protection.notify.LoggingSmsBackend")
