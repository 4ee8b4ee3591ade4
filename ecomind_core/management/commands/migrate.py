"""Django's ``migrate``, made safe to run as a deploy job.

Everything of the stock command stays (same flags, same output), with
django-syzygy's ``--pre-deploy`` (apply only the migrations that are safe
while the previous release still runs; ``ecomind_core/migration_stages.py``).
Around it:

1. wait up to ``--wait`` seconds for the database to accept connections;
2. take the migration advisory lock (ecomind_core/db/locking.py) for the
   whole run, so replicas started together queue, and the later ones find
   nothing left to do;
3. run every statement with ``lock_timeout`` (``--lock-timeout``), so DDL
   never waits forever behind a long transaction.

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

from ecomind_core.db.ddl_timeout import ddl_lock_timeout, is_lock_timeout, parse_duration
from ecomind_core.db.errors import DUPLICATE_TABLE, sqlstate
from ecomind_core.db.locking import migration_lock
from ecomind_core.db.target import connection_problem, redact
from ecomind_core.db.waiting import wait_for_database
from ecomind_core.management.base import DatabaseCommandMixin, cannot_run
from ecomind_core.management.exit_codes import ExitCode


class Command(DatabaseCommandMixin, migrate.Command):
    help = migrate.Command.help + (
        " Waits for the database, holds a PostgreSQL advisory lock for the whole run (concurrent runs queue), "
        "and runs DDL with lock_timeout."
    )
    connect_first = False  # it waits for the database itself (--wait)

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
            help="lock_timeout for each statement, e.g. 10s, 500ms, 0 for none (default: MIGRATION_LOCK_TIMEOUT, 10s).",
        )

    def handle(self, *args, **options):
        database = options["database"]
        self.verbosity = options["verbosity"]
        wait = settings.MIGRATION_DB_WAIT if options["wait"] is None else options["wait"]
        lock_timeout_text = options["lock_timeout"] or settings.MIGRATION_LOCK_TIMEOUT
        if wait < 0:
            raise cannot_run("--wait must be zero or more seconds.")
        try:
            timeout = parse_duration(lock_timeout_text)
        except ValueError as exc:
            raise cannot_run(f"--lock-timeout / MIGRATION_LOCK_TIMEOUT: {exc}.") from None

        try:
            wait_for_database(database, wait, on_retry=self.say_waiting)
        except (OperationalError, InterfaceError) as exc:
            raise cannot_run(
                f"{connection_problem(exc, database)} (gave up after waiting {wait}s; "
                "raise --wait or MIGRATION_DB_WAIT to wait longer)"
            ) from None
        try:
            with migration_lock(using=database, on_wait=self.say_lock_waiting), ddl_lock_timeout(timeout, using=database):
                super().handle(*args, **options)
        except DatabaseError as exc:
            detail = redact(" ".join(str(exc).split()), database)
            if is_lock_timeout(exc):
                raise CommandError(
                    f"lock_timeout ({lock_timeout_text}) hit while waiting for a table lock: {detail}. "
                    "The migration was rolled back; re-running is safe (a long transaction held the table).",
                    returncode=ExitCode.LOCK_TIMEOUT,
                ) from None
            if sqlstate(exc) == DUPLICATE_TABLE:
                detail += (
                    ". The database already holds tables the migrations would create: if it is an existing "
                    "EcoMind database, adopt it with `manage.py baseline --dry-run` first (docs/runbooks/baselining.md)"
                )
            raise CommandError(
                f"migration failed and was rolled back: {detail}", returncode=ExitCode.FOUND
            ) from None

    def say_lock_waiting(self):
        if self.verbosity >= 1:
            self.stdout.write("Another migrate holds the migration lock; waiting for it to finish...")

    def say_waiting(self, exc, remaining):
        if self.verbosity >= 1:
            self.stdout.write(f"Waiting for the database ({remaining:.0f}s left)...")
