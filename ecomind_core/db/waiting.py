"""Wait for a database to accept connections, as a deploy job must."""

import time

from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connections

from ecomind_core.db.target import connection_problem

#: Exit code when the database never became reachable.
UNREACHABLE = 2


def wait_for_database(using, seconds, *, interval=1.0, on_retry=None):
    """Connect to ``using``, retrying for up to ``seconds``; then one clear CommandError."""
    deadline = time.monotonic() + max(seconds, 0)
    while True:
        try:
            connections[using].ensure_connection()
            return
        except (OperationalError, InterfaceError) as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CommandError(
                    f"{connection_problem(exc, using)} (gave up after waiting {seconds}s; "
                    "raise --wait or MIGRATION_DB_WAIT to wait longer)",
                    returncode=UNREACHABLE,
                ) from None
            if on_retry:
                on_retry(exc, remaining)
            time.sleep(min(interval, remaining))
