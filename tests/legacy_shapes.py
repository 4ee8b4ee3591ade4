"""Legacy databases in shapes the fixtures alone do not make."""

from tests import dbtools

MIGRATE_OTHER_APPS = """
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader
for app in sorted(MigrationLoader(None).migrated_apps - {"ecomind_core"}):
    call_command("migrate", app, "--no-input", verbosity=0)
"""


def build_legacy_with_apps(name, data=True):
    """A legacy database on which Django's, axes' and otp's migrations ran before.

    What a ``migrate`` from before the guard left (baseline/guard.py): it
    built those applications' tables and recorded their migrations, then
    failed on EcoMind's first one. Then legacy revision 001, with its data.
    """
    result = dbtools.manage("shell", "--no-imports", "-c", MIGRATE_OTHER_APPS, database=name)
    assert result.returncode == 0, result.stderr
    dbtools.run_sql_file(name, dbtools.LEGACY_001)
    if data:
        dbtools.run_sql_file(name, dbtools.FIXTURES / "legacy_data.sql")
