"""Database credentials as they are now: read again for each new connection.

Kubernetes Secrets mounted as files, and the Secrets Store CSI driver, rewrite
``DATABASE_PASSWORD_FILE`` / ``DATABASE_URL_FILE`` in place when a password
is rotated. Reading them once at start-up would leave every process with
the old password until it restarts, and every new connection would fail.
So each new connection reads them again (a few microseconds; with
``CONN_MAX_AGE`` that is once per process per minute, not per request) and
applies what changed. Connections already open keep working: PostgreSQL
checks a password only when a session starts.

After an authentication failure the backend reads the files again and
tries once more
(:meth:`ecomind_core.db.backends.postgresql.base.DatabaseWrapper.get_new_connection`):

* with the files' credentials, if they changed meanwhile (the database was
  changed first, the file a moment later);
* otherwise with the credentials that last signed in, if they differ (the
  file was changed first, and ``ALTER ROLE`` has not run yet); should those
  be refused too, ``ALTER ROLE`` ran between the two attempts, and the
  files' credentials get one last try.

So a single-user rotation done file first, then ``ALTER ROLE``, fails no
connection at all (docs/deployment/secrets.md; tests/test_rotation_under_load.py
streams requests through it). Nothing here ever logs or raises a password;
a file that cannot be read keeps the values read before.
"""

import logging
import re
import threading

from ecomind.config import ConfigError, database_from_url, fingerprint, read_secret_file

logger = logging.getLogger(__name__)

#: The connection parameters that say who signs in where: what a rotation changes.
CREDENTIAL_PARAMS = ("dbname", "user", "password", "host", "port", "sslmode", "sslrootcert")
#: What PostgreSQL answers a wrong password or an unknown role (a rotation to the other of
#: two roles not done yet); psycopg gives no SQLSTATE for a connection that failed.
AUTHENTICATION_FAILED = re.compile(r'FATAL: +(password authentication failed for user|role "[^"]*" does not exist)')
AUTHENTICATION_SQLSTATES = ("28P01", "28000")  # invalid_password, invalid_authorization_specification

_lock = threading.Lock()
#: alias -> the credential parameters of the last connection that signed in.
_last_good = {}
#: Warnings said once per process (by their text, which never holds a secret).
_said = set()


def _warn_once(message, *args):
    text = message % args
    if text not in _said:
        _said.add(text)
        logger.warning(text)


def refresh(settings_dict):
    """Read the credential files of ``settings_dict`` again; apply what changed. True when something did."""
    sources = settings_dict.get("CREDENTIAL_FILES")
    if not sources:
        return False
    with _lock:
        try:
            updates, files = _read(settings_dict, sources)
        except ConfigError as exc:  # a file gone or empty mid-update: keep what worked, say why once
            _warn_once("database credentials not re-read, still using the ones read before: %s", exc)
            return False
        if not updates:
            return False
        options = updates.pop("OPTIONS", None)
        settings_dict.update(updates)
        if options is not None:
            settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **options}
        logger.info("database credentials changed in %s; new connections use them", " and ".join(files))
        return True


def _read(settings_dict, sources):
    """``(settings that differ, files they came from)``; nothing when the files are as last applied."""
    seen = sources.setdefault("seen", {})
    texts = {name: read_secret_file(name, sources[key])
             for name, key in (("DATABASE_URL_FILE", "url_file"), ("DATABASE_PASSWORD_FILE", "password_file"))
             if sources.get(key)}
    fingerprints = {name: fingerprint(text) for name, text in texts.items()}
    changed_files = [name for name in fingerprints if fingerprints[name] != seen.get(name)]
    if not changed_files:
        return {}, []
    wanted = {}
    if "DATABASE_URL_FILE" in changed_files:
        password = texts.get("DATABASE_PASSWORD_FILE") or (settings_dict["PASSWORD"] if sources.get("password_fixed") else None)
        fresh = database_from_url(texts["DATABASE_URL_FILE"], password=password, schema=settings_dict.get("SCHEMA"),
                                  sslmode=sources.get("sslmode"), sslrootcert=sources.get("sslrootcert"))
        if fresh["ENGINE"] != settings_dict["ENGINE"]:
            raise ConfigError("DATABASE_URL_FILE now names another kind of database; restart the process to switch")
        wanted = {key: fresh[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
        wanted["OPTIONS"] = {**settings_dict["OPTIONS"], **fresh["OPTIONS"]}
    if "DATABASE_PASSWORD_FILE" in texts:
        wanted["PASSWORD"] = texts["DATABASE_PASSWORD_FILE"]
    seen.clear()
    seen.update(fingerprints)
    updates = {key: value for key, value in wanted.items() if settings_dict.get(key) != value}
    return updates, changed_files


def is_authentication_failure(exc):
    """True when the server refused to sign the connection in (not: could not be reached)."""
    return getattr(exc, "sqlstate", None) in AUTHENTICATION_SQLSTATES or bool(AUTHENTICATION_FAILED.search(str(exc)))


def credentials(params):
    return {key: params.get(key) for key in CREDENTIAL_PARAMS}


def remember(alias, params):
    """``params`` signed in: the credentials to fall back on while a rotation is half done."""
    _last_good[alias] = credentials(params)


def last_good(alias, tried):
    """``tried`` with the credentials that last signed in, or None when those are the ones that just failed."""
    good = _last_good.get(alias)
    if good is None or good == credentials(tried):
        return None
    _warn_once("database refused the credentials read last (from DATABASE_URL_FILE or DATABASE_PASSWORD_FILE); "
               "signing in with the previous ones until the database accepts the new (a rotation under way?)")
    params = {key: value for key, value in tried.items() if key not in CREDENTIAL_PARAMS}
    return {**params, **{key: value for key, value in good.items() if value is not None}}
