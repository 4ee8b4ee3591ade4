"""Prove that every migration after the reviewed baseline is safe to ship.

Safe means: no operation holds a write-blocking lock on a table for longer
than a moment (no plain CREATE INDEX, type change, validated constraint or
SET NOT NULL scan on an existing table), and none breaks the enrichment
worker's writes or the release still running (no NOT NULL column without a
database default, no drop or rename before the rollout, none ever of a
column the worker writes). django-migration-linter and squawk read each
operation's SQL (rendered for PostgreSQL, no server needed); EcoMind's own
rules add the worker and the stages. See docs/deployment/migrations.md.

Exit codes (exit_codes.py): 0 every migration is safe (or accepted after
review, with the reason in the migration); 1 unsafe operations, each named;
2 could not check (squawk missing, a migration that does not render).
"""

import os

from django.core.management.base import BaseCommand

from ecomind_core.management.base import DatabaseCommandMixin, cannot_run
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.migration_safety.check import check_all
from ecomind_core.migration_safety.linters import SquawkMissing


class Command(DatabaseCommandMixin, BaseCommand):
    help = (
        "Check that the migrations after the reviewed baseline are safe to run beside the enrichment worker and "
        "the release still running. Exit 0: safe; 1: unsafe operations (listed); 2: could not check."
    )
    requires_system_checks = []
    connect_first = False  # the SQL is rendered without a server

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", dest="everything",
                            help="Check every migration, the reviewed baseline included.")

    def handle(self, *args, everything, **options):
        try:
            reports = check_all(everything)
        except SquawkMissing as exc:
            raise cannot_run(str(exc)) from None
        except Exception as exc:  # a migration that cannot be rendered or linted
            if options["traceback"]:
                raise
            raise cannot_run(f"could not check the migrations: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
        problems = sum(len(report.problems) for report in reports)
        for report in reports:
            self.write_report(report)
        summary = f"{len(reports)} migration{'' if len(reports) == 1 else 's'} checked"
        if problems:
            self.stderr.write(f"{summary}: {problems} unsafe operation finding{'' if problems == 1 else 's'} (listed above).")
            self.exit_with(ExitCode.FOUND)
        self.stdout.write(self.style.SUCCESS(f"{summary}: safe to ship."))

    def write_report(self, report):
        status = "UNSAFE" if report.problems else "ok"
        self.stdout.write(f"{report.name} ({os.path.relpath(report.path)}): {status}")
        for problem in report.problems:
            self.stdout.write(f"  operation {problem.operation} ({problem.description}): {problem.rule} "
                              f"[{problem.source}] {problem.message}")
        for problem, reason in report.accepted:
            self.stdout.write(f"  operation {problem.operation} ({problem.description}): {problem.rule} "
                              f"accepted after review: {reason}")
