"""The one lock every schema change takes: ``migrate`` and ``baseline``.

A PostgreSQL session-level advisory lock (django-pglock), held on the
command's own connection for its whole run. Replicas that start ``migrate``
together queue on it; each later one then finds nothing left to do. If a
holder dies (SIGKILL, lost node), PostgreSQL releases the lock with its
session, so nothing is ever left locked.

Waiters poll with ``pg_try_advisory_lock`` instead of blocking in
``pg_advisory_lock``: a blocked statement is an open transaction, and
``CREATE INDEX CONCURRENTLY`` in the holder's migration waits for every open
transaction to finish, so blocked waiters and the holder would deadlock.
"""

import time
from contextlib import contextmanager

import pglock
from django.db import DEFAULT_DB_ALIAS, Error, connections

#: Fixed, documented id (docs/deployment/migrations.md): operators can see
#: who holds it with ``SELECT * FROM pg_locks WHERE locktype = 'advisory'``.
MIGRATION_LOCK_ID = "ecomind:schema-migrations"
#: Seconds between two tries while another run holds the lock.
POLL_INTERVAL = 0.5


@contextmanager
def migration_lock(using=DEFAULT_DB_ALIAS, *, on_wait=None):
    """Hold the migration lock on ``using`` (no-op on SQLite, a single file).

    Waits as long as the holder works (the deploy job's own deadline bounds
    it); ``on_wait()`` is called once if it has to wait.
    """
    if connections[using].vendor != "postgresql":
        yield
        return
    lock = pglock.advisory(MIGRATION_LOCK_ID, using=using, timeout=0, side_effect=pglock.Return)
    waited = False
    while not lock.acquire():
        if not waited and on_wait:
            on_wait()
        waited = True
        time.sleep(POLL_INTERVAL)
    try:
        yield
    except BaseException:
        release_after_error(lock)
        raise
    lock.release()


def release_after_error(lock):
    """Release the lock while an error ends the run, never hiding that error.

    When the error is the connection dying (a terminated backend, a lost
    server), the release fails too, and PostgreSQL has already released the
    lock with the session: that failure is not what the operator must read.
    """
    try:
        lock.release()
    except Error:  # DatabaseError or InterfaceError ("the connection is closed")
        pass


def lock_id():
    """The 64-bit key PostgreSQL shows in ``pg_locks`` for :data:`MIGRATION_LOCK_ID`."""
    return pglock.advisory(MIGRATION_LOCK_ID).int_lock_id
