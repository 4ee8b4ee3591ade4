"""``lock_timeout`` for DDL that queues other sessions, and retries that name who blocked it.

An ``ALTER TABLE`` waiting for a lock blocks every query that arrives after
it. With a lock timeout the statement gives up instead, its transaction rolls
back, and it can simply be run again later: :func:`retry_lock_timeouts` waits
(doubling) and tries again, naming the sessions that blocked it each time.

Statements that wait without blocking anyone (concurrent index builds,
``VALIDATE CONSTRAINT``) are the exception: concurrent.py runs them with the
timeout off.
"""

import datetime
import re
import time
from contextlib import contextmanager

import pglock
from django.db import DEFAULT_DB_ALIAS, DatabaseError, Error, connections

from ecomind_core.db.blockers import watch_blockers
from ecomind_core.db.errors import LOCK_NOT_AVAILABLE, sqlstate

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, None: 1, "min": 60, "m": 60}
#: The longest wait between two tries after a lock timeout.
MAX_BACKOFF_SECONDS = 60


def parse_duration(text):
    """``"10s"``, ``"500ms"``, ``"2min"`` or a number of seconds; ``"0"``: no timeout (None)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 10s, 500ms or 2min")
    seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    return datetime.timedelta(seconds=seconds) if seconds else None


@contextmanager
def lock_timeout_within(timeout, using=DEFAULT_DB_ALIAS):
    """Session ``lock_timeout`` = ``timeout`` inside (None: off), the previous value after.

    django-pglock sets and restores it. When the connection died with the
    error that ends the block, restoring it fails too: that second error
    must not hide the first, which says what happened.
    """
    manager = pglock.timeout(timeout, using=using)
    manager.__enter__()
    try:
        yield
    except BaseException as exc:
        try:
            manager.__exit__(type(exc), exc, exc.__traceback__)
        except Error:
            pass  # the session is gone, and its setting with it
        raise
    manager.__exit__(None, None, None)


@contextmanager
def ddl_lock_timeout(timeout, using=DEFAULT_DB_ALIAS):
    """Session ``lock_timeout`` for everything inside (PostgreSQL, and a timeout given; else nothing)."""
    if connections[using].vendor != "postgresql" or timeout is None:
        yield
        return
    with lock_timeout_within(timeout, using):
        yield


def is_lock_timeout(exc):
    return sqlstate(exc) == LOCK_NOT_AVAILABLE


def retry_lock_timeouts(attempt, *, using=DEFAULT_DB_ALIAS, retries, first_backoff, on_retry=None,
                        gives_up=lambda exc: False):
    """``attempt()``; on a lock timeout, wait and call it again, up to ``retries`` more times.

    The waits start at ``first_backoff`` (a timedelta, None: no wait) and
    double, to at most MAX_BACKOFF_SECONDS. A second connection watches who
    blocks ``using``'s session meanwhile: ``on_retry(blockers, backoff, number)``
    is told before each wait, and the error that ends it all carries them
    (``exc.blockers``). ``gives_up(exc)`` marks lock timeouts not worth another
    try. Each try must be safe to repeat (a transaction rolled back, or
    idempotent steps).
    """
    backoff = first_backoff.total_seconds() if first_backoff else 0
    for number in range(1, retries + 2):
        with watch_blockers(using) as watch:
            try:
                return attempt()
            except DatabaseError as exc:
                if not is_lock_timeout(exc) or gives_up(exc) or number > retries:
                    if not getattr(exc, "blockers", None):
                        exc.blockers = watch.last
                    raise
                blockers = watch.last
        if on_retry:
            on_retry(blockers, backoff, number)
        time.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def run_with_lock_timeout(sql, params=None, *, using=DEFAULT_DB_ALIAS, timeout, retries, first_backoff,
                          on_retry=None):
    """One statement that queues other sessions (a rename, a swap of names): short ``lock_timeout``, retried.

    Outside a transaction each try is the statement alone; past the retries
    the lock timeout is raised with ``exc.blockers`` set.
    """
    def attempt():
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)

    with ddl_lock_timeout(timeout, using=using):
        return retry_lock_timeouts(attempt, using=using, retries=retries, first_backoff=first_backoff,
                                   on_retry=on_retry)
