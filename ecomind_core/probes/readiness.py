"""Is this process ready to serve: does the database answer, with every
migration this release needs before serving applied?

Cheap enough for a probe every few seconds: the migration graph is read from
disk once per process, and each probe runs one query (``SELECT app, name FROM
django_migrations``) on a connection of the probe's own, kept open between
probes, under a ``statement_timeout``.

A kept connection proves nothing about signing in: after a password
rotation nobody finished, open sessions go on working while every new
connection of the app is refused. So at least every
:data:`FRESH_CONNECTION_EVERY` seconds the probe closes its connection and
signs in again, with the credentials the app would use now (the backend
reads the secret files again for each new connection:
ecomind_core/db/credentials.py); a refusal makes it "unavailable".

Which unapplied migrations matter is
:func:`ecomind_core.migration_safety.stages.unapplied_before_serving`: post-deploy
ones (a column drop) may be pending while the release serves.

A probe answers within :data:`DEADLINE` whatever the database does. libpq
waits at least 2 s for a connection, and a blackholed address hangs until
then, so the query runs in one background thread per process and the probe
waits for it no longer than the deadline. While a check that missed its
deadline still runs, probes answer "unavailable" at once instead of queueing
behind it.
"""

import copy
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as DeadlineMissed
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.migrations.loader import MigrationLoader
from django.db.utils import load_backend

from ecomind_core.db.redaction import describe, redact
from ecomind_core.migration_safety.stages import unapplied_before_serving

#: Seconds a probe waits for the database check: the contract is an answer within 2 s.
DEADLINE = 1.5
#: The probe's query gives up after this long on the server (e.g. behind a lock).
STATEMENT_TIMEOUT_MS = 1000
#: Seconds after which the probe signs in afresh rather than reuse its connection.
FRESH_CONNECTION_EVERY = 10.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """One readiness answer. ``problem`` is for the server's log only, never the response."""

    database_ok: bool
    pending: tuple = ()  # "app.name" of each unapplied migration needed before serving
    problem: str = ""

    @property
    def ready(self):
        return self.database_ok and not self.pending

    def body(self):
        """The response body: statuses and migration names, nothing about the server."""
        if not self.database_ok:
            return {"status": "not ready", "database": "unavailable"}
        return {"status": "ready" if self.ready else "not ready", "database": "ok", "pending_migrations": list(self.pending)}


@functools.cache
def migration_graph():
    """The migrations on disk (a loader with nothing applied), read once per process."""
    return MigrationLoader(None, ignore_no_migrations=True)


def pending_before_serving(applied):
    """``app.name`` of each migration needed before serving that ``applied`` lacks."""
    loader = copy.copy(migration_graph())  # shares the graph; only the applied set is this probe's
    applied = set(applied)
    # A squashed migration counts as applied once all it replaces are, as for migrate.
    applied |= {key for key, migration in loader.replacements.items() if set(migration.replaces) <= applied}
    loader.applied_migrations = dict.fromkeys(applied)
    return tuple(f"{app}.{name}" for app, name in unapplied_before_serving(loader))


class ReadinessCheck:
    """Call it for a :class:`Verdict`, in at most :data:`DEADLINE` seconds."""

    def __init__(self, using=DEFAULT_DB_ALIAS):
        self.using = using
        migration_graph()  # read at start-up, not during the first probe
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz")
        self._late = None  # a check that missed its deadline and is still running
        self._connection = None  # opened and used in the executor's thread only
        self._signed_in_at = None  # when that connection signed in (time.monotonic())
        self._last_body = None

    def __call__(self):
        if self._late is not None and not self._late.done():
            verdict = Verdict(False, problem=f"an earlier check is still waiting for the database (over {DEADLINE}s)")
        else:
            self._late = None
            future = self._executor.submit(self._check)
            try:
                verdict = future.result(timeout=DEADLINE)
            except DeadlineMissed:
                self._late = future
                verdict = Verdict(False, problem=f"{describe(self.using)} did not answer within {DEADLINE}s")
        self._log_change(verdict)
        return verdict

    def _check(self):
        try:
            return Verdict(True, pending_before_serving(self._applied_migrations()))
        except DatabaseError as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            return Verdict(False, problem=redact(f"{describe(self.using)}: {detail}", self.using))

    def _applied_migrations(self):
        if self._connection is None:
            self._connection = self._new_connection()
        if self._connection.connection is not None and time.monotonic() - self._signed_in_at >= FRESH_CONNECTION_EVERY:
            self._connection.close()  # sign in again: the credentials may have changed, or stopped working
        reused = self._connection.connection is not None
        try:
            return self._query_applied()
        except (OperationalError, InterfaceError):
            self._connection.close()
            if not reused:
                raise
        # The kept connection had gone (a database restart, a killed backend):
        # once more on a new one, rather than fail until the process restarts.
        return self._query_applied()

    def _query_applied(self):
        if self._connection.connection is None:
            self._connection.ensure_connection()
            self._signed_in_at = time.monotonic()
        with self._connection.cursor() as cursor:
            try:
                cursor.execute("SELECT app, name FROM django_migrations")
            except DatabaseError:
                if "django_migrations" in self._connection.introspection.table_names(cursor):
                    raise
                return []  # nothing has migrated this database yet
            return cursor.fetchall()

    def _new_connection(self):
        """A connection of the probe's own, so its statement_timeout touches nothing else."""
        settings = copy.deepcopy(connections.settings[self.using])
        connection = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, self.using)
        if connection.vendor == "postgresql":
            options = settings["OPTIONS"]
            options["options"] = f"{options.get('options', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
        return connection

    def _log_change(self, verdict):
        body = verdict.body()
        if body == self._last_body:
            return
        self._last_body = body
        if verdict.ready:
            logger.info("readiness: ready")
        elif verdict.database_ok:
            logger.warning("readiness: not ready, migrations pending before serving: %s", ", ".join(verdict.pending))
        else:
            logger.warning("readiness: not ready, %s", verdict.problem)
