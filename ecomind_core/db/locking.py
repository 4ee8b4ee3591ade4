"""The one lock every schema change takes: ``migrate`` and ``baseline``.

A PostgreSQL session-level advisory lock (django-pglock), held on the
command's own connection for its whole run. Replicas that start ``migrate``
together queue on it; each later one then finds nothing left to do. If a
holder dies (SIGKILL, lost node), PostgreSQL releases the lock with its
session, so nothing is ever left locked.
"""

from contextlib import contextmanager

import pglock
from django.db import DEFAULT_DB_ALIAS, connections

#: Fixed, documented id (docs/deployment/migrations.md): operators can see
#: who holds it with ``SELECT * FROM pg_locks WHERE locktype = 'advisory'``.
MIGRATION_LOCK_ID = "ecomind:schema-migrations"


@contextmanager
def migration_lock(using=DEFAULT_DB_ALIAS):
    """Hold the migration lock on ``using`` (no-op on SQLite, a single file)."""
    if connections[using].vendor != "postgresql":
        yield
        return
    # timeout=None: wait as long as the holder works (the deploy job's own
    # deadline bounds it), with no lock_timeout applying to this wait.
    with pglock.advisory(MIGRATION_LOCK_ID, using=using, timeout=None, side_effect=pglock.Raise):
        yield


def lock_id():
    """The 64-bit key PostgreSQL shows in ``pg_locks`` for :data:`MIGRATION_LOCK_ID`."""
    return pglock.advisory(MIGRATION_LOCK_ID).int_lock_id
