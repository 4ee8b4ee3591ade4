"""Who is blocking a session: watched while a migration waits for table locks.

When ``lock_timeout`` cancels a statement, the sessions it waited for are no
longer visible from the failed one. A thread with its own connection looks
every ``interval`` seconds at ``pg_blocking_pids`` of the migrating session
and keeps the last sessions seen blocking it, so that the message can name
them (pid, application, state, transaction age) for the operator.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, connections

BLOCKERS_SQL = """
SELECT pid, coalesce(nullif(application_name, ''), '(no application name)'), coalesce(state, 'unknown'),
       extract(epoch FROM now() - xact_start)::int
FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids(%s)) ORDER BY xact_start
"""


@dataclass(frozen=True)
class Blocker:
    pid: int
    application: str
    state: str
    #: Seconds its transaction has been open (None: none open).
    transaction_age: int | None

    def __str__(self):
        age = "no transaction" if self.transaction_age is None else f"transaction open {_duration(self.transaction_age)}"
        return f"pid {self.pid} ({self.application}, {self.state}, {age})"


def named(blockers, none_seen="a session that has since finished"):
    """The blocking sessions for a message; ``none_seen`` when the watch saw none (it ended before a look)."""
    return "; ".join(str(b) for b in blockers or []) or none_seen


def _duration(seconds):
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class BlockerWatch:
    def __init__(self, using, pid, interval):
        self.using, self.pid, self.interval = using, pid, interval
        self.last = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blocker-watch", daemon=True)

    def _run(self):
        # Django gives this thread its own connection.
        connection = connections[self.using]
        try:
            while not self._stop.wait(self.interval):
                with connection.cursor() as cursor:
                    cursor.execute(BLOCKERS_SQL, [self.pid])
                    seen = [Blocker(*row) for row in cursor.fetchall()]
                if seen:
                    self.last = seen
        except DatabaseError:
            pass  # the watch is a courtesy: never fail the migration for it
        finally:
            connection.close()


@contextmanager
def watch_blockers(using, interval=0.25):
    """Watch who blocks ``using``'s session while inside; yields the watch (``.last``)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield BlockerWatch(using, None, interval)
        return
    connection.ensure_connection()
    watch = BlockerWatch(using, connection.connection.info.backend_pid, interval)
    watch._thread.start()
    try:
        yield watch
    finally:
        watch._stop.set()
        watch._thread.join(timeout=5)
