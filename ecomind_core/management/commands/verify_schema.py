"""Compare the live database with what the models and migrations say it should be.

Exit codes: 0 the schema matches (warnings allowed), 1 drift found (or any
warning with --strict), 2 could not check. Never writes anything.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ecomind_core import catalog
from ecomind_core.catalog.report import render_json, render_text
from ecomind_core.db.target import describe
from ecomind_core.management.database_errors import connect_or_fail, database_errors_as_command_errors
from ecomind_core.management.one_line_errors import OneLineUsageErrors

DRIFT = 1


class Command(OneLineUsageErrors, BaseCommand):
    help = (
        "Compare the live schema with the models and migrations. Differences on this project's tables "
        "are errors, on anything else warnings. Exit 0: matches; 1: drift; 2: could not check."
    )
    requires_system_checks = []  # a health check must not fail for reasons other than the schema

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias to check (default: default).")
        parser.add_argument("--format", choices=["text", "json"], default="text", help="Report format (default: text).")
        parser.add_argument("--strict", action="store_true", help="Warnings fail the check too (exit 1).")

    def handle(self, *args, database, format, strict, **options):
        if database not in connections:
            raise CommandError(f"--database {database!r} is not configured; use one of: {', '.join(connections)}.", returncode=2)
        connect_or_fail(database)
        with database_errors_as_command_errors(database, "read the catalog"):
            result = catalog.verify(connections[database])
        report = render_json(result.findings) if format == "json" else render_text(result.findings, describe(database))
        self.stdout.write(report, ending="")
        if catalog.has_errors(result.findings, strict=strict):
            # Exit without Django's "CommandError:" prefix: the report said it all.
            raise SystemExit(DRIFT)
