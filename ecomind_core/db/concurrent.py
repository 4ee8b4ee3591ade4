"""Statements that wait for other sessions without blocking any: run with ``lock_timeout`` off, their waits reported.

``CREATE INDEX CONCURRENTLY`` waits for every transaction that holds an
older snapshot, anywhere in the database (a report, an export, ``pg_dump``
for the whole backup). ``DROP INDEX CONCURRENTLY``, ``REINDEX ...
CONCURRENTLY`` and ``DETACH PARTITION ... CONCURRENTLY`` (retention) wait the same way, and ``VALIDATE CONSTRAINT`` waits for a
``SHARE UPDATE EXCLUSIVE`` lock. Each of those waits is a lock wait, so a
short ``lock_timeout`` cancels it, and a retry starts the build again from
the first row: behind a nightly backup no index could ever be built. Yet
none of them blocks a reader or a writer while it waits (their lock modes
conflict with no ``SELECT``, ``INSERT``, ``UPDATE`` or ``DELETE``). So,
outside a transaction (where they hold nothing else), they run with the
lock timeout off, or with the separate ceiling ``MIGRATION_CONCURRENT_TIMEOUT``;
a second connection says what they wait for (pids and ages from
``pg_stat_activity``) and how far a build is (``pg_stat_progress_create_index``),
at most every :data:`REPORT_EVERY` seconds.

Statements that *do* queue other sessions (``ALTER TABLE``, ``ADD
CONSTRAINT``, renames) keep the short ``lock_timeout`` (lock_timeout.py).
"""

import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, OperationalError, connections

from ecomind_core.db.blockers import Blocker, named
from ecomind_core.db.lock_timeout import is_lock_timeout, lock_timeout_within, parse_duration

#: Seconds between two reports about the same statement, at most one per period.
REPORT_EVERY = 30
#: Seconds between two looks at the statement's session.
SAMPLE_EVERY = 1.0

