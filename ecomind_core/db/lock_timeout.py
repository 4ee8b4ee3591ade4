"""``lock_timeout`` for DDL, so a migration never queues every writer behind it.

An ``ALTER TABLE`` waiting for a lock blocks every query that arrives after
it. With a lock timeout the migration gives up instead, its transaction rolls
back, and it can simply be run again later.
"""

import datetime
import re
from contextlib import contextmanager

import pglock
from django.db import DEFAULT_DB_ALIAS, connections

from ecomind_core.db.errors import LOCK_NOT_AVAILABLE, sqlstate

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, None: 1, "min": 60, "m": 60}


def parse_duration(text):
    """``"10s"``, ``"500ms"``, ``"2min"`` or a number of seconds; ``"0"``: no timeout (None)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 10s, 500ms or 2min")
    seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    return datetime.timedelta(seconds=seconds) if seconds else None


@contextmanager
def ddl_lock_timeout(timeout, using=DEFAULT_DB_ALIAS):
    """Session ``lock_timeout`` for everything inside (PostgreSQL; else nothing)."""
    if connections[using].vendor != "postgresql" or timeout is None:
        yield
        return
    with pglock.timeout(timeout, using=using):
        yield


def is_lock_timeout(exc):
    return sqlstate(exc) == LOCK_NOT_AVAILABLE
