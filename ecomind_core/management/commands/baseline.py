"""Adopt an existing EcoMind database into Django's migrations, safely.

Proves the live catalog is exactly what the initial migrations would build,
then records them as applied (``migrate --fake-initial``) in one
transaction, under the same lock as ``migrate``. Never touches a row of data.
See docs/runbooks/baselining.md.

Exit codes: 0 adopted, already baselined, or (``--dry-run``) would adopt;
1 refused (nothing written); 2 could not check.
"""

import getpass
import socket
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ecomind_core.adoption import inspection as shapes
from ecomind_core.adoption.adoption import AdoptionRefused, adopt, last_adoption, undo
from ecomind_core.catalog.report import render_text
from ecomind_core.db.locking import migration_lock
from ecomind_core.db.target import describe
from ecomind_core.management.database_errors import connect_or_fail, database_errors_as_command_errors
from ecomind_core.management.one_line_errors import OneLineUsageErrors

REFUSED = 1

REFUSAL_REASONS = {
    shapes.EMPTY: "the database holds none of EcoMind's tables: there is nothing to adopt; build the schema with `manage.py migrate`",
    shapes.PARTIAL: "the database holds only some of EcoMind's tables (missing: {missing}); restore them or start from an empty database",
}


class Command(OneLineUsageErrors, BaseCommand):
    help = (
        "Adopt an existing EcoMind database: prove its schema is exactly what the initial migrations build, "
        "then record them as applied. Exit 0: adopted or already baselined; 1: refused; 2: could not check."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Inspect and print the plan; write nothing at all.")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive", help="Do not ask for confirmation.")
        parser.add_argument("--undo", action="store_true", help="Remove exactly what a baseline recorded (refused if later migrations were applied).")
        parser.add_argument(
            "--rename-enum-labels", action="store_true",
            help="Pre-migration databases: rename upper-case enum labels (FREE -> free) in place, in the same transaction.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(self, *args, dry_run, interactive, undo, rename_enum_labels, database, **options):
        if database not in connections:
            raise CommandError(f"--database {database!r} is not configured; use one of: {', '.join(connections)}.", returncode=2)
        if undo and rename_enum_labels:
            raise CommandError("--undo and --rename-enum-labels cannot be combined.", returncode=2)
        self.using, self.connection = database, connections[database]
        self.interactive, self.dry_run = interactive, dry_run
        if self.connection.vendor != "postgresql":
            raise CommandError(f"baseline adopts PostgreSQL databases; {describe(database)} is not one.", returncode=2)
        connect_or_fail(database)
        self.stdout.write(f"Target: {describe(database)}")
        if undo:
            self.undo()
        else:
            self.adopt(rename_enum_labels)

    # -- adopt -------------------------------------------------------------
    def inspect(self):
        with database_errors_as_command_errors(self.using, "inspect the database"):
            try:
                return shapes.inspect(self.connection)
            except PermissionError as exc:
                raise CommandError(f"could not read django_migrations: {exc}", returncode=2) from None

    def adopt(self, rename_labels):
        found = self.inspect()
        self.show(found, rename_labels)
        if found.shape == shapes.BASELINED:
            self.stdout.write("Already baselined: nothing to do.")
            return
        self.refuse_unless_adoptable(found, rename_labels)
        if self.dry_run:
            self.stdout.write("Dry run: nothing was written. Run again without --dry-run to adopt.")
            return
        self.confirm(f"Adopt {describe(self.using)} by recording {', '.join(found.migrations)}?")
        with database_errors_as_command_errors(self.using, "adopt the database"), migration_lock(using=self.using):
            found = shapes.inspect(self.connection)  # again, under the lock
            if found.shape == shapes.BASELINED:
                self.stdout.write("Already baselined (by a concurrent run): nothing to do.")
                return
            self.refuse_unless_adoptable(found, rename_labels)
            try:
                adopt(self.connection, found, rename_labels=rename_labels,
                      target_description=describe(self.using), tool_user=self.actor())
            except AdoptionRefused as exc:
                self.refuse(f"{exc}; nothing was written")
        self.stdout.write(self.style.SUCCESS(
            f"Adopted ({found.shape}): recorded {', '.join(found.migrations)}. Run `manage.py migrate` for what comes after."
        ))

    def show(self, found, rename_labels):
        self.stdout.write(f"Shape found: {found.shape}")
        if found.table_sizes:
            sizes = ", ".join(f"{t} {'~' + format(n, ',') if n is not None else 'not analysed'}" for t, n in sorted(found.table_sizes.items()))
            self.stdout.write(f"Rows (planner estimates, not counted): {sizes}")
        if found.migrations and found.shape != shapes.BASELINED:
            self.stdout.write(f"Would record as applied: {', '.join(found.migrations)}")
        for enum, old, new in found.label_renames:
            verb = "Would rename" if rename_labels else "Needs renaming (--rename-enum-labels)"
            self.stdout.write(f"{verb}: enum {enum} label {old!r} -> {new!r} (no row is rewritten)")
        for finding in found.warnings:
            self.stdout.write(f"Left untouched: {finding.object} ({finding.kind.replace('_', ' ')})")

    def refuse_unless_adoptable(self, found, rename_labels):
        if found.shape in REFUSAL_REASONS:
            self.refuse(REFUSAL_REASONS[found.shape].format(missing=", ".join(found.missing_tables)))
        if found.target is None:
            self.refuse(f"{found.shape}: this tool knows legacy revisions 001 and 002 only")
        if found.blocking:
            self.stdout.write(render_text(found.blocking, describe(self.using)), ending="")
            self.refuse(f"{found.shape} database differs from the initial migrations in {len(found.blocking)} places (listed above)")
        if found.label_renames and not rename_labels:
            labels = ", ".join(sorted({old for _, old, _ in found.label_renames}))
            self.refuse(
                f"pre-migration enum labels are upper case ({labels}); re-run with --rename-enum-labels "
                "to rename them in place (see --dry-run first)"
            )

    # -- undo --------------------------------------------------------------
    def undo(self):
        with database_errors_as_command_errors(self.using, "inspect the database"):
            found = shapes.inspect(self.connection)
            details = last_adoption(self.connection) if found.shape == shapes.BASELINED else None
        if details is None:
            self.refuse("this database was not adopted by baseline (no baseline record): nothing to undo")
        recorded = {name.split(".", 1)[1] for name in details["migrations_recorded"]}
        later = sorted(set(found.migrations) - recorded)
        if later:
            self.refuse(
                f"later migrations are applied on top ({', '.join(later)}); roll them back first with "
                f"`manage.py migrate ecomind_core {sorted(recorded)[-1]}`"
            )
        self.stdout.write(f"Would remove the records of: {', '.join(details['migrations_recorded'])}")
        for rename in details.get("labels_renamed", []):
            self.stdout.write(f"Would rename back: enum {rename['type']} label {rename['to']!r} -> {rename['from']!r}")
        if self.dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        self.confirm(f"Undo the baseline of {describe(self.using)}?")
        with database_errors_as_command_errors(self.using, "undo the baseline"), migration_lock(using=self.using):
            undo(self.connection, details, target_description=describe(self.using), tool_user=self.actor())
        self.stdout.write(self.style.SUCCESS("Baseline undone: the migration records it made are removed."))

    # -- helpers -----------------------------------------------------------
    def confirm(self, question):
        if not self.interactive:
            return
        self.stdout.write(f"{question} Type 'yes' to continue: ", ending="")
        self.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer != "yes":
            self.refuse("not confirmed; nothing was written (use --no-input in automation)")

    def refuse(self, message):
        self.stderr.write(f"baseline refused: {message}.")
        raise SystemExit(REFUSED)

    @staticmethod
    def actor():
        try:
            user = getpass.getuser()
        except Exception:  # no login name in some containers
            user = "unknown"
        return f"{user}@{socket.gethostname()}"