_NAME = r'(?:"(?:[^"]|"")+"|[^\s"(]+)'
_QUALIFIED = rf"{_NAME}(?:\.{_NAME})?"
WAITS_WITHOUT_BLOCKING = re.compile(
    rf"""^\s*(?:
        CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b
      | DROP\s+INDEX\s+CONCURRENTLY\b
      | REINDEX\s+(?:\(.*?\)\s*)?(?:INDEX|TABLE)\s+CONCURRENTLY\b
      | ALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?{_QUALIFIED}\s+VALIDATE\s+CONSTRAINT\s+{_NAME}\s*;?\s*$
      | ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?{_QUALIFIED}\s+DETACH\s+PARTITION\s+{_QUALIFIED}\s+(?:CONCURRENTLY|FINALIZE)\s*;?\s*$
    )""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)


def waits_without_blocking(sql):
    """True for a statement whose lock waits hold up no reader or writer (see the module's docstring)."""
    return bool(WAITS_WITHOUT_BLOCKING.match(str(sql)))


class ConcurrentWaitTimeout(OperationalError):
    """A concurrent statement waited longer than ``MIGRATION_CONCURRENT_TIMEOUT`` for one other session."""

    def __init__(self, statement, ceiling_text, blockers):
        self.statement, self.ceiling_text, self.blockers = statement, ceiling_text, blockers
        who = named(blockers, "another session's transaction")
        super().__init__(
            f"{summarise(statement)} waited longer than MIGRATION_CONCURRENT_TIMEOUT ({ceiling_text}) for {who}"
        )


@dataclass
class Policy:
    #: The ceiling on one wait, as the operator wrote it ("0": none).
    ceiling_text: str
    #: Called with one line of text; None: nobody to tell.
    report: object = None


_policy = threading.local()


def current_policy():
    policy = getattr(_policy, "value", None)
    if policy is None:
        policy = Policy(settings.MIGRATION_CONCURRENT_TIMEOUT)
    return policy


@contextmanager
def concurrent_policy(*, ceiling_text=None, report=None):
    """Within: concurrent statements use this ceiling (default the setting) and tell ``report(line)`` about waits."""
    previous = getattr(_policy, "value", None)
    _policy.value = Policy(settings.MIGRATION_CONCURRENT_TIMEOUT if ceiling_text is None else ceiling_text, report)
    try:
        yield _policy.value
    finally:
        _policy.value = previous


def summarise(sql, limit=120):
    text = " ".join(str(sql).split()).rstrip(";")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_concurrently(connection, sql, params=None):
    """Run one statement that waits without blocking: lock timeout off (or the ceiling), waits reported.

    ``connection`` is a Django connection in autocommit mode (inside a
    transaction the statement would hold earlier locks while it waits, so it
    is run as it is, under the session's short lock timeout).
    """
    if connection.vendor != "postgresql" or not connection.get_autocommit():
        with connection.cursor() as cursor:
            return cursor.execute(sql, params)
    policy = current_policy()
    ceiling = parse_duration(policy.ceiling_text)
    with lock_timeout_within(ceiling, connection.alias), watch_concurrent(connection, sql, policy) as watch:
        try:
            with connection.cursor() as cursor:
                return cursor.execute(sql, params)
        except DatabaseError as exc:
            if ceiling is not None and is_lock_timeout(exc):
                raise ConcurrentWaitTimeout(sql, policy.ceiling_text, watch.last_blockers) from exc
            raise


# -- watching -----------------------------------------------------------------

SESSION_SQL = """
SELECT a.wait_event_type, a.wait_event, p.phase, p.current_locker_pid, p.lockers_total, p.lockers_done,
       p.blocks_total, p.blocks_done
FROM pg_stat_activity a LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
WHERE a.pid = %s
"""
WAITED_FOR_SQL = """
SELECT pid, coalesce(nullif(application_name, ''), '(no application name)'), coalesce(state, 'unknown'),
       extract(epoch FROM now() - xact_start)::int
FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids(%s)) OR pid = %s ORDER BY xact_start
"""


@dataclass(frozen=True)
class Sample:
    waiting: bool
    phase: str | None
    blockers: tuple
    lockers: tuple | None  # (done, total)
    blocks: tuple | None  # (done, total)

    def line(self, statement, ceiling_text):
        what = summarise(statement, 90)
        phase = f" ({self.phase})" if self.phase else ""
        if self.waiting:
            who = named(self.blockers, "another session")
            limit = "no limit" if parse_duration(ceiling_text) is None else f"at most {ceiling_text} per wait"
            return (f"waiting for {who} to end: {what}{phase}; it blocks no one meanwhile "
                    f"(lock_timeout off; MIGRATION_CONCURRENT_TIMEOUT: {limit})")
        progress = ""
        if self.blocks and self.blocks[1]:
            done, total = self.blocks
            progress = f", {done:,} of {total:,} blocks ({100 * done // total}%)"
        return f"still running: {what}{phase}{progress}"


class ConcurrentWatch:
    """A thread with its own connection that looks at the statement's session every second and reports."""

    def __init__(self, alias, pid, statement, policy):
        self.alias, self.pid, self.statement, self.policy = alias, pid, statement, policy
        self.last_blockers = ()
        ceiling = parse_duration(policy.ceiling_text)
        # Often enough to have seen who it waited for before the ceiling ends the wait.
        self.every = min(SAMPLE_EVERY, ceiling.total_seconds() / 4) if ceiling else SAMPLE_EVERY
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="concurrent-watch", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        connection = connections[self.alias]  # this thread's own connection
        started = time.monotonic()
        reported_at = None
        try:
            while not self._stop.wait(self.every):
                sample = self.sample(connection)
                if sample is None:
                    continue
                if sample.blockers:
                    self.last_blockers = sample.blockers
                now = time.monotonic()
                # A wait is worth a line at once; a build that runs is worth one after REPORT_EVERY.
                due = (now - reported_at >= REPORT_EVERY) if reported_at is not None else (
                    sample.waiting or now - started >= REPORT_EVERY)
                if due and self.policy.report and not self._stop.is_set():
                    self.policy.report(sample.line(self.statement, self.policy.ceiling_text))
                    reported_at = now
        except DatabaseError:
            pass  # the report is a courtesy: never fail the statement for it
        finally:
            connection.close()

    def sample(self, connection):
        with connection.cursor() as cursor:
            cursor.execute(SESSION_SQL, [self.pid])
            row = cursor.fetchone()
            if row is None:
                return None
            wait_type, _event, phase, locker, lockers_total, lockers_done, blocks_total, blocks_done = row
            waiting = wait_type == "Lock"
            blockers = ()
            if waiting:
                cursor.execute(WAITED_FOR_SQL, [self.pid, locker or 0])
                blockers = tuple(Blocker(*r) for r in cursor.fetchall() if r[0] != self.pid)
        return Sample(waiting, phase, blockers, (lockers_done, lockers_total) if lockers_total else None,
                      (blocks_done, blocks_total) if blocks_total else None)


@contextmanager
def watch_concurrent(connection, statement, policy):
    """Report the statement's waits and progress while inside (if the policy has someone to tell, or a ceiling)."""
    if policy.report is None and parse_duration(policy.ceiling_text) is None:
        yield ConcurrentWatch(connection.alias, None, statement, policy)
        return
    connection.ensure_connection()
    watch = ConcurrentWatch(connection.alias, connection.connection.info.backend_pid, statement, policy)
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()


