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
   tables without their migrations recorded (adopt it with ``baseline``);
5. before applying anything, check the database against what its applied
   migrations promise (the catalog proof of ``verify_schema``): on drift,
   apply nothing, unless ``--allow-drift``, which the audit trail records;
6. going backwards (``migrate APP TARGET`` below what is applied), refuse a
   step that destroys data, pointing to ``rollback`` (docs/deployment/rollback.md);
7. write an audit row per migration applied or unapplied, failed ones too
   (ecomind_core/audit/schema_changes.py);
8. when a migration fails, say what stays behind.

Exit codes (exit_codes.py, docs/deployment/migrations.md): 0 done or
nothing to do; 1 a migration failed, drift found before applying, or a
backward step refused; 2 a bad flag, the configuration, or the database
unreachable; 3 the lock timeout hit (re-running is safe).
"""

import argparse
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.migrations.executor import MigrationExecutor
from syzygy.constants import Stage
from syzygy.management.commands import migrate
from syzygy.plan import get_pre_deploy_plan

from ecomind_core import catalog
from ecomind_core.audit.schema_changes import DRIFT_ALLOWED, MIGRATE, ROLLBACK, SchemaChangeLog
from ecomind_core.baseline.guard import unadopted_tables
from ecomind_core.catalog.report import render_text
from ecomind_core.db.backends.postgresql.base import SchemaMissing
from ecomind_core.db.blockers import named
from ecomind_core.db.concurrent import ConcurrentWaitTimeout, concurrent_policy
from ecomind_core.db.errors import DUPLICATE_TABLE, sqlstate
from ecomind_core.db.lock_timeout import ddl_lock_timeout, is_lock_timeout, parse_duration, retry_lock_timeouts
from ecomind_core.db.locking import migration_lock
from ecomind_core.db.reconnect import reopen_if_lost
from ecomind_core.db.redaction import connection_problem, redact
from ecomind_core.db.waiting import wait_for_database
from ecomind_core.management.base import DatabaseCommandMixin, cannot_run
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.migration_safety.backward import backward_steps
from ecomind_core.migration_safety.graph import state_at
from ecomind_core.migration_safety.leftovers import left_behind
from ecomind_core.migration_safety.operations import own_leftovers
from ecomind_core.migration_safety.stages import stage_name


#: Catalog columns that say an object is half-made (an INVALID index, a NOT VALID constraint):
#: what a non-atomic migration's re-run finishes.
UNFINISHED_COLUMNS = {"pg_index.indisvalid", "pg_index.indisready", "pg_constraint.convalidated"}


class Command(DatabaseCommandMixin, migrate.Command):
    help = migrate.Command.help + (
        " Waits for the database, holds a PostgreSQL advisory lock for the whole run (concurrent runs queue), "
        "runs DDL with lock_timeout, checks the database for drift before applying, and refuses backward steps "
        "that destroy data (use rollback)."
    )
    connect_first = False  # it waits for the database itself (--wait)
    #: The migration being applied or unapplied now (None between migrations).
    applying = None
    #: The audit rows of this run (None until the run may change the schema).
    changes = None
    #: Django's "Applying x..." is on the line, waiting for its " OK".
    mid_line = False

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # syzygy's quorum (replicas agreeing through a shared cache) is what
        # the migration lock already does here: not offered.
        for action in parser._actions:
            if action.dest in ("quorum", "quorum_timeout"):
                action.help = argparse.SUPPRESS
        self.add_lock_arguments(parser)
        parser.add_argument(
            "--allow-drift", action="store_true",
            help="Apply even when the database differs from what its applied migrations promise "
                 "(recorded in the audit trail). Without it such drift is exit 1, nothing applied.",
        )

    @staticmethod
    def add_lock_arguments(parser):
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
        self.prepare(options)
        try:
            with self.schema_lock():
                self.refuse_unadopted_database(options)
                if not options["plan"]:
                    self.check_before_changing(options)
                self.changes = SchemaChangeLog(self.using, MIGRATE, self.command_line(options))
                self.with_lock_retries(lambda: super(Command, self).handle(*args, **options))
        except (DatabaseError, InterfaceError) as exc:
            raise self.failure(exc) from None
        finally:
            self.write_pending_audit_rows()

    # -- the run ---------------------------------------------------------------
    def prepare(self, options):
        """Read the timing options and wait for the database (exit 2 on a bad value or no server)."""
        self.verbosity = options["verbosity"]
        wait = settings.MIGRATION_DB_WAIT if options["wait"] is None else options["wait"]
        self.lock_timeout_text = options["lock_timeout"] or settings.MIGRATION_LOCK_TIMEOUT
        self.retries = settings.MIGRATION_LOCK_RETRIES if options["lock_retries"] is None else options["lock_retries"]
        if wait < 0:
            raise cannot_run("--wait must be zero or more seconds.")
        if self.retries < 0:
            raise cannot_run("--lock-retries must be zero or more.")
        try:
            self.lock_timeout = parse_duration(self.lock_timeout_text)
            self.first_backoff = parse_duration(settings.MIGRATION_LOCK_RETRY_WAIT)
            parse_duration(settings.MIGRATION_CONCURRENT_TIMEOUT)
        except ValueError as exc:
            raise cannot_run(
                f"--lock-timeout / MIGRATION_LOCK_TIMEOUT / MIGRATION_LOCK_RETRY_WAIT / MIGRATION_CONCURRENT_TIMEOUT: {exc}."
            ) from None
        try:
            wait_for_database(self.using, wait, on_retry=self.say_waiting)
        except (OperationalError, InterfaceError) as exc:
            raise cannot_run(
                f"{connection_problem(exc, self.using)} (gave up after waiting {wait}s; "
                "raise --wait or MIGRATION_DB_WAIT to wait longer)"
            ) from None

    @contextmanager
    def schema_lock(self):
        """The migration lock for the whole run, lock_timeout on what queues others, concurrent waits reported."""
        with migration_lock(using=self.using, on_wait=self.say_lock_waiting), \
                ddl_lock_timeout(self.lock_timeout, using=self.using), \
                concurrent_policy(report=self.say_concurrent_waiting):
            yield

    def refuse_unadopted_database(self, options):
        if options.get("fake"):
            return  # the operator records by hand, knowingly
        tables = unadopted_tables(self.connection)
        if tables:
            raise CommandError(
                f"this database already holds EcoMind tables that no migration has recorded ({', '.join(tables)}): "
                "it is an existing database. Adopt it with `manage.py baseline --dry-run`, then `baseline` "
                "(docs/runbooks/baselining.md). Nothing was written.", returncode=ExitCode.FOUND,
            )

    def with_lock_retries(self, run):
        """``run()``; on a lock timeout, wait and try again, up to ``self.retries`` more times.

        Each try starts where the last stopped: an atomic migration that hit
        the timeout was rolled back whole, a non-atomic one keeps its finished
        steps (each safe operation looks at the catalog first). A concurrent
        wait past MIGRATION_CONCURRENT_TIMEOUT is not retried: the operator's
        ceiling says stop.
        """
        def attempt():
            self.applying = None  # each try names only the migration it is in
            return run()

        return retry_lock_timeouts(
            attempt, using=self.using, retries=self.retries, first_backoff=self.first_backoff,
            on_retry=self.say_retrying, gives_up=lambda exc: isinstance(exc, ConcurrentWaitTimeout),
        )

    # -- before changing anything ------------------------------------------------
    def planned(self, options):
        """The migrations this run would apply or unapply, as Django (and syzygy's --pre-deploy) would."""
        plan = self._get_plan(**options)
        if options["stage"] is Stage.PRE_DEPLOY:
            try:
                plan = get_pre_deploy_plan(plan)
            except ValueError as exc:
                raise CommandError(str(exc), returncode=ExitCode.FOUND) from None
        return plan

    def check_before_changing(self, options):
        plan = self.planned(options)
        if any(backwards for _, backwards in plan):
            self.refuse_destructive_backward_steps(plan, options)
        elif plan and not options["fake"]:
            self.refuse_drift(options, plan)

    def refuse_destructive_backward_steps(self, plan, options):
        steps = backward_steps(MigrationExecutor(self.connection), plan, with_sql=False)
        refused = [step for step in steps if step.irreversible or step.destroys]
        if not refused:
            return
        lines = [f"  {step.name}: {step.irreversible or '; '.join(str(loss) for loss in step.destroys)}" for step in refused]
        target = f"{options['app_label']}.{options['migration_name']}"
        raise CommandError(
            "going back would destroy data or cannot be done:\n" + "\n".join(lines) + "\n"
            f"Nothing was changed. Plan it with `manage.py rollback --to {target} --dry-run` "
            "(docs/deployment/rollback.md).", returncode=ExitCode.FOUND,
        )

    def refuse_drift(self, options, plan=()):
        """Check the live catalog against the state the applied migrations promise; exit 1 on drift."""
        loader = catalog.load(self.connection)[0]
        applied = sorted(loader.applied_migrations or ())
        if not applied:
            return  # nothing promised yet: a new database
        findings = catalog.check_catalog(self.connection, state_at(loader, applied).apps).findings
        errors = [finding for finding in findings if finding.severity == catalog.ERROR]
        errors = self.not_left_by_an_earlier_try(errors, plan, loader, applied)
        if not errors:
            return
        report = render_text(errors, self.target(), verbosity=self.verbosity)
        if not options["allow_drift"]:
            self.stderr.write(report, ending="")
            raise CommandError(
                f"the database differs from what its applied migrations promise ({len(errors)} errors, listed above): "
                "applying more on top could fail half-way. Nothing was applied. Mend the drift (`manage.py "
                "verify_schema`), or, knowingly, re-run with --allow-drift (recorded in the audit trail).",
                returncode=ExitCode.FOUND,
            )
        self.stdout.write(report, ending="")
        self.stdout.write("--allow-drift: applying anyway; recorded in the audit trail.")
        SchemaChangeLog(self.using, DRIFT_ALLOWED, self.command_line(options)).note(
            DRIFT_ALLOWED, findings=[{"kind": f.kind, "object": f.object, "expected": f.expected, "actual": f.actual}
                                     for f in errors],
        )

    def not_left_by_an_earlier_try(self, errors, plan, loader, applied):
        """``errors`` less what a half-done try of the next migration, a non-atomic one, left behind.

        Django records a non-atomic migration only when all of it has run; a
        try that failed or was killed in it leaves some of its objects (an
        index, VALID or INVALID; a NOT VALID constraint; a new column; its
        helper CHECK), which the applied migrations do not promise. Such an
        object is the migration's own to finish when it runs again (each safe
        operation checks its objects first, and refuses a same-named one of
        another definition, naming both): it is drift only if it is also wrong
        for the state after that migration. Everything else is checked as before.
        """
        if not errors or not plan or plan[0][1] or plan[0][0].atomic:
            return errors
        migration = plan[0][0]
        after = state_at(loader, [*applied, (migration.app_label, migration.name)])
        later = [f for f in catalog.check_catalog(self.connection, after.apps).findings if f.severity == catalog.ERROR]
        missing = {f.object for f in later if f.kind.endswith("_missing")}
        unfinished = {
            f.object for f in later
            if not (f.kind.endswith("_missing")  # not built yet: the re-run builds it
                    or set((f.catalog_column or "-").split(", ")) <= UNFINISHED_COLUMNS  # INVALID, NOT VALID: it finishes them
                    or (f.kind.endswith("_unexpected") and f.object in missing))  # a unique index not yet attached
        } - own_leftovers(migration, after, self.connection)
        kept = [error for error in errors if error.object in unfinished]
        if len(kept) < len(errors) and self.verbosity >= 1:
            self.stdout.write(
                f"{migration} is not atomic, and an earlier try left part of it ("
                f"{', '.join(sorted({e.object for e in errors} - unfinished))}): running it again finishes them."
            )
        return kept

    # -- while it runs ------------------------------------------------------------
    def migration_progress_callback(self, action, migration=None, fake=False):
        # Which migration is running (for the failure message), and one audit row as each ends.
        if action in ("apply_start", "unapply_start"):
            self.applying = migration
            if self.changes:
                self.changes.start(MIGRATE if action == "apply_start" else ROLLBACK)
        elif action in ("apply_success", "unapply_success"):
            self.applying = None
            if self.changes:
                outcome = "faked" if fake else "applied" if action == "apply_success" else "unapplied"
                self.changes.finished(f"{migration.app_label}.{migration.name}", stage_name(migration), outcome)
        result = super().migration_progress_callback(action, migration, fake)
        # Django ends "Applying x..." with " OK" on the same line: a report
        # printed meanwhile starts a line of its own.
        self.mid_line = action in ("apply_start", "unapply_start") and self.verbosity >= 1
        return result

    def write_pending_audit_rows(self):
        """Write the rows still pending; print those that cannot be written (standard output keeps them)."""
        if self.changes is None:
            return
        reopen_if_lost(self.connection)
        self.changes.try_flush()
        for row in self.changes.unwritten():
            self.stdout.write(f"audit row not written (audit_logs missing or locked), kept here: {row}")

    @staticmethod
    def command_line(options):
        words = [options.get("app_label"), options.get("migration_name")]
        flags = ["--pre-deploy" if options.get("stage") is Stage.PRE_DEPLOY else None,
                 "--fake" if options.get("fake") else None, "--allow-drift" if options.get("allow_drift") else None]
        return " ".join(["migrate", *filter(None, words + flags)])

    # -- when it fails --------------------------------------------------------------
    def failure(self, exc):
        """The one-line CommandError for a database error that ended the run, saying what stays behind."""
        detail = redact(" ".join(str(exc).split()), self.using)
        if isinstance(exc, SchemaMissing):
            return cannot_run(f"{detail}. Nothing was written.")
        outcome, leftovers = self.what_remains()
        self.record_failure(detail, leftovers)
        if isinstance(exc, ConcurrentWaitTimeout):
            return CommandError(
                f"{redact(str(exc), self.using)}. {outcome}. Re-run when that session has finished, or raise "
                "MIGRATION_CONCURRENT_TIMEOUT (0: no limit).", returncode=ExitCode.LOCK_TIMEOUT,
            )
        if is_lock_timeout(exc):
            blockers = named(getattr(exc, "blockers", None))
            return CommandError(
                f"lock_timeout ({self.lock_timeout_text}) hit while waiting for a table lock, after the retries: "
                f"blocked by {blockers}. {outcome}.", returncode=ExitCode.LOCK_TIMEOUT,
            )
        if sqlstate(exc) == DUPLICATE_TABLE:
            detail += (
                ". The database already holds tables the migrations would create: if it is an existing "
                "EcoMind database, adopt it with `manage.py baseline --dry-run` first (docs/runbooks/baselining.md)"
            )
        return CommandError(f"{outcome}: {detail}", returncode=ExitCode.FOUND)

    def what_remains(self):
        """``(sentence, leftovers)``: what a failed migration leaves, from the catalog for a non-atomic one."""
        migration = self.applying
        name = str(migration) if migration else "the migration"
        if migration is None or migration.atomic:
            return f"{name} failed and was rolled back (the migrations before it stay applied); re-running is safe", []
        leftovers = left_behind(self.using)
        if leftovers is None:
            remains = "the catalog could not be read to say what remains"
        elif leftovers:
            remains = "left behind: " + "; ".join(leftovers)
        else:
            remains = "no INVALID index or NOT VALID constraint remains"
        return (f"{name} failed; it is not atomic, so its steps before the failure stay applied ({remains}); "
                "re-running migrate mends it"), leftovers or []

    def record_failure(self, detail, leftovers):
        if self.changes is None or self.applying is None:
            return
        migration = self.applying
        self.changes.finished(f"{migration.app_label}.{migration.name}", stage_name(migration),
                              "failed", error=detail, left_behind=leftovers, atomic=migration.atomic)

    # -- what the operator sees while waiting -------------------------------------
    def say_lock_waiting(self):
        if self.verbosity >= 1:
            self.stdout.write("Another migrate holds the migration lock; waiting for it to finish...")

    def say_waiting(self, exc, remaining):
        if self.verbosity >= 1:
            self.stdout.write(f"Waiting for the database ({remaining:.0f}s left)...")

    def say_retrying(self, blockers, backoff, number):
        if self.verbosity >= 1:
            who = named(blockers)
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

