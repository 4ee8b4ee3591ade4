"""Compare the live database with what the models and migrations say it should be.

``--at APP.MIGRATION`` compares with the state the migration graph gives
when that migration is the newest applied of its app, not with the current
code: after a rollback, or before deploying new code onto an old database.

Exit codes (exit_codes.py): 0 the schema matches (warnings allowed), 1 drift
found (or any warning with --strict), 2 could not check. Reads only;
``--record`` then appends one audit row with the verdict and its findings
(ecomind_core/monitoring/verdicts.py), for /metrics and the admin's Schema
health page. A run that could not check records nothing.
"""

from django.db.migrations.loader import MigrationLoader

from ecomind_core import catalog
from ecomind_core.catalog.report import render_json, render_text
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.migration_safety.graph import parse_target
from ecomind_core.monitoring.verdicts import record_schema_verdict


class Command(DatabaseCommand):
    help = (
        "Compare the live schema with the models and migrations. Differences on this project's tables "
        "are errors, on anything else warnings. Exit 0: matches; 1: drift; 2: could not check."
    )
    requires_system_checks = []  # a health check must not fail for reasons other than the schema

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--format", choices=["text", "json"], default="text", help="Report format (default: text).")
        parser.add_argument("--strict", action="store_true", help="Warnings fail the check too (exit 1).")
        parser.add_argument(
            "--record", action="store_true",
            help="Append the verdict to audit_logs (for /metrics and the admin's Schema health page); the check stays read-only.",
        )
        parser.add_argument("--at", metavar="APP.MIGRATION",
                            help="Compare with the state at this migration (e.g. after `rollback --to` it), not the current code.")

    def handle(self, *args, format, strict, record, at, **options):
        target = self.parse_at(at) if at else None
        if record and target:
            raise cannot_run("--record stores the verdict against the current code: it cannot be combined with --at.")
        with self.database_errors("read the catalog"):
            result = catalog.verify_at(self.connection, target) if target else catalog.verify(self.connection)
        if format == "json":
            report = render_json(result.findings)
        else:
            report = render_text(result.findings, self.target(), verbosity=options["verbosity"])
        self.stdout.write(report, ending="")
        if record:  # after the report: a drift that broke audit_logs is still shown (then exit 2)
            with self.database_errors("record the verdict in audit_logs"):
                record_schema_verdict(result.findings, strict=strict, using=self.using)
        if catalog.has_errors(result.findings, strict=strict):
            # Exit without Django's "CommandError:" prefix: the report said it all.
            self.exit_with(ExitCode.FOUND)

    @staticmethod
    def parse_at(text):
        try:
            return parse_target(MigrationLoader(None, ignore_no_migrations=True), text)
        except ValueError as exc:
            raise cannot_run(f"--at {exc}.") from None
