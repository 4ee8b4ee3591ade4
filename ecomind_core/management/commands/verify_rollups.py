"""Prove the four daily tables equal the events of each UTC day and key (docs/rollups.md).

Read-only: every statement is a ``SELECT``. ``--record`` then appends one
audit row with the verdict, which the admin's Daily footprint page shows.

Exit codes (exit_codes.py): 0 every row equals its events; 1 divergent rows,
each named; 2 could not check (bad flag or date, database unreachable).
"""

from ecomind_core.management.base import DatabaseCommand
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.rollups import status, verification
from ecomind_core.rollups.period import add_period_arguments, check_period
from ecomind_core.rollups.progress import DayProgress
from ecomind_core.rollups.report import render_json, render_text


class Command(DatabaseCommand):
    help = (
        "Check that every row of the daily tables equals the count and sums of the events of its UTC day and key. "
        "Exit 0: equal; 1: divergent rows (each named); 2: could not check."
    )
    requires_system_checks = []  # a health check must not fail for reasons other than the roll-ups
    postgresql_only = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        add_period_arguments(parser)
        parser.add_argument("--format", choices=["text", "json"], default="text", help="Report format (default: text).")
        parser.add_argument(
            "--record", action="store_true",
            help="Append the verdict to audit_logs (for the admin's Daily footprint page); the check stays read-only.",
        )

    def handle(self, *args, since, until, format, record, verbosity, **options):
        check_period(since, until)
        with self.database_errors("check the daily totals"):
            result = verification.verify(self.connection, since, until, on_day=DayProgress(self.stderr, verbosity, "verify_rollups"))
            if record:
                status.record_verification(result, using=self.using)
        report = render_json(result, self.target()) if format == "json" else render_text(result, self.target())
        self.stdout.write(report, ending="")
        if not result.clean:
            # Exit without Django's "CommandError:" prefix: the report said it all.
            self.exit_with(ExitCode.FOUND)
