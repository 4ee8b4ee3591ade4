"""Configuration read from the environment, validated before Django starts.

Every value comes from an environment variable; each secret may instead come
from a file named by ``<NAME>_FILE`` (how Docker and Kubernetes mount
secrets). Anything wrong raises :class:`ConfigError` with one line that names
the variable and what is accepted. Messages never contain a password: the
database URL is never echoed back.
"""

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")
SQLITE_SCHEMES = ("sqlite",)
POSTGRES_ENGINE = "ecomind_core.db.backends.postgresql"
SQLITE_ENGINE = "django.db.backends.sqlite3"
ACCEPTED_URLS = "postgres://USER:PASSWORD@HOST:5432/NAME or sqlite:////ABSOLUTE/PATH.sqlite3"


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
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{file_var} names {path}, which cannot be read ({exc.strerror}).") from None
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


def database_from_url(url, *, password=None, schema=None):
    """Turn ``DATABASE_URL`` into a ``DATABASES`` entry, or raise ConfigError.

    Only PostgreSQL and SQLite are accepted. ``password`` (``DATABASE_PASSWORD``)
    replaces the URL's password, so the URL itself can be non-secret and the
    password rotated on its own.
    """
    if _unencoded_userinfo(url):
        raise ConfigError(
            "DATABASE_URL has special characters before its host that are not percent-encoded, so its password "
            "would be read as host or database: encode them (@ as %40, : as %3A, / as %2F, # as %23, ? as %3F), "
            "or leave the password out of the URL and set DATABASE_PASSWORD."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError(f"DATABASE_URL is malformed: use {ACCEPTED_URLS}.") from None
    scheme = parts.scheme.lower()
    if scheme in SQLITE_SCHEMES:
        config = environ.Env.db_url_config(url)
        config["ENGINE"] = SQLITE_ENGINE
        return config
    if scheme not in POSTGRES_SCHEMES:
        shown = f"'{scheme}'" if scheme else "none"
        raise ConfigError(
            f"DATABASE_URL has an unsupported scheme ({shown}): only PostgreSQL and SQLite "
            f"are supported; use {ACCEPTED_URLS}."
        )
    if not parts.path.strip("/"):
        raise ConfigError(f"DATABASE_URL names no database: use {ACCEPTED_URLS}.")
    try:
        config = environ.Env.db_url_config(url)
    except Exception:  # django-environ raises several types; none is safe to show
        raise ConfigError(f"DATABASE_URL is malformed: use {ACCEPTED_URLS}.") from None
    config["ENGINE"] = POSTGRES_ENGINE
    if password is not None:
        config["PASSWORD"] = password
    config["SCHEMA"] = schema or "public"
    return config


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


def ip_networks(name):
    """``$NAME`` as comma-separated IP addresses or CIDR networks (``10.0.0.0/8``), normalised."""
    networks = []
    for entry in filter(None, (part.strip() for part in os.environ.get(name, "").split(","))):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{name} has {entry!r}, which is not an IP address or network: use e.g. 10.0.0.5,10.1.0.0/16."
            ) from None
    return networks
