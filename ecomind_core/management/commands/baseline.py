"""Adopt an existing EcoMind database into Django's migrations, safely.

Proves the live catalog is exactly what the initial migrations would build,
then records them as applied (``migrate --fake-initial``) in one
transaction, under the same lock as ``migrate``. Never touches a row of data.
See docs/runbooks/baselining.md.

Exit codes (exit_codes.py): 0 adopted, already baselined, or (``--dry-run``)
would adopt; 1 refused (nothing written); 2 could not check, or not
confirmed (nothing written); 3 the tables
could not be locked in time (nothing written; re-run).
"""

import json

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError

from ecomind_core.audit.schema_changes import actor
from ecomind_core.baseline import inspection, writability
from ecomind_core.baseline.recording import BaselineRefused, last_baseline, record_baseline, remove_baseline
from ecomind_core.catalog.report import render_text
from ecomind_core.db.lock_timeout import is_lock_timeout, parse_duration
from ecomind_core.db.locking import migration_lock
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.management.exit_codes import ExitCode

REFUSAL_REASONS = {
    inspection.EMPTY: "the database holds none of EcoMind's tables: there is nothing to adopt; build the schema with `manage.py migrate`",
    inspection.PARTIAL: "the database holds only some of EcoMind's tables (missing: {missing}); restore them or start from an empty database",
}


