"""Django's ``migrate``, made safe to run as a deploy job.

Everything of the stock command stays (same flags, same output), with
django-syzygy's ``--pre-deploy`` (apply only the migrations that are safe
while the previous release still runs; ``ecomind_core/migration_safety/stages.py``).
Around it:

1. wait up to ``--wait`` seconds for the database to accept connections;
2. take the migration advisory lock (ecomind_core/db/locking.py) for the
   whole run, so replicas started together queue, and the later ones find
   nothing left to do;
3. run every statement that queues other sessions with ``lock_timeout``
   (``--lock-timeout``), so DDL never holds writers up behind a long
   transaction; on a timeout, try again with backoff (``--lock-retries``),
   naming the sessions that blocked it. Concurrent builds and ``VALIDATE``
   block no one while they wait: they run with the timeout off (or
   ``MIGRATION_CONCURRENT_TIMEOUT``), and what they wait for is reported
   (ecomind_core/db/concurrent.py);
4. refuse, before writing anything, a database that already holds EcoMind's
   tables without their migrations recorded (adopt it with ``baseline``).

Exit codes (exit_codes.py, docs/deployment/migrations.md): 0 done or
nothing to do; 1 a migration failed (rolled back); 2 a bad flag, the
configuration, or the database unreachable; 3 the lock timeout hit (rolled
back; re-running is safe).
"""

import argparse

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, InterfaceError, OperationalError
from syzygy.management.commands import migrate

from ecomind_core.baseline.guard import unadopted_tables
from ecomind_core.db.backends.postgresql.base import SchemaMissing
from ecomind_core.db.concurrent import ConcurrentWaitTimeout, concurrent_policy
from ecomind_core.db.errors import DUPLICATE_TABLE, sqlstate
from ecomind_core.db.lock_timeout import ddl_lock_timeout, is_lock_timeout, parse_duration, retry_lock_timeouts
from ecomind_core.db.locking import migration_lock
from ecomind_core.db.redaction import connection_problem, redact
from ecomind_core.db.waiting import wait_for_database
from ecomind_core.management.base import DatabaseCommandMixin, cannot_run
from ecomind_core.management.exit_codes import ExitCode


