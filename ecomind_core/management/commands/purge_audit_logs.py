"""Remove audit rows older than a date: the only way audit rows are ever deleted.

In one transaction: delete the rows with ``ts`` before ``--before`` (00:00
UTC), with the append-only trigger ignored for that transaction only
(``pgtrigger.ignore``), and write an audit row saying how many went. Rows
with no ``ts`` are never purged (their age is unknown), and neither are the
records other commands rely on (``audit.KEPT_FOREVER``: baseline's, which
``baseline --undo`` reads).

Says how many rows would go, then asks (``--no-input``: doesn't;
``--dry-run``: only says).

Once audit_logs is partitioned by month (PostgreSQL, migration 0006), the
months wholly before ``--before`` are detached and dropped, and the older
rows of the other partitions are deleted in short batches, each its own
transaction (ecomind_core/partitions/retention.py); the audit row is
written at the end. ``retention --audit-logs AGE`` is the scheduled form.

Exit codes (exit_codes.py): 0 done (or dry run, or nothing to delete); 2
bad arguments, database unreachable, or not confirmed (nothing deleted).
"""

import datetime

import pgtrigger
from django.db import transaction

from ecomind_core.audit.records import KEPT_FOREVER, SYSTEM_ORG, record, record_or_say
from ecomind_core.db.concurrent import concurrent_policy
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.models import AuditLog, append_only_trigger_uri
from ecomind_core.partitions.audit_rows import kept_audit_rows
from ecomind_core.partitions.inventory import is_partitioned
from ecomind_core.partitions.retention import Done, Remover


class Command(DatabaseCommand):
    help = "Delete audit rows older than --before (a UTC date), in one transaction, leaving an audit row of its own."
    changes_data = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--before", required=True, metavar="YYYY-MM-DD", help="Delete rows with ts before this date (00:00 UTC).")

    def handle(self, *args, before, dry_run, **options):
        try:
            cutoff = datetime.datetime.combine(datetime.date.fromisoformat(before), datetime.time(), datetime.UTC)
        except ValueError:
            raise cannot_run(f"--before {before!r} is not a date: use YYYY-MM-DD.") from None
        old_rows = AuditLog.objects.using(self.using).filter(ts__lt=cutoff).exclude(action__in=KEPT_FOREVER)
        remover = plan = None
        with self.database_errors("count the audit rows to purge"):
            if self.partitioned():
                remover = Remover(self.using, AuditLog, keep=kept_audit_rows(self.connection.ops.quote_name), exact=True)
                plan = remover.plan(cutoff.replace(tzinfo=None))
                count = plan.rows()
            else:
                count = old_rows.count()
        self.stdout.write(f"{count:,} audit rows before {before} would be deleted from {self.target()}.")
        if dry_run or not count:
            self.stdout.write("Dry run: nothing was written." if dry_run else "Nothing to delete.")
            return
        self.confirm(f"Delete these {count:,} audit rows?")
        if remover is not None:
            deleted = self.purge_partitions(remover, plan, before)
        else:
            deleted = self.delete_in_one_transaction(old_rows, before)
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted:,} audit rows before {before}; recorded in audit_logs."))

    def purge_partitions(self, remover, plan, before):
        """Whole months dropped, the rest in batches: recorded also when it stops half-way (with what went)."""
        done, completed = Done(), False
        try:
            with self.database_errors("purge audit rows"), concurrent_policy(report=self.stdout.write):
                remover.carry_out(plan, done)
            completed = True
        finally:
            dropped = dict(plan.drop)
            deleted = done.deleted + sum(rows for partition, rows in dropped.items() if partition.name in done.dropped)
            if done:
                record_or_say(self.stdout.write, org_id=SYSTEM_ORG, action="audit.purge", resource="audit_logs",
                              using=self.using, details={"before": before, "deleted": deleted,
                                                         "dropped_partitions": done.dropped, "completed": completed})
        return deleted

    def partitioned(self):
        if self.connection.vendor != "postgresql":
            return False
        with self.connection.cursor() as cursor:
            return is_partitioned(cursor, self.connection.ops.quote_name(AuditLog._meta.db_table))

    def delete_in_one_transaction(self, old_rows, before):
        with self.database_errors("purge audit rows"):
            with transaction.atomic(using=self.using), pgtrigger.ignore(append_only_trigger_uri(), databases=[self.using]):
                deleted, _ = old_rows.delete()
                record(
                    org_id=SYSTEM_ORG, action="audit.purge", resource="audit_logs", using=self.using,
                    details={"before": before, "deleted": deleted},
                )
        return deleted
