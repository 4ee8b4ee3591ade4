"""Django settings for the EcoMind schema project, read from the environment.

Secure by default: ``DEBUG`` is off unless ``DEBUG=true``, and with it off the
project refuses to start without ``SECRET_KEY``. See docs/deployment/secrets.md.
"""

import datetime
from pathlib import Path

import environ
from syzygy.constants import Stage

from ecomind.config import (
    ConfigError, credential_files, database_from_url, database_tls, ip_networks, non_negative_int, positive_int, read_secret,
    replica_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's optional, git-ignored .env (e.g. DEBUG=true); variables set in
# the real environment win. Deployments set the environment and have none.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _bool(name, default):
    # Strict: django-environ reads any unknown word as false, and a typo in
    # ADMIN_REQUIRE_2FA=ture must not quietly turn two-factor off.
    value = env.str(name, default="").strip().lower()
    if not value:
        return default
    if value not in _BOOLEANS:
        raise ConfigError(f"{name} must be true or false, not {value!r}.")
    return _BOOLEANS[value]


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
    "axes",  # before ecomind_core: its lockout bookkeeping runs before the sign-in audit reads it
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ecomind_core",
    # After ecomind_core, whose migrate and makemigrations build on syzygy's.
    "syzygy",
]

MIDDLEWARE = [
    # Probes first: /healthz and /readyz answer orchestrators over plain HTTP
    # with any Host (the pod's IP), before the HTTPS redirect and the
    # ALLOWED_HOSTS check below apply (ecomind_core/probes/middleware.py).
    "ecomind_core.probes.middleware.ProbeMiddleware",
    # /metrics for Prometheus, the same way (bearer token; ecomind_core/monitoring/endpoint.py).
    "ecomind_core.monitoring.endpoint.MonitoringMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): signed in with a second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the lockout page
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
    # DATABASE_SCHEMA: the one schema the project's tables live in (default public).
    # DATABASE_SSLMODE, DATABASE_SSLROOTCERT(_FILE): verified TLS (docs/deployment/secrets.md).
    _sslmode, _sslrootcert = database_tls()
    _default_db = database_from_url(
        _database_url, password=read_secret("DATABASE_PASSWORD"), schema=env.str("DATABASE_SCHEMA", default="public"),
        sslmode=_sslmode, sslrootcert=_sslrootcert,
    )
    # DATABASE_URL_FILE / DATABASE_PASSWORD_FILE are read again for each new
    # connection: a rotated password needs no restart (ecomind_core/db/credentials.py).
    _default_db["CREDENTIAL_FILES"] = credential_files(sslmode=_sslmode, sslrootcert=_sslrootcert)
else:
    _sslmode = _sslrootcert = None
    # SQLITE_PATH moves the embedded file (tests use it to keep yours intact).
    _default_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))}
# Seconds to wait for a TCP connection before giving up (PostgreSQL only).
if _default_db["ENGINE"] != "django.db.backends.sqlite3":
    _default_db.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 5))
# Persistent connections: a request reuses its process's connection for up to
# CONN_MAX_AGE seconds (0: one per request), checked before reuse, so a
# connection the server dropped is replaced, not failed on (docs/deployment/secrets.md).
_default_db["CONN_MAX_AGE"] = non_negative_int("CONN_MAX_AGE", 60)
_default_db["CONN_HEALTH_CHECKS"] = _bool("CONN_HEALTH_CHECKS", True)
DATABASES = {"default": _default_db}

# DATABASE_REPLICA_URL(_FILE): a streaming replica of the primary. When set, the
# admin's reads of the big read-only tables go there, everything else stays on
# the primary (ecomind_core/replicas/, docs/scale-out.md). Unset: one database.
_replica_url = read_secret("DATABASE_REPLICA_URL")
if _replica_url:
    DATABASES["replica"] = replica_database(
        _replica_url, _default_db, password=read_secret("DATABASE_PASSWORD"), sslmode=_sslmode, sslrootcert=_sslrootcert,
    )
    DATABASE_ROUTERS = ["ecomind_core.replicas.router.AdminReadsToReplica"]

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

# Other applications' migrations come with the code that needs them: they
# run before the release serves (django-syzygy's pre-deploy stage), whatever
# their operations. Only EcoMind's own migrations are staged by what they do
# (ecomind_core/migration_safety/stages.py); a test keeps this list complete.
MIGRATION_STAGES_OVERRIDE = {
    label: Stage.PRE_DEPLOY
    for label in ("admin", "auth", "contenttypes", "sessions", "axes", "otp_static", "otp_totp")
}

