"""Django's ``makemigrations``, writing the safe forms of operations (migration_safety/autodetector.py).

A migration that holds one of them says ``atomic = False``: their
statements (CONCURRENTLY, NOT VALID then VALIDATE) must commit one by one.
Django's migration writer has no place for that attribute, so it is added
to the file after writing. ``check_migrations`` then proves the result.
"""

from django.core.management.commands import makemigrations
from django.db.migrations.writer import MigrationWriter

from ecomind_core.management.base import cannot_run
from ecomind_core.migration_safety.autodetector import SafeAutodetector, UnsafeModelChange

CLASS_LINE = "class Migration(migrations.Migration):\n"
NON_ATOMIC = (
    "\n    # Its operations commit statement by statement (CONCURRENTLY, NOT VALID then VALIDATE),\n"
    "    # so that no write-blocking lock is held for long: ecomind_core/migration_safety/operations.py.\n"
    "    atomic = False\n"
)


class Command(makemigrations.Command):
    help = makemigrations.Command.help + " Writes the safe forms of operations on existing tables."

    def handle(self, *args, **options):
        style = self.style

        class StyledAutodetector(SafeAutodetector):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs, style=style)

        self.autodetector = StyledAutodetector
        try:
            return super().handle(*args, **options)
        except UnsafeModelChange as exc:
            raise cannot_run(str(exc)) from None

    def write_migration_files(self, changes, update_previous_migration_paths=None):
        non_atomic = []
        for app_migrations in changes.values():
            for migration in app_migrations:
                if any(getattr(op, "requires_non_atomic", False) for op in migration.operations):
                    migration.atomic = False
                    non_atomic.append(migration)
        super().write_migration_files(changes, update_previous_migration_paths)
        if self.dry_run:
            return
        for migration in non_atomic:
            path = MigrationWriter(migration, self.include_header).path
            with open(path, encoding="utf-8") as source:
                text = source.read()
            if "atomic = False" not in text:
                with open(path, "w", encoding="utf-8") as target:
                    target.write(text.replace(CLASS_LINE, CLASS_LINE + NON_ATOMIC, 1))
