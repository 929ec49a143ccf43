"""Django settings for Wangge, read from the environment.

The embedded default needs no variable at all: SQLite in WAL mode and a generated secret key,
both under the data directory (``WANGGE_DATA_DIR``, default ``./var``). A wrong value stops
start-up with a message naming the variable (see ``wangge.core.env``).
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
import xstatic.pkg.leaflet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from wangge.core import env

# Lets ``admin.ModelAdmin[Model]`` and other generic annotations work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent

DATA_DIR = env.path("WANGGE_DATA_DIR", default=Path.cwd() / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)
# Personal data lives here: the directory and everything written into it are owner-only.
env.owner_only(DATA_DIR)

DEBUG = env.boolean("DEBUG", default=False)
SECRET_KEY = env.secret_key(DATA_DIR)
ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS", default=[])
# Reverse proxies whose X-Forwarded-For (and X-Forwarded-Proto, via gunicorn's
# forwarded_allow_ips) is believed; everyone else's is ignored (wangge.core.middleware.client_ip).
# Loopback by default, as gunicorn assumes: the documented nginx on the same server.
WANGGE_TRUSTED_PROXIES = env.networks("WANGGE_TRUSTED_PROXIES", default=["127.0.0.1", "::1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_htmx",
    "wangge.core",
    "wangge.accounts",
    "wangge.areas",
    "wangge.registry",
    "wangge.protection",
    "wangge.cases",
    "wangge.groups",
    "wangge.division",
    "wangge.worklist",
    "wangge.places",
    "wangge.web",
    "wangge.demo",
    "wangge.ops",
    "wangge.open311",
    # After wangge.web, whose templates override drf-spectacular's Redoc page (no Google Fonts).
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from here, not a CDN
]

MIDDLEWARE = [
    "wangge.core.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wangge.core.middleware.ChineseFirstLocaleMiddleware",
    "wangge.core.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "wangge.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
# Request bodies other than files (forms, JSON) stay small; an uploaded file above this size is
# spooled to a temporary file instead of memory. The import's own limits are below.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
# Behind TLS: one switch for secure cookies, HSTS and the redirect to HTTPS. The proxy must send
# X-Forwarded-Proto and be listed in WANGGE_TRUSTED_PROXIES (gunicorn believes it only then).
WANGGE_HTTPS = env.boolean("WANGGE_HTTPS", default=False)
SESSION_COOKIE_SECURE = WANGGE_HTTPS or env.boolean("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = WANGGE_HTTPS
SECURE_HSTS_SECONDS = env.integer("WANGGE_HSTS_SECONDS", default=31536000, minimum=0) if WANGGE_HTTPS else 0
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes from inside the network speak plain HTTP
SECURE_REFERRER_POLICY = "same-origin"
# The OpenAPI schema and its docs pages need a signed-in user unless opened on purpose.
# API tokens (accounts.ApiToken) stop working this many days after they are made.
WANGGE_API_TOKEN_DAYS = env.integer("WANGGE_API_TOKEN_DAYS", default=90, minimum=1)
WANGGE_PUBLIC_API_DOCS = env.boolean("WANGGE_PUBLIC_API_DOCS", default=False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that a request without credentials is answered 401 with WWW-Authenticate: Token.
        "wangge.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "wangge.core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "wangge.core.api.exception_handler",
    # Throttles key on REMOTE_ADDR alone, which ClientAddressMiddleware has set to the client
    # derived from WANGGE_TRUSTED_PROXIES; DRF's own reading of X-Forwarded-For is not used.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wangge API",
    "DESCRIPTION": "Grid-based community service: areas, registry, search (scoped to the caller).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["wangge.core.api.ApiDocsPermission"],
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
        "CaseKindEnum": "wangge.cases.models.Kind",
        "CaseStatusEnum": "wangge.cases.models.Case.Status",
        "CaseStepKindEnum": "wangge.cases.models.Step.Kind",
        "ResidentStatusEnum": "wangge.registry.models.Resident.Status",
    },
}

# Optional base-map tiles for Leaflet; no tiles by default (the map draws grids on a blank canvas).
MAP_TILE_URL = env.string("WANGGE_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.string("WANGGE_TILE_ATTRIBUTION", default="")

_email = env.email("EMAIL_URL")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", default=10, minimum=1)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", default="wangge@localhost")
SERVER_EMAIL = env.string("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# Every line has a time and a level; WANGGE_LOG_FORMAT=json writes one JSON object a line.
WANGGE_LOG_FORMAT = env.choice("WANGGE_LOG_FORMAT", default="text", choices=("text", "json"))
LOG_LEVEL = env.choice(
    "LOG_LEVEL", default="warning", choices=("debug", "info", "warning", "error", "critical")
).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "wangge.core.logs.TextFormatter"},
        "json": {"()": "wangge.core.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": WANGGE_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# Resident import (wangge.registry.importing): a file beyond any of these is refused as a whole
# before anything is written, so a hostile or runaway spreadsheet cannot exhaust memory or time.
# Rows and columns are the spreadsheet's (the header and blank rows count); "inflated" is what an
# XLSX (a ZIP archive) unpacks to, and "ratio" how far any one large part may inflate.
WANGGE_IMPORT_MAX_BYTES = env.integer("WANGGE_IMPORT_MAX_BYTES", default=100 * 1024 * 1024, minimum=1024)
WANGGE_IMPORT_MAX_ROWS = env.integer("WANGGE_IMPORT_MAX_ROWS", default=1_000_000, minimum=2)
WANGGE_IMPORT_MAX_COLUMNS = env.integer("WANGGE_IMPORT_MAX_COLUMNS", default=200, minimum=2)
WANGGE_IMPORT_MAX_INFLATED_BYTES = env.integer(
    "WANGGE_IMPORT_MAX_INFLATED_BYTES", default=200 * 1024 * 1024, minimum=1024 * 1024
)
WANGGE_IMPORT_MAX_RATIO = env.integer("WANGGE_IMPORT_MAX_RATIO", default=100, minimum=2)
WANGGE_IMPORT_MAX_CELL_CHARS = env.integer("WANGGE_IMPORT_MAX_CELL_CHARS", default=32_767, minimum=100)
# Rows an import writes per transaction: other writers (location fixes, page saves) take turns
# between chunks, so a chunk must stay well under a second. 500 rather than 1,000: half the wait
# for a location fix at the same import speed (docs/benchmarks.md, issue 8 item 4).
WANGGE_IMPORT_CHUNK_ROWS = env.integer("WANGGE_IMPORT_CHUNK_ROWS", default=500, minimum=1)

# Missing-person protection (wangge.protection): the MQTT broker the worker subscribes to, and
# how long location trails are kept (locations tied to an open incident are kept longer).
MQTT_URL = env.string("MQTT_URL", default="mqtt://127.0.0.1:1883")
# The worker's own broker account (else the user and password in MQTT_URL); its client id is
# its username when the broker runs with use_username_as_clientid (docs/operating.md).
MQTT_USERNAME = env.string("MQTT_USERNAME", default="")
MQTT_PASSWORD = env.string("MQTT_PASSWORD", default="")
# Worker accounts Wangge writes for the broker (MQTT_USERNAME, then -2, -3…): one per worker
# run with --shared --instance N.
MQTT_WORKERS = env.integer("MQTT_WORKERS", default=1, minimum=1)
# mqtts:// — the CA that signed the broker's certificate (else the system's), and a client
# certificate and key if the broker asks for one.
MQTT_CA_FILE = env.existing_file("MQTT_CA_FILE")
MQTT_CERT_FILE = env.existing_file("MQTT_CERT_FILE")
MQTT_KEY_FILE = env.existing_file("MQTT_KEY_FILE")
# How long the broker keeps the worker's session (and queues its messages) while it is away.
MQTT_SESSION_EXPIRY = env.integer("MQTT_SESSION_EXPIRY", default=7 * 24 * 3600, minimum=0)
# Phones' broker accounts: Wangge writes Mosquitto's password and ACL files on every device
# registration, reset and enrolment end, then sends SIGHUP to the pid in the pid file. Unset
# password file: Wangge does not manage the broker (a broker open to anyone; tests, a pilot).
MQTT_BROKER_PASSWORD_FILE = env.file_to_write("MQTT_BROKER_PASSWORD_FILE")
MQTT_BROKER_ACL_FILE = env.file_to_write("MQTT_BROKER_ACL_FILE")
MQTT_BROKER_PID_FILE = env.file_to_write("MQTT_BROKER_PID_FILE")
if MQTT_CERT_FILE is None and MQTT_KEY_FILE is not None:
    raise ImproperlyConfigured("MQTT_KEY_FILE: set MQTT_CERT_FILE too")
if (MQTT_BROKER_PASSWORD_FILE is None) != (MQTT_BROKER_ACL_FILE is None):
    raise ImproperlyConfigured("MQTT_BROKER_PASSWORD_FILE and MQTT_BROKER_ACL_FILE: set both or neither")
# The addresses phones use, put into the setup page's QR codes: this site as phones reach it
# (``https://wangge.example.cn``; unset: the address the page was opened with) and the broker as
# phones reach it (``mqtts://mqtt.example.cn:8883``; unset: MQTT_URL with a loopback host
# replaced by this site's host). The page shows no QR code for an address a phone cannot reach.
WANGGE_PUBLIC_URL = env.url("WANGGE_PUBLIC_URL", schemes=("http", "https"))
WANGGE_MQTT_PUBLIC_URL = env.url("WANGGE_MQTT_PUBLIC_URL", schemes=("mqtt", "mqtts", "ssl", "tls"))
WANGGE_LOCATION_RETENTION_DAYS = env.integer("WANGGE_LOCATION_RETENTION_DAYS", default=30, minimum=1)
WANGGE_ZONE_DWELL_SECONDS = env.integer("WANGGE_ZONE_DWELL_SECONDS", default=60, minimum=0)
WANGGE_SILENT_MINUTES = env.integer("WANGGE_SILENT_MINUTES", default=10, minimum=1)
WANGGE_PHONE_OFF_HOURS = env.integer("WANGGE_PHONE_OFF_HOURS", default=12, minimum=1)
WANGGE_LOW_BATTERY_PERCENT = env.integer("WANGGE_LOW_BATTERY_PERCENT", default=15, minimum=0)
WANGGE_WEBHOOK_URL = env.string("WANGGE_WEBHOOK_URL", default="")
WANGGE_WEBHOOK_SECRET = env.string("WANGGE_WEBHOOK_SECRET", default="")
WANGGE_SMS_BACKEND = env.string("WANGGE_SMS_BACKEND", default="wangge.protection.notify.LoggingSmsBackend")
# How long the worker's notification senders wait for each channel before counting a failure.
WANGGE_SMS_TIMEOUT_SECONDS = env.integer("WANGGE_SMS_TIMEOUT_SECONDS", default=10, minimum=1)
WANGGE_EMAIL_TIMEOUT_SECONDS = env.integer("WANGGE_EMAIL_TIMEOUT_SECONDS", default=20, minimum=1)
WANGGE_WEBHOOK_TIMEOUT_SECONDS = env.integer("WANGGE_WEBHOOK_TIMEOUT_SECONDS", default=5, minimum=1)
# Open311 / the tracking page show a smaller rendition of the photos residents sent with their own
# reports of non-sensitive categories; off: no photo is ever public (docs/operating.md).
WANGGE_OPEN311_PUBLIC_PHOTOS = env.boolean("WANGGE_OPEN311_PUBLIC_PHOTOS", default=True)