# check_migrations checks these apps' migrations after the named one (the
# reviewed baseline: the legacy schema, the admin's indexes, the append-only trigger).
CHECK_MIGRATIONS_AFTER = {"ecomind_core": "0004_audit_log_append_only"}

# Where create_local_staff keeps the local demo login (DEBUG only).
LOCAL_LOGIN_FILE = Path(env.str("LOCAL_LOGIN_FILE", default=str(BASE_DIR / "var" / "local-staff-login")))

# Migrations (see ecomind_core/management/commands/migrate.py).
# Short: an exclusive lock request queued behind a long transaction holds up
# every write that arrives after it, for as long as it waits; retries give
# the long transaction time to end (docs/deployment/migrations.md).
MIGRATION_LOCK_TIMEOUT = env.str("MIGRATION_LOCK_TIMEOUT", default="2s")
MIGRATION_DB_WAIT = env.int("MIGRATION_DB_WAIT", default=30)
# After a lock timeout: how many more tries, and the first wait (doubling).
MIGRATION_LOCK_RETRIES = env.int("MIGRATION_LOCK_RETRIES", default=5)
MIGRATION_LOCK_RETRY_WAIT = env.str("MIGRATION_LOCK_RETRY_WAIT", default="2s")
# Concurrent index builds and VALIDATE CONSTRAINT wait for older transactions
# without blocking anyone, so they run with lock_timeout off; this ceiling on
# one such wait ends it ("0": none; docs/deployment/migrations.md).
MIGRATION_CONCURRENT_TIMEOUT = env.str("MIGRATION_CONCURRENT_TIMEOUT", default="0")
# `manage.py pgtrigger install` must not remove the append-only trigger's copies on
# the audit partitions: django-pgtrigger does not know partitions, and lists them
# as "PRUNE" (docs/runbooks/partitioning.md). verify_schema reports a missing one.
PGTRIGGER_PRUNE_ON_INSTALL = False
# Whole months of partitions kept ready beyond the current one, for events_enriched
# and audit_logs (maintain_partitions, on a schedule: docs/runbooks/partitioning.md).
PARTITIONS_AHEAD = positive_int("PARTITIONS_AHEAD", 3)

# Staff sign-in (docs/admin.md, "Signing in"): lockout after repeated
# failures, two-factor codes, sessions that expire when idle. Each is an
# environment variable with a safe default.
# Failures in a row, per account and per client address, before a lockout.
ADMIN_LOCKOUT_FAILURES = positive_int("ADMIN_LOCKOUT_FAILURES", 10)
# How long a lockout lasts; every attempt while locked starts it again.
ADMIN_LOCKOUT_MINUTES = positive_int("ADMIN_LOCKOUT_MINUTES", 15)
# Load balancers whose X-Forwarded-For is believed (addresses or networks);
# from any other peer the client address is REMOTE_ADDR.
TRUSTED_PROXIES = ip_networks("TRUSTED_PROXIES")
# Every staff account needs a second factor (an authenticator app's code or
# a recovery code). On by default in production: every staff account can
# read the audit trail and customers' emails, so not only superusers.
ADMIN_REQUIRE_2FA = _bool("ADMIN_REQUIRE_2FA", not DEBUG)
# A session unused this long is over (the database session store enforces it).
ADMIN_SESSION_IDLE_MINUTES = positive_int("ADMIN_SESSION_IDLE_MINUTES", 30)
# How long a two-factor enrolment link works (ecomind_core/signin/enrolment_links.py).
ADMIN_ENROLMENT_LINK_HOURS = positive_int("ADMIN_ENROLMENT_LINK_HOURS", 24)

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked-out account or address is refused before any password check
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout state in the database: every replica sees the same counts, with no shared cache to run.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = ADMIN_LOCKOUT_FAILURES
AXES_COOLOFF_TIME = datetime.timedelta(minutes=ADMIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # an account from anywhere, and an address for any account
AXES_RESET_ON_SUCCESS = True  # failures "in a row": a successful sign-in starts the count again
AXES_CLIENT_IP_CALLABLE = "ecomind_core.signin.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "ecomind_core.signin.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]  # masked in axes' log lines and stored form data
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are recorded in audit_logs; no second, unbounded log
AXES_ENABLE_ADMIN = False  # unlocking is unlock_staff's job, which records it in audit_logs
OTP_TOTP_ISSUER = "EcoMind"  # the name authenticator apps show
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin's device pages never show a secret key or its QR code
SESSION_COOKIE_AGE = ADMIN_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True  # each request moves the expiry on, so the age above is an idle time

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
