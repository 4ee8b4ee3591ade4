"""Remove events and audit rows older than their retention period, a whole month partition at a time.

``retention --events 400d --audit-logs 7y``: the partitions holding only
rows older than the cutoff are detached ``CONCURRENTLY`` and dropped; the
old rows of the legacy partition (the table before the conversion), and of
audit partitions holding baseline's records (kept forever), are deleted in
short batches. A partition that also holds newer rows is never dropped, so
after a run no row older than the cutoff plus one month remains. Safe
beside the worker: nothing it does blocks an insert for more than a moment
(ecomind_core/partitions/retention.py). Shows the plan, then asks
(``--no-input``: doesn't; ``--dry-run``: only shows). Writes one audit row.

Ages: ``400d``, ``8w``, ``18m`` (months), ``7y``; at least one of the two
options. PostgreSQL only, on partitioned tables (after migration 0006).

Exit codes (exit_codes.py): 0 done (or dry run, or nothing to remove); 1
a table is not partitioned yet (run migrate); 2 bad arguments, database
unreachable or not confirmed (nothing removed).
"""

from ecomind_core.audit.records import SYSTEM_ORG, record_or_say
from ecomind_core.db.concurrent import concurrent_policy
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.models import AuditLog, Event
from ecomind_core.partitions.audit_rows import kept_audit_rows
from ecomind_core.partitions.inventory import NOT_PARTITIONED, not_partitioned
from ecomind_core.partitions.months import now_utc
from ecomind_core.partitions.retention import Done, Remover, cutoff_before, parse_age

RETENTION = "retention.remove"


class Command(DatabaseCommand):
    help = "Drop whole partitions of events and audit rows older than their retention age (and trim the legacy one)."
    changes_data = True
    postgresql_only = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--events", metavar="AGE", help="Remove events older than this (e.g. 400d).")
        parser.add_argument("--audit-logs", metavar="AGE", help="Remove audit rows older than this (e.g. 7y).")

    def handle(self, *args, events, audit_logs, dry_run, **options):
        if not events and not audit_logs:
            raise cannot_run("give --events AGE and/or --audit-logs AGE (e.g. --events 400d --audit-logs 7y).")
        now = now_utc()
        removers = []
        for flag, text, model, keep in (
            ("--events", events, Event, None),
            ("--audit-logs", audit_logs, AuditLog, kept_audit_rows(self.connection.ops.quote_name)),
        ):
            if text:
                try:
                    cutoff = cutoff_before(now, parse_age(text))
                except ValueError as exc:
                    raise cannot_run(f"{flag}: {exc}.") from None
                removers.append((Remover(self.using, model, keep=keep), cutoff))
        with self.database_errors("plan the removal"):
            self.refuse_plain_tables([remover.table for remover, _ in removers])
            plans = [(remover, remover.plan(cutoff)) for remover, cutoff in removers]
        for _, plan in plans:
            self.show(plan)
        if dry_run or not any(plan.drop or plan.trim for _, plan in plans):
            self.stdout.write("Dry run: nothing was changed." if dry_run else "Nothing to remove.")
            return
        self.confirm("Remove these partitions and rows?")
        done = {plan.table: Done() for _, plan in plans}
        completed = False
        try:
            with self.database_errors("remove old partitions"), concurrent_policy(report=self.stdout.write):
                for remover, plan in plans:
                    remover.carry_out(plan, done[plan.table], on_progress=self.stdout.write)
            completed = True
        finally:
            # What went is recorded, also when a later step failed (and it failed: the row says so).
            if any(done.values()):
                self.record(plans, done, completed)
        self.stdout.write(self.style.SUCCESS(
            "; ".join(f"{table}: {len(d.dropped)} partitions dropped, {d.deleted:,} rows deleted"
                      for table, d in done.items()) + "; recorded in audit_logs."))

    def record(self, plans, done, completed):
        details = {plan.table: {"before": plan.cutoff.isoformat(), "dropped_partitions": done[plan.table].dropped,
                                "deleted_rows": done[plan.table].deleted} for _, plan in plans}
        details["completed"] = completed
        record_or_say(self.stdout.write, org_id=SYSTEM_ORG, action=RETENTION, resource="database", using=self.using,
                      details=details)

    def refuse_plain_tables(self, tables):
        with self.connection.cursor() as cursor:
            plain = not_partitioned(cursor, tables)
        if plain:
            self.stderr.write(f"{NOT_PARTITIONED.format(', '.join(plain))} Nothing was changed.")
            self.exit_with(ExitCode.FOUND)

    def show(self, plan):
        self.stdout.write(f"{plan.table}: rows before {plan.cutoff:%Y-%m-%d %H:%M} UTC")
        for partition, rows in plan.drop:
            self.stdout.write(f"  drop partition {partition.name} (about {rows:,} rows)")
        for partition, rows in plan.trim:
            self.stdout.write(f"  delete about {rows:,} rows from {partition.name}, in batches")
        if not (plan.drop or plan.trim):
            self.stdout.write("  nothing older")
