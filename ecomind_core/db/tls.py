"""TLS to the database: is the server's certificate checked, and a ``check --deploy`` warning when not.

libpq's default ``sslmode=prefer`` encrypts when the server offers TLS but
never checks its certificate, so the password goes to whoever answers at
the database's address (a hijacked DNS name, a spoofed IP). Only
``verify-ca`` (signed by the CA bundle in ``sslrootcert``) and
``verify-full`` (that, and issued for the host connected to) check it.

A loopback address or a Unix socket never leaves the machine (or the pod:
a sidecar proxy such as the Cloud SQL Auth Proxy listens on 127.0.0.1 and
does TLS itself), so the check stays quiet for them.
"""

import ipaddress
import os

from django.conf import settings
from django.core import checks
from django.db import connections

from ecomind.config import VERIFYING_SSLMODES

LIBPQ_DEFAULT_SSLMODE = "prefer"


def effective(settings_dict, key, env_var, default=None):
    """A libpq parameter as libpq will see it: the settings' OPTIONS, then its environment variable."""
    return (settings_dict.get("OPTIONS") or {}).get(key) or os.environ.get(env_var) or default


def hosts(settings_dict):
    """The hosts libpq connects to: ``HOST``, else the ``host`` option, else ``PGHOST`` (comma-separated lists split)."""
    value = settings_dict.get("HOST") or effective(settings_dict, "host", "PGHOST", "")
    return [host.strip() for host in str(value).split(",")] or [""]


def is_local(host):
    """A Unix socket (no host, or a path) or a loopback address: nothing crosses a network."""
    if not host or host.startswith(("/", "@")) or host.lower().startswith("%2f"):
        return True
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unverified_remote_hosts(settings_dict):
    """The hosts reached over a network without the server's certificate checked (empty when all is well)."""
    if settings_dict.get("ENGINE", "").endswith("sqlite3"):
        return []
    if effective(settings_dict, "sslmode", "PGSSLMODE", LIBPQ_DEFAULT_SSLMODE) in VERIFYING_SSLMODES:
        return []
    return [host for host in hosts(settings_dict) if not is_local(host)]


@checks.register(checks.Tags.security, deploy=True)
def check_database_tls(app_configs=None, **kwargs):
    """``check --deploy``: a database across a network must have its certificate checked."""
    if settings.DEBUG:
        return []
    warnings = []
    for alias in connections:
        settings_dict = connections.settings[alias]
        remote = unverified_remote_hosts(settings_dict)
        if remote:
            sslmode = effective(settings_dict, "sslmode", "PGSSLMODE", LIBPQ_DEFAULT_SSLMODE)
            warnings.append(checks.Warning(
                f"Database {alias!r} at {', '.join(remote)} is reached with sslmode={sslmode}, which does not check the "
                "server's certificate: the password goes to whoever answers at that address.",
                hint="Set DATABASE_SSLMODE=verify-full (or sslmode=verify-full in DATABASE_URL) and "
                     "DATABASE_SSLROOTCERT_FILE to your provider's CA bundle (docs/deployment/secrets.md, \"TLS\").",
                id="ecomind.W001",
            ))
    return warnings


#: libpq's words for a certificate it refused, and what to do about each.
CERTIFICATE_HINTS = (
    ("does not match host name", "the certificate names another host: connect to a name it holds (sslmode=verify-full)"),
    ("certificate verify failed", "the server's certificate is not signed by the CA bundle in sslrootcert "
                                  "(DATABASE_SSLROOTCERT_FILE): use your provider's current bundle"),
    ("root certificate file", "sslrootcert (DATABASE_SSLROOTCERT_FILE) names no readable CA bundle"),
)


def certificate_hint(detail):
    """What to do about a refused certificate in libpq's ``detail``, or ``""``."""
    return next((hint for words, hint in CERTIFICATE_HINTS if words in detail), "")
