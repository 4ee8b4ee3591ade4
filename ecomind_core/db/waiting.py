"""Wait for a database to accept connections, as a deploy job must."""

import time

from django.db import InterfaceError, OperationalError, connections


def wait_for_database(using, seconds, *, interval=1.0, on_retry=None):
    """Connect to ``using``, retrying for up to ``seconds``.

    Raises the last connection error once the time is up; ``on_retry(exc,
    remaining)`` is called before each further try.
    """
    deadline = time.monotonic() + max(seconds, 0)
    while True:
        try:
            connections[using].ensure_connection()
            return
        except (OperationalError, InterfaceError) as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            if on_retry:
                on_retry(exc, remaining)
            time.sleep(min(interval, remaining))