class Command(DatabaseCommand):
    help = (
        "Adopt an existing EcoMind database: prove its schema is exactly what the initial migrations build, "
        "then record them as applied. Exit 0: adopted or already baselined; 1: refused; 2: could not check; "
        "3: could not lock the tables in time."
    )
    requires_system_checks = []
    postgresql_only = True
    changes_data = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-timeout", metavar="DURATION", default=None,
            help="How long to wait to lock the tables against schema changes while adopting "
                 "(default: MIGRATION_LOCK_TIMEOUT, 2s; exit 3 past it).",
        )
        parser.add_argument("--undo", action="store_true", help="Remove exactly what a baseline recorded (refused if later migrations were applied).")
        parser.add_argument(
            "--rename-enum-labels", action="store_true",
            help="Pre-migration databases: rename upper-case enum labels (FREE -> free) in place, in the same transaction.",
        )

    def handle(self, *args, dry_run, undo, rename_enum_labels, lock_timeout, **options):
        if undo and rename_enum_labels:
            raise cannot_run("--undo and --rename-enum-labels cannot be combined.")
        self.lock_timeout_text = lock_timeout or settings.MIGRATION_LOCK_TIMEOUT
        try:
            self.lock_timeout = parse_duration(self.lock_timeout_text)
        except ValueError as exc:
            raise cannot_run(f"--lock-timeout / MIGRATION_LOCK_TIMEOUT: {exc}.") from None
        self.dry_run = dry_run
        self.stdout.write(f"Target: {self.target()}")
        if undo:
            self.undo_baseline()
        else:
            self.adopt_database(rename_enum_labels)

    # -- adopt -------------------------------------------------------------
    def inspect(self):
        with self.database_errors("inspect the database"):
            try:
                return inspection.inspect(self.connection)
            except inspection.MigrationStateUnreadable as exc:
                raise cannot_run(f"could not read django_migrations: {exc}") from None

    def adopt_database(self, rename_labels):
        found = self.inspect()
        self.show(found, rename_labels)
        if found.shape == inspection.BASELINED:
            self.stdout.write("Already baselined: nothing to do.")
            return
        cannot_write = self.write_obstacles(found, rename_labels)
        self.refuse_unless_adoptable(found, rename_labels)
        if cannot_write:
            raise cannot_run(
                f"this role cannot write {self.target()}, so a baseline would fail: {'; '.join(cannot_write)}. "
                "Nothing was written; run baseline as a role that can (docs/runbooks/baselining.md)."
            )
        if self.dry_run:
            self.stdout.write("Dry run: nothing was written. Run again without --dry-run to adopt.")
            return
        self.confirm(f"Adopt {self.target()} by recording {', '.join(found.migrations)}?")
        with self.database_errors("adopt the database"), migration_lock(using=self.using):
            found = inspection.inspect(self.connection)  # again, under the lock
            if found.shape == inspection.BASELINED:
                self.stdout.write("Already baselined (by a concurrent run): nothing to do.")
                return
            self.refuse_unless_adoptable(found, rename_labels)
            try:
                record_baseline(self.connection, found, rename_labels=rename_labels, target_description=self.target(),
                                actor=actor(), lock_timeout=self.lock_timeout)
            except BaselineRefused as exc:
                self.refuse(f"{exc}; nothing was written")
            except DatabaseError as exc:
                if not is_lock_timeout(exc):
                    raise
                raise CommandError(
                    f"could not lock EcoMind's tables against schema changes within {self.lock_timeout_text} "
                    "(a long transaction holds one of them); nothing was written. Re-run when it has finished, "
                    "or raise --lock-timeout.", returncode=ExitCode.LOCK_TIMEOUT,
                ) from None
        self.stdout.write(self.style.SUCCESS(
            f"Adopted ({found.shape}): recorded {', '.join(found.migrations)}. Run `manage.py migrate` for what comes after."
        ))

    def write_obstacles(self, found, rename_labels):
        """Why this role could not record the baseline, each said on its own line ([]: it could)."""
        if found.target is None:
            return []
        with self.database_errors("check what this role may write"):
            obstacles = writability.obstacles(self.connection, found, rename_labels)
        for obstacle in obstacles:
            self.stdout.write(f"This role cannot write the database: {obstacle}")
        return obstacles

    def show(self, found, rename_labels):
        self.stdout.write(f"Shape found: {found.shape}")
        if found.table_sizes:
            sizes = ", ".join(f"{t} {'~' + format(n, ',') if n is not None else 'not analysed'}" for t, n in sorted(found.table_sizes.items()))
            self.stdout.write(f"Rows (planner estimates, not counted): {sizes}")
        if found.migrations and found.shape != inspection.BASELINED:
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
            self.stdout.write(render_text(found.blocking, self.target()), ending="")
            places = f"{len(found.blocking)} place{'' if len(found.blocking) == 1 else 's'}"
            self.refuse(f"{found.shape} database differs from the initial migrations in {places} (listed above)")
        if found.label_renames and not rename_labels:
            labels = ", ".join(sorted({old for _, old, _ in found.label_renames}))
            self.refuse(
                f"pre-migration enum labels are upper case ({labels}); re-run with --rename-enum-labels "
                "to rename them in place (see --dry-run first)"
            )

    # -- undo --------------------------------------------------------------
    def undo_plan(self):
        """What undoing would remove: the last baseline's details; refuses when there is nothing to undo."""
        found = self.inspect()
        with self.database_errors("inspect the database"):
            details = last_baseline(self.connection) if found.shape == inspection.BASELINED else None
        if details is None:
            self.refuse("this database was not adopted by baseline (no baseline record): nothing to undo")
        recorded = {name.split(".", 1)[1] for name in details["migrations_recorded"]}
        later = sorted(set(found.migrations) - recorded)
        if later:
            self.refuse(
                f"later migrations are applied on top ({', '.join(later)}); roll them back first with "
                f"`manage.py migrate ecomind_core {sorted(recorded)[-1]}`"
            )
        return details, (found.shape, tuple(found.migrations), json.dumps(details, sort_keys=True))

    def undo_baseline(self):
        details, shown = self.undo_plan()
        self.stdout.write(f"Would remove the records of: {', '.join(details['migrations_recorded'])}")
        for rename in details.get("labels_renamed", []):
            self.stdout.write(f"Would rename back: enum {rename['type']} label {rename['to']!r} -> {rename['from']!r}")
        if self.dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        self.confirm(f"Undo the baseline of {self.target()}?")
        with self.database_errors("undo the baseline"), migration_lock(using=self.using):
            # Again, under the lock migrate takes: a migrate that ran while
            # the question was on screen may have built on these records.
            details, now = self.undo_plan()
            if now != shown:
                self.refuse("the database changed since the plan above was shown (a migrate or baseline ran "
                            "meanwhile); nothing was written. Run `baseline --undo --dry-run` again")
            remove_baseline(self.connection, details, target_description=self.target(), actor=actor())
        self.stdout.write(self.style.SUCCESS("Baseline undone: the migration records it made are removed."))

    # -- helpers -----------------------------------------------------------
    def refuse(self, message):
        self.stderr.write(f"baseline refused: {message}.")
        self.exit_with(ExitCode.FOUND)
