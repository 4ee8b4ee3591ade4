"""Configuration read from the environment, validated before Django starts.

Every value comes from an environment variable; each secret may instead come
from a file named by ``<NAME>_FILE`` (how Docker and Kubernetes mount
secrets). Anything wrong raises :class:`ConfigError` with one line that names
the variable and what is accepted. Messages never contain a password: the
database URL is never echoed back.
"""

import hashlib
import hmac
import ipaddress
import os
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")
SQLITE_SCHEMES = ("sqlite",)
POSTGRES_ENGINE = "ecomind_core.db.backends.postgresql"
SQLITE_ENGINE = "django.db.backends.sqlite3"
ACCEPTED_URLS = "postgres://USER:PASSWORD@HOST:5432/NAME or sqlite:////ABSOLUTE/PATH.sqlite3"
#: libpq's ``sslmode`` values. Only the last two check the server's certificate: with the
#: others (``prefer`` is libpq's default) the password goes to whoever answers at the address.
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
VERIFYING_SSLMODES = ("verify-ca", "verify-full")
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
#: How deploy/ marks a value the operator must fill in.
PLACEHOLDER = "REPLACE"


class ConfigError(ImproperlyConfigured):
    """A setting is missing or malformed; the message is safe to print."""


def read_secret(name, default=None):
    """Return ``$NAME``, or the contents of the file named by ``$NAME_FILE``."""
    file_var = f"{name}_FILE"
    direct, path = os.environ.get(name), os.environ.get(file_var)
    if direct and path:
        raise ConfigError(f"{name} and {file_var} are both set: set only one of them.")
    if not path:
        return direct if direct else default
    return read_secret_file(file_var, path)


