"""Remove audit rows older than a date: the only way audit rows are ever deleted.

In one transaction: delete the rows with ``ts`` before ``--before`` (00:00
UTC), with the append-only trigger ignored for that transaction only
(``pgtrigger.ignore``), and write an audit row saying how many went. Rows
with no ``ts`` are never purged (their age is unknown).

Exit codes: 0 done (or dry run); 2 bad arguments or database unreachable.
"""

import datetime

import pgtrigger
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from ecomind_core.audit import SYSTEM_ORG, record
from ecomind_core.db.target import describe
from ecomind_core.management.database_errors import connect_or_fail, database_errors_as_command_errors
from ecomind_core.models import AuditLog
from ecomind_core.management.one_line_errors import OneLineUsageErrors

TRIGGER = "ecomind_core.AuditLog:append_only"


class Command(OneLineUsageErrors, BaseCommand):
    help = "Delete audit rows older than --before (a UTC date), in one transaction, leaving an audit row of its own."

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, metavar="YYYY-MM-DD", help="Delete rows with ts before this date (00:00 UTC).")
        parser.add_argument("--dry-run", action="store_true", help="Only say how many rows would go.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, before, dry_run, database, **options):
        try:
            cutoff = datetime.datetime.combine(datetime.date.fromisoformat(before), datetime.time(), datetime.UTC)
        except ValueError:
            raise CommandError(f"--before {before!r} is not a date: use YYYY-MM-DD.", returncode=2) from None
        if database not in connections:
            raise CommandError(f"--database {database!r} is not configured.", returncode=2)
        connect_or_fail(database)
        old_rows = AuditLog.objects.using(database).filter(ts__lt=cutoff)
        with database_errors_as_command_errors(database, "purge audit rows"):
            if dry_run:
                self.stdout.write(f"Dry run: {old_rows.count():,} audit rows before {before} would be deleted from {describe(database)}.")
                return
            with transaction.atomic(using=database), pgtrigger.ignore(TRIGGER, databases=[database]):
                deleted, _ = old_rows.delete()
                record(
                    org_id=SYSTEM_ORG, action="audit.purge", resource="audit_logs", using=database,
                    details={"before": before, "deleted": deleted},
                )
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted:,} audit rows before {before}; recorded in audit_logs."))
