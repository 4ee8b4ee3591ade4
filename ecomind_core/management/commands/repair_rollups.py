"""Make the daily tables equal to the events on the days where they diverge (docs/rollups.md).

Checks the period as ``verify_rollups`` does (no lock), then repairs each
divergent day in a transaction of its own, under a short lock that keeps the
enrichment worker's upserts out but not its events (rollups/repair.py): safe
while the worker writes. Never touches an event. Writes one audit row per
run (``rollups.repair``) saying what changed; ``--dry-run`` writes nothing.

Exit codes (exit_codes.py): 0 repaired, nothing to repair, or dry run; 2
could not run (bad flag or date, database unreachable, not confirmed);
3 a day's lock was not granted after retries (the days before it are
repaired and recorded; run it again).
"""

import argparse

from ecomind_core.db.lock_timeout import parse_duration
from ecomind_core.management.base import DatabaseCommand
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.rollups import repair, status, verification
from ecomind_core.rollups.period import add_period_arguments, check_period
from ecomind_core.rollups.progress import DayProgress
from ecomind_core.rollups.report import problem_lines

#: Problems printed before the confirmation, at most.
SHOWN_PROBLEMS = 50


def lock_duration(text):
    """An argparse type: a duration above zero (waiting forever would stall the worker)."""
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if duration is None:
        raise argparse.ArgumentTypeError(f"{text!r}: the lock timeout must be above zero")
    return duration


class Command(DatabaseCommand):
    help = (
        "Make the daily tables equal to the events on the divergent days, a day per transaction, "
        "safe beside the enrichment worker; one audit row per run. Exit 0: done; 2: could not run; 3: lock not granted."
    )
    postgresql_only = True
    changes_data = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        add_period_arguments(parser)
        parser.add_argument(
            "--lock-timeout", type=lock_duration, default=repair.LOCK_TIMEOUT, metavar="DURATION",
            help=f"How long each of a day's {repair.ATTEMPTS} attempts waits for the daily tables' lock "
                 f"(default {repair.LOCK_TIMEOUT.total_seconds():g}s; e.g. 500ms, 5s).",
        )

    def handle(self, *args, since, until, dry_run, lock_timeout, verbosity, **options):
        check_period(since, until)
        with self.database_errors("check the daily totals"):
            scan = verification.verify(self.connection, since, until, on_day=DayProgress(self.stderr, verbosity, "repair_rollups (checking)"))
        self.stdout.write(f"{self.target()}: {len(scan.divergent):,} divergent rows on {len(scan.divergent_days):,} of {len(scan.days):,} days with data.")
        self.show(scan.divergent)
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        if scan.divergent:
            self.confirm(f"Make these {len(scan.divergent_days):,} days equal to their events?")
        run = repair.RepairRun(scan)
        try:
            with self.database_errors("repair the daily totals"):
                self.repair_days(run, lock_timeout)
        finally:
            # One audit row per run, also when it stopped halfway: each day
            # repaired so far is committed and must be accounted for.
            with self.database_errors("record the repair in audit_logs"):
                status.record_repair(run.details(), using=self.using)
        if run.stopped:
            self.stderr.write(f"repair_rollups stopped: {run.stopped}; the days before it are repaired and recorded: run it again.")
            self.exit_with(ExitCode.LOCK_TIMEOUT)
        done = f"Repaired {len(run.days):,} days: {repair.describe_changes(run.rows)}" if run.days else "Nothing to repair"
        self.stdout.write(self.style.SUCCESS(f"{done}; recorded in audit_logs."))

    def repair_days(self, run, lock_timeout):
        for day in run.scan.divergent_days:
            try:
                rows = repair.repair_day(self.connection, day, lock_timeout)
            except repair.DayNotRepaired as exc:
                run.stopped = str(exc)
                return
            run.add(day, rows)
            self.stdout.write(f"{day}: {repair.describe_changes(rows)}")

    def show(self, rows):
        for line in problem_lines(rows[:SHOWN_PROBLEMS]):
            self.stdout.write(f"  {line}")
        if len(rows) > SHOWN_PROBLEMS:
            self.stdout.write(f"  ... and {len(rows) - SHOWN_PROBLEMS:,} more rows (verify_rollups lists them all).")
