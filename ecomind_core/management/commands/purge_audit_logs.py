"""Remove audit rows older than a date: the only way audit rows are ever deleted.

In one transaction: delete the rows with ``ts`` before ``--before`` (00:00
UTC), with the append-only trigger ignored for that transaction only
(``pgtrigger.ignore``), and write an audit row saying how many went. Rows
with no ``ts`` are never purged (their age is unknown), and neither are the
records other commands rely on (``audit.KEPT_FOREVER``: baseline's, which
``baseline --undo`` reads).

Exit codes (exit_codes.py): 0 done (or dry run); 2 bad arguments or
database unreachable.
"""

import datetime

import pgtrigger
from django.db import transaction

from ecomind_core.audit import KEPT_FOREVER, SYSTEM_ORG, record
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.models import AuditLog, append_only_trigger_uri


class Command(DatabaseCommand):
    help = "Delete audit rows older than --before (a UTC date), in one transaction, leaving an audit row of its own."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--before", required=True, metavar="YYYY-MM-DD", help="Delete rows with ts before this date (00:00 UTC).")
        parser.add_argument("--dry-run", action="store_true", help="Only say how many rows would go.")

    def handle(self, *args, before, dry_run, **options):
        try:
            cutoff = datetime.datetime.combine(datetime.date.fromisoformat(before), datetime.time(), datetime.UTC)
        except ValueError:
            raise cannot_run(f"--before {before!r} is not a date: use YYYY-MM-DD.") from None
        old_rows = AuditLog.objects.using(self.using).filter(ts__lt=cutoff).exclude(action__in=KEPT_FOREVER)
        with self.database_errors("purge audit rows"):
            if dry_run:
                self.stdout.write(f"Dry run: {old_rows.count():,} audit rows before {before} would be deleted from {self.target()}.")
                return
            with transaction.atomic(using=self.using), pgtrigger.ignore(append_only_trigger_uri(), databases=[self.using]):
                deleted, _ = old_rows.delete()
                record(
                    org_id=SYSTEM_ORG, action="audit.purge", resource="audit_logs", using=self.using,
                    details={"before": before, "deleted": deleted},
                )
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted:,} audit rows before {before}; recorded in audit_logs."))
