"""Django settings for the EcoMind schema project, read from the environment.

Secure by default: ``DEBUG`` is off unless ``DEBUG=true``, and with it off the
project refuses to start without ``SECRET_KEY``. See docs/deployment/secrets.md.
"""

from pathlib import Path

import environ

from ecomind.config import ConfigError, database_from_url, read_secret

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's optional, git-ignored .env (e.g. DEBUG=true); variables set in
# the real environment win. Deployments set the environment and have none.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _bool(name, default):
    try:
        return env.bool(name, default=default)
    except ValueError:
        raise ConfigError(f"{name} must be true or false.") from None


DEBUG = _bool("DEBUG", False)

SECRET_KEY = read_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError(
            "SECRET_KEY is not set: set SECRET_KEY or SECRET_KEY_FILE "
            "(or DEBUG=true for local development only)."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # DEBUG=true only

# Old keys still accepted for signatures during a rotation (comma-separated).
SECRET_KEY_FALLBACKS = [key for key in (read_secret("SECRET_KEY_FALLBACKS") or "").split(",") if key]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "ecomind.apps.EcoMindAdminConfig",  # Django's admin with EcoMind's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "pgtrigger",
    "ecomind_core",
    # After ecomind_core, whose migrate and makemigrations build on syzygy's.
    "syzygy",
]

MIDDLEWARE = [
    # Probes first: /healthz and /readyz answer orchestrators over plain HTTP
    # with any Host (the pod's IP), before the HTTPS redirect and the
    # ALLOWED_HOSTS check below apply (ecomind_core/probes/middleware.py).
    "ecomind_core.probes.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ecomind.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "ecomind.wsgi.application"

# Without DATABASE_URL the app runs on an embedded SQLite file, so a newcomer
# needs no server. PostgreSQL is the production target.
# Lower case: not a setting, so it never shows in diffsettings or debug pages.
_database_url = read_secret("DATABASE_URL")
if _database_url:
    _default_db = database_from_url(_database_url, password=read_secret("DATABASE_PASSWORD"))
else:
    # SQLITE_PATH moves the embedded file (tests use it to keep yours intact).
    _default_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))}
# Seconds to wait for a TCP connection before giving up (PostgreSQL only).
if _default_db["ENGINE"] != "django.db.backends.sqlite3":
    _default_db.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 5))
DATABASES = {"default": _default_db}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Timestamps are stored as naive UTC (the legacy schema) and handled in
# Python as aware UTC datetimes.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))

# Every primary key in this project is declared explicitly; this only applies
# to models of other apps that leave it out.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Where create_local_staff keeps the local demo login (DEBUG only).
LOCAL_LOGIN_FILE = Path(env.str("LOCAL_LOGIN_FILE", default=str(BASE_DIR / "var" / "local-staff-login")))

# Migrations (see ecomind_core/management/commands/migrate.py).
MIGRATION_LOCK_TIMEOUT = env.str("MIGRATION_LOCK_TIMEOUT", default="10s")
MIGRATION_DB_WAIT = env.int("MIGRATION_DB_WAIT", default=30)

# Production hardening, on whenever DEBUG is off; each can be relaxed by
# its environment variable (e.g. behind a proxy that already redirects).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env.str("LOG_LEVEL", default="WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own config gives "django" a console handler too: without
        # propagate=False every record would print twice.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # A 403 or 404 is in the access log already ("GET /x 404"); Django
        # would log each again as a warning with a traceback. 5xx still are.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