def read_secret_file(file_var, path):
    """The stripped contents of ``path`` (named by ``file_var``), or ConfigError; never echoes them."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{file_var} names {path}, which cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file_var} names {path}, which is not UTF-8 text.") from None
    if not value:
        raise ConfigError(f"{file_var} names {path}, which is empty.")
    return value


#: Characters that end the user:password part of a URL; in a password they must be percent-encoded.
_USERINFO_ENDS = set("/?#@[]")


def _unencoded_userinfo(url):
    """True when the text before the URL's last ``@`` holds characters that end a userinfo.

    ``postgresql://app:p@ss:/w#rd@host/db`` would otherwise parse as host
    ``ss`` and database ``w``: pieces of the password that error messages
    would then print.
    """
    _, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return False
    userinfo = rest.rpartition("@")[0]
    return bool(_USERINFO_ENDS & set(userinfo))


def database_from_url(url, *, password=None, schema=None, sslmode=None, sslrootcert=None, variable="DATABASE_URL"):
    """Turn ``DATABASE_URL`` into a ``DATABASES`` entry, or raise ConfigError.

    Only PostgreSQL and SQLite are accepted. ``password`` (``DATABASE_PASSWORD``)
    replaces the URL's password, so the URL itself can be non-secret and the
    password rotated on its own; ``sslmode`` and ``sslrootcert``
    (``DATABASE_SSLMODE``, ``DATABASE_SSLROOTCERT``) replace the URL's own.
    ``variable`` is the setting the URL came from, which every message names
    (``DATABASE_REPLICA_URL`` for the read replica).
    """
    if _unencoded_userinfo(url):
        raise ConfigError(
            f"{variable} has special characters before its host that are not percent-encoded, so its password "
            "would be read as host or database: encode them (@ as %40, : as %3A, / as %2F, # as %23, ? as %3F), "
            "or leave the password out of the URL and set DATABASE_PASSWORD."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError(f"{variable} is malformed: use {ACCEPTED_URLS}.") from None
    scheme = parts.scheme.lower()
    if scheme in SQLITE_SCHEMES:
        config = environ.Env.db_url_config(url)
        config["ENGINE"] = SQLITE_ENGINE
        return config
    if scheme not in POSTGRES_SCHEMES:
        shown = f"'{scheme}'" if scheme else "none"
        raise ConfigError(
            f"{variable} has an unsupported scheme ({shown}): only PostgreSQL and SQLite "
            f"are supported; use {ACCEPTED_URLS}."
        )
    if not parts.path.strip("/"):
        raise ConfigError(f"{variable} names no database: use {ACCEPTED_URLS}.")
    try:
        config = environ.Env.db_url_config(url)
    except Exception:  # django-environ raises several types; none is safe to show
        raise ConfigError(f"{variable} is malformed: use {ACCEPTED_URLS}.") from None
    config["ENGINE"] = POSTGRES_ENGINE
    if password is not None:
        config["PASSWORD"] = password
    config["SCHEMA"] = schema or "public"
    options = config.setdefault("OPTIONS", {})
    options.update({key: value for key, value in (("sslmode", sslmode), ("sslrootcert", sslrootcert)) if value})
    if options.get("sslmode", "prefer") not in SSLMODES:
        raise ConfigError(f"{variable}'s sslmode {options['sslmode']!r} is not one of libpq's: {', '.join(SSLMODES)}.")
    return config


def database_tls():
    """``(sslmode, sslrootcert)`` from ``DATABASE_SSLMODE`` and ``DATABASE_SSLROOTCERT(_FILE)``; None where unset.

    ``DATABASE_SSLROOTCERT_FILE`` names the CA bundle (PEM), which libpq reads
    at each new connection, so a renewed bundle needs no restart.
    ``DATABASE_SSLROOTCERT`` holds the bundle itself (say, from a secret
    store into the environment); libpq wants a file, so it is copied to one
    in a directory only this user can write.
    """
    sslmode = os.environ.get("DATABASE_SSLMODE", "").strip().lower() or None
    if sslmode and sslmode not in SSLMODES:
        raise ConfigError(f"DATABASE_SSLMODE must be one of {', '.join(SSLMODES)}, not {sslmode!r}.")
    bundle, path = os.environ.get("DATABASE_SSLROOTCERT", "").strip(), os.environ.get("DATABASE_SSLROOTCERT_FILE")
    if bundle and path:
        raise ConfigError("DATABASE_SSLROOTCERT and DATABASE_SSLROOTCERT_FILE are both set: set only one of them.")
    if path:
        if PEM_CERTIFICATE not in read_secret_file("DATABASE_SSLROOTCERT_FILE", path):
            raise ConfigError(f"DATABASE_SSLROOTCERT_FILE names {path}, which holds no PEM certificate "
                              f"({PEM_CERTIFICATE}): use the CA bundle your database provider publishes.")
        # Not resolved: a mounted ConfigMap is a symlink that moves to each new version.
        return sslmode, os.path.abspath(path)
    if bundle:
        if not bundle.startswith(PEM_CERTIFICATE):
            raise ConfigError("DATABASE_SSLROOTCERT must hold the CA bundle itself (PEM, starting "
                              f"{PEM_CERTIFICATE}); to name a file, set DATABASE_SSLROOTCERT_FILE instead.")
        return sslmode, str(_private_copy(bundle + "\n"))
    return sslmode, None


def _private_copy(text):
    """``text`` in a file of a directory that only this user can write (so no one else can swap the CA)."""
    directory = Path(tempfile.gettempdir()) / f"ecomind-{os.getuid()}"
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(directory)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise ConfigError(f"{directory} is not a private directory of this user: remove it, or set "
                              "DATABASE_SSLROOTCERT_FILE instead of DATABASE_SSLROOTCERT.")
        target = directory / f"sslrootcert-{hashlib.sha256(text.encode()).hexdigest()[:16]}.pem"
        if not target.is_file():
            with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, encoding="utf-8") as scratch:
                scratch.write(text)
            os.replace(scratch.name, target)
    except OSError as exc:
        raise ConfigError(f"DATABASE_SSLROOTCERT could not be written to a file in {directory} ({exc.strerror}): "
                          "set DATABASE_SSLROOTCERT_FILE instead.") from None
    return target


def credential_files(*, sslmode=None, sslrootcert=None):
    """What the backend reads again at each new connection (ecomind_core/db/credentials.py), or None.

    The paths of ``DATABASE_URL_FILE`` and ``DATABASE_PASSWORD_FILE`` (the
    files Kubernetes and the Secrets Store CSI driver update in place), and
    what re-reading the URL must keep: a fixed ``DATABASE_PASSWORD``, the TLS
    settings. Never a secret itself.
    """
    files = {name: os.environ.get(name) for name in ("DATABASE_URL_FILE", "DATABASE_PASSWORD_FILE") if os.environ.get(name)}
    if not files:
        return None
    return {"url_file": files.get("DATABASE_URL_FILE"), "password_file": files.get("DATABASE_PASSWORD_FILE"),
            "password_fixed": bool(os.environ.get("DATABASE_PASSWORD")), "sslmode": sslmode, "sslrootcert": sslrootcert,
            # What was applied at start-up, so that only a later change is applied again.
            "seen": {name: fingerprint(read_secret_file(name, path)) for name, path in files.items()}}


def replica_database(url, primary, *, password=None, sslmode=None, sslrootcert=None):
    """``DATABASE_REPLICA_URL`` as the ``replica`` entry of ``DATABASES``, beside ``primary``; or ConfigError.

    Built by :func:`database_from_url` like the primary, with the primary's
    schema, TLS settings, password (a streaming replica has the primary's
    roles, so ``DATABASE_PASSWORD`` is its password too), connect timeout and
    connection reuse: the replica differs only in where it is.
    """
    if primary["ENGINE"] != POSTGRES_ENGINE:
        raise ConfigError("DATABASE_REPLICA_URL is set but DATABASE_URL names no PostgreSQL primary: "
                          "a read replica follows a PostgreSQL primary; set DATABASE_URL too, or unset DATABASE_REPLICA_URL.")
    replica = database_from_url(url, password=password, schema=primary["SCHEMA"], sslmode=sslmode,
                                sslrootcert=sslrootcert, variable="DATABASE_REPLICA_URL")
    if replica["ENGINE"] != POSTGRES_ENGINE:
        raise ConfigError("DATABASE_REPLICA_URL names a SQLite file: a read replica is a PostgreSQL standby, "
                          "postgres://USER@HOST:5432/NAME.")
    replica["OPTIONS"].setdefault("connect_timeout", primary["OPTIONS"].get("connect_timeout"))
    replica.update(CONN_MAX_AGE=primary["CONN_MAX_AGE"], CONN_HEALTH_CHECKS=primary["CONN_HEALTH_CHECKS"],
                   # Under the test runner the replica is the test database itself (Django's
                   # documented set-up for a replica); tests that need it apart add their own.
                   TEST={"MIRROR": "default"})
    password_file = (primary.get("CREDENTIAL_FILES") or {}).get("password_file")
    if password_file:
        # A rotated DATABASE_PASSWORD_FILE reaches the replica's new connections too; its URL
        # is not re-read (DATABASE_URL_FILE names the primary's).
        files = primary["CREDENTIAL_FILES"]
        replica["CREDENTIAL_FILES"] = {**files, "url_file": None, "seen": {
            name: seen for name, seen in files["seen"].items() if name == "DATABASE_PASSWORD_FILE"}}
    return replica


#: Keys this process's fingerprints: settings may be printed (diffsettings), and a plain
#: hash of a weak password could be guessed offline.
_FINGERPRINT_KEY = os.urandom(32)


def fingerprint(text):
    """A digest that tells whether a secret changed, without keeping a second copy of it."""
    return hmac.new(_FINGERPRINT_KEY, text.encode(), hashlib.sha256).hexdigest()


def positive_int(name, default):
    """``$NAME`` as a whole number of at least 1 (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {raw!r}.")
    return value


def non_negative_int(name, default):
    """``$NAME`` as a whole number of at least 0 (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number of at least 0, not {raw!r}.")
    return int(raw)


def ip_networks(name):
    """``$NAME`` as comma-separated IP addresses or CIDR networks (``10.0.0.0/8``), normalised."""
    networks = []
    for entry in filter(None, (part.strip() for part in os.environ.get(name, "").split(","))):
        if entry.upper().startswith(PLACEHOLDER):
            raise ConfigError(f"{name} still holds the deploy file's placeholder: replace it with your load balancers' "
                              "addresses or network, e.g. 10.0.0.0/16 (docs/admin.md, \"Lockout\").")
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{name} has {entry!r}, which is not an IP address or network: use e.g. 10.0.0.5,10.1.0.0/16."
            ) from None
    return networks
