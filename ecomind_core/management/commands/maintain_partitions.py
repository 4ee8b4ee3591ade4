"""Make the monthly partitions of events_enriched and audit_logs ahead of time; run on a schedule.

Keeps the current month and ``--ahead`` more (default PARTITIONS_AHEAD)
ready for each partitioned table, and gives every partition its table's
statement-level triggers. Each partition is made in a transaction of its
own, attached under the short ``lock_timeout`` that ``migrate`` uses and
retried the same way, naming blockers (ecomind_core/partitions/maintenance.py);
it holds the migration lock, so it never runs beside a migration.
Re-running it makes nothing new. ``--check`` only says whether enough
months are ready (exit 1 if not): the schedule's alarm without the metrics.

Exit codes (exit_codes.py): 0 done, enough months ready; 1 (--check) fewer
months than asked, or a table is not partitioned yet (run migrate); 2 bad
arguments or database unreachable; 3 a lock timeout past the retries.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.db.blockers import named
from ecomind_core.db.lock_timeout import ddl_lock_timeout, is_lock_timeout, parse_duration, retry_lock_timeouts
from ecomind_core.db.locking import migration_lock
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.partitions.inventory import NOT_PARTITIONED, not_partitioned, partitions_of
from ecomind_core.partitions.maintenance import (
    MISSING_TRIGGERS_SQL, copy_triggers, create_partition, missing_months, months_ahead, months_wanted,
    statement_triggers,
)
from ecomind_core.partitions.months import month_start, now_utc
from ecomind_core.partitions.options import partitioned_models


class Command(DatabaseCommand):
    help = "Make the monthly partitions of the partitioned tables ahead of time (and their triggers); for a schedule."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--ahead", type=int, default=None, metavar="N",
                            help="Whole months to keep ready after the current one (default: PARTITIONS_AHEAD).")
        parser.add_argument("--check", action="store_true",
                            help="Change nothing: exit 1 if fewer than N months are ready.")

    def handle(self, *args, ahead, check, **options):
        ahead = settings.PARTITIONS_AHEAD if ahead is None else ahead
        if ahead < 1:
            raise cannot_run("--ahead must be 1 or more: the worker's rows of next month need a partition before it starts.")
        if self.connection.vendor != "postgresql":
            self.stdout.write(f"{self.target()}: SQLite keeps plain tables; nothing to do.")
            return
        self.quote = self.connection.ops.quote_name
        try:
            self.lock_timeout = parse_duration(settings.MIGRATION_LOCK_TIMEOUT)
            self.first_backoff = parse_duration(settings.MIGRATION_LOCK_RETRY_WAIT)
        except ValueError as exc:
            raise cannot_run(f"MIGRATION_LOCK_TIMEOUT / MIGRATION_LOCK_RETRY_WAIT: {exc}.") from None
        with self.database_errors("make partitions"):
            tables = self.partitioned_tables()
            if check:
                short = [table for table, ahead_now in self.ready(tables).items() if ahead_now < ahead]
                if short:
                    self.stderr.write(f"fewer than {ahead} months ready after this one: {', '.join(short)}; run "
                                      "`manage.py maintain_partitions` (docs/runbooks/partitioning.md).")
                    self.exit_with(ExitCode.FOUND)
                return
            with migration_lock(using=self.using, on_wait=self.say_waiting):
                made = self.maintain(tables, ahead)
            if made:
                record(org_id=SYSTEM_ORG, action="partitions.create", resource="database", using=self.using,
                       details={"made": made, "ahead": ahead})

    def partitioned_tables(self):
        tables = [model._meta.db_table for model in partitioned_models()]
        with self.connection.cursor() as cursor:
            plain = not_partitioned(cursor, tables)
        if plain:
            self.stderr.write(NOT_PARTITIONED.format(", ".join(plain)))
            self.exit_with(ExitCode.FOUND)
        return tables

    def found(self, tables):
        """``{table: its partitions}``, all read in one query."""
        with self.connection.cursor() as cursor:
            found = partitions_of(cursor, [self.quote(table) for table in tables])
        return {table: found.get(table, []) for table in tables}

    def ready(self, tables):
        """``{table: whole months ready after the current one}``, each said."""
        ready = {}
        for table, found in self.found(tables).items():
            ready[table] = months_ahead(found)
            self.stdout.write(f"{table}: {ready[table]} months ready after the current one ({len(found)} partitions).")
        return ready

    def maintain(self, tables, ahead):
        """Partitions for every month up to ``ahead`` on that has none, and their tables' statement triggers on
        each; the names made."""
        made = {table: [self.with_retries(lambda month=month: self.make_one(table, month))
                        for month in missing_months(found, month_start(now_utc()), months_wanted(ahead))]
                for table, found in self.found(tables).items()}
        self.add_missing_triggers(tables)
        for table, found in self.found(tables).items():
            self.stdout.write(f"{table}: {', '.join(made[table]) or 'nothing to make'}; "
                              f"{months_ahead(found)} months after the current one.")
        return [name for names in made.values() for name in names]

    def make_one(self, table, start):
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            triggers = statement_triggers(cursor, self.quote(table))
            return create_partition(cursor.execute, self.quote, table, start, triggers)

    def add_missing_triggers(self, tables):
        with self.connection.cursor() as cursor:
            cursor.execute(MISSING_TRIGGERS_SQL, [[self.quote(table) for table in tables]])
            missing = cursor.fetchall()
            definitions = {table: statement_triggers(cursor, self.quote(table)) for table in {row[0] for row in missing}}
        for table, partition, trigger in missing:
            self.with_retries(lambda: self.add_trigger(partition, trigger, definitions[table]))
            self.stdout.write(f"{partition}: trigger {trigger} added, as {table} has it.")

    def add_trigger(self, partition, trigger, definitions):
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS {self.quote(trigger)} ON {self.quote(partition)}")
            copy_triggers(cursor.execute, {trigger: definitions[trigger]}, self.quote, partition)

    def with_retries(self, attempt):
        try:
            with ddl_lock_timeout(self.lock_timeout, using=self.using):
                return retry_lock_timeouts(attempt, using=self.using, retries=settings.MIGRATION_LOCK_RETRIES,
                                           first_backoff=self.first_backoff, on_retry=self.say_retrying)
        except Exception as exc:
            if is_lock_timeout(exc):
                raise self.lock_timed_out(exc) from None
            raise

    @staticmethod
    def lock_timed_out(exc):
        return CommandError(f"gave up waiting for a lock on the table after {settings.MIGRATION_LOCK_RETRIES} retries "
                            f"(blocked by {named(getattr(exc, 'blockers', None))}). Nothing half-made is left (each "
                            "partition is made in a transaction of its own); run it again later.",
                            returncode=ExitCode.LOCK_TIMEOUT)

    def say_waiting(self):
        self.stdout.write("waiting for the migration lock (a migration or another maintain_partitions runs)...")

    def say_retrying(self, blockers, backoff, number):
        self.stdout.write(f"lock timeout (try {number}), blocked by {named(blockers)}; trying again in {backoff:g}s.")