class Command(DatabaseCommandMixin, migrate.Command):
    help = migrate.Command.help + (
        " Waits for the database, holds a PostgreSQL advisory lock for the whole run (concurrent runs queue), "
        "and runs DDL with lock_timeout."
    )
    connect_first = False  # it waits for the database itself (--wait)
    #: The migration being applied or unapplied now (None between migrations).
    applying = None
    #: Django's "Applying x..." is on the line, waiting for its " OK".
    mid_line = False

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # syzygy's quorum (replicas agreeing through a shared cache) is what
        # the migration lock already does here: not offered.
        for action in parser._actions:
            if action.dest in ("quorum", "quorum_timeout"):
                action.help = argparse.SUPPRESS
        parser.add_argument(
            "--wait", type=int, metavar="SECONDS", default=None,
            help="Seconds to wait for the database to accept connections (default: MIGRATION_DB_WAIT, 30).",
        )
        parser.add_argument(
            "--lock-timeout", metavar="DURATION", default=None,
            help="lock_timeout for each statement, e.g. 10s, 500ms, 0 for none (default: MIGRATION_LOCK_TIMEOUT, 2s).",
        )
        parser.add_argument(
            "--lock-retries", type=int, metavar="N", default=None,
            help="Tries after a lock timeout, waiting MIGRATION_LOCK_RETRY_WAIT (2s) and doubling "
                 "(default: MIGRATION_LOCK_RETRIES, 5); then exit 3.",
        )

    def handle(self, *args, **options):
        database = options["database"]
        self.verbosity = options["verbosity"]
        wait = settings.MIGRATION_DB_WAIT if options["wait"] is None else options["wait"]
        self.lock_timeout_text = options["lock_timeout"] or settings.MIGRATION_LOCK_TIMEOUT
        retries = settings.MIGRATION_LOCK_RETRIES if options["lock_retries"] is None else options["lock_retries"]
        self.retries = retries
        if wait < 0:
            raise cannot_run("--wait must be zero or more seconds.")
        if retries < 0:
            raise cannot_run("--lock-retries must be zero or more.")
        try:
            timeout = parse_duration(self.lock_timeout_text)
            first_backoff = parse_duration(settings.MIGRATION_LOCK_RETRY_WAIT)
            parse_duration(settings.MIGRATION_CONCURRENT_TIMEOUT)
        except ValueError as exc:
            raise cannot_run(
                f"--lock-timeout / MIGRATION_LOCK_TIMEOUT / MIGRATION_LOCK_RETRY_WAIT / MIGRATION_CONCURRENT_TIMEOUT: {exc}."
            ) from None

        try:
            wait_for_database(database, wait, on_retry=self.say_waiting)
        except (OperationalError, InterfaceError) as exc:
            raise cannot_run(
                f"{connection_problem(exc, database)} (gave up after waiting {wait}s; "
                "raise --wait or MIGRATION_DB_WAIT to wait longer)"
            ) from None
        try:
            with migration_lock(using=database, on_wait=self.say_lock_waiting), ddl_lock_timeout(timeout, using=database), \
                    concurrent_policy(report=self.say_concurrent_waiting):
                self.refuse_unadopted_database(options)
                self.migrate_with_retries(args, options, retries, first_backoff)
        except DatabaseError as exc:
            raise self.failure(exc) from None

    def refuse_unadopted_database(self, options):
        if options["fake"]:
            return  # the operator records by hand, knowingly
        tables = unadopted_tables(self.connection)
        if tables:
            raise CommandError(
                f"this database already holds EcoMind tables that no migration has recorded ({', '.join(tables)}): "
                "it is an existing database. Adopt it with `manage.py baseline --dry-run`, then `baseline` "
                "(docs/runbooks/baselining.md). Nothing was written.", returncode=ExitCode.FOUND,
            )

    def migrate_with_retries(self, args, options, retries, first_backoff):
        """Django's migrate; on a lock timeout, wait and try again, up to ``retries`` more times.

        Each try starts where the last stopped: an atomic migration that hit
        the timeout was rolled back whole, a non-atomic one keeps its finished
        steps (each safe operation looks at the catalog first). A concurrent
        wait past MIGRATION_CONCURRENT_TIMEOUT is not retried: the operator's
        ceiling says stop.
        """
        def attempt():
            self.applying = None  # each try names only the migration it is in
            return super(Command, self).handle(*args, **options)

        return retry_lock_timeouts(
            attempt, using=self.using, retries=retries, first_backoff=first_backoff, on_retry=self.say_retrying,
            gives_up=lambda exc: isinstance(exc, ConcurrentWaitTimeout),
        )

    def say_retrying(self, blockers, backoff, number):
        if self.verbosity >= 1:
            who = "; ".join(str(b) for b in blockers) or "a session that has since finished"
            self.end_line()
            self.stdout.write(
                f"lock_timeout ({self.lock_timeout_text}) hit in {self.applying or 'a migration'}, blocked by {who}; "
                f"retrying in {backoff:g}s ({number} of {self.retries})..."
            )

    def say_concurrent_waiting(self, line):
        """What a concurrent build or VALIDATE waits for, at most every 30 s (from another thread)."""
        if self.verbosity >= 1:
            self.end_line()
            self.stdout.write(f"  {line}")

    def end_line(self):
        if self.mid_line:
            self.stdout.write("")
            self.mid_line = False

    def failure(self, exc):
        """The one-line CommandError for a database error that ended the run."""
        detail = redact(" ".join(str(exc).split()), self.using)
        if isinstance(exc, SchemaMissing):
            return cannot_run(f"{detail}. Nothing was written.")
        if isinstance(exc, ConcurrentWaitTimeout):
            return CommandError(
                f"{redact(str(exc), self.using)}. {self.applying or 'The migration'} is not atomic: the steps before "
                "this one stay applied, and an index being built is left INVALID; re-running keeps the finished "
                "steps and builds it again. Re-run when that session has finished, or raise "
                "MIGRATION_CONCURRENT_TIMEOUT (0: no limit).", returncode=ExitCode.LOCK_TIMEOUT,
            )
        if is_lock_timeout(exc):
            blockers = "; ".join(str(b) for b in getattr(exc, "blockers", [])) or "a session that has since finished"
            if self.applying is not None and not self.applying.atomic:
                outcome = (
                    f"{self.applying} is not atomic: the steps before this one stay applied; re-running keeps "
                    "them and does the rest"
                )
            else:
                outcome = f"{self.applying or 'the migration'} was rolled back; re-running is safe"
            return CommandError(
                f"lock_timeout ({self.lock_timeout_text}) hit while waiting for a table lock, after the retries: "
                f"blocked by {blockers}. {outcome}.", returncode=ExitCode.LOCK_TIMEOUT,
            )
        if sqlstate(exc) == DUPLICATE_TABLE:
            detail += (
                ". The database already holds tables the migrations would create: if it is an existing "
                "EcoMind database, adopt it with `manage.py baseline --dry-run` first (docs/runbooks/baselining.md)"
            )
        if self.applying is not None and not self.applying.atomic:
            return CommandError(
                f"{self.applying} failed: {detail}. It is not atomic: the steps before this one stay applied, and a "
                "re-run keeps them and does the rest", returncode=ExitCode.FOUND,
            )
        return CommandError(f"migration failed and was rolled back: {detail}", returncode=ExitCode.FOUND)

    def migration_progress_callback(self, action, migration=None, fake=False):
        # Which migration is running, for the failure message.
        if action in ("apply_start", "unapply_start"):
            self.applying = migration
        elif action in ("apply_success", "unapply_success"):
            self.applying = None
        result = super().migration_progress_callback(action, migration, fake)
        # Django ends "Applying x..." with " OK" on the same line: a report
        # printed meanwhile starts a line of its own.
        self.mid_line = action in ("apply_start", "unapply_start") and self.verbosity >= 1
        return result

    def say_lock_waiting(self):
        if self.verbosity >= 1:
            self.stdout.write("Another migrate holds the migration lock; waiting for it to finish...")

    def say_waiting(self, exc, remaining):
        if self.verbosity >= 1:
            self.stdout.write(f"Waiting for the database ({remaining:.0f}s left)...")
