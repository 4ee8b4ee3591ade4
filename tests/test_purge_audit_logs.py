"""purge_audit_logs: the only delete, old rows only, in one transaction, itself audited.

The append-only trigger stays in force for every other statement and session,
and a purge blocks no writer.
"""

import datetime
import io

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from ecomind_core.audit.records import KEPT_FOREVER, SYSTEM_ORG
from ecomind_core.models import APPEND_ONLY, AuditLog, append_only_trigger_uri
from tests import dbtools
from tests.dbtools import manage

APPEND_ONLY_FUNCTION = APPEND_ONLY.get_pgid(AuditLog)


@pytest.fixture
def audited_db(migrated_db):
    dbtools.execute(migrated_db, """
        INSERT INTO audit_logs (id, org_id, action, resource, ts)
        SELECT 'audit_' || i, 'org_1', 'login', 'org', timestamp '2025-12-31 12:00' + (i - 50) * interval '1 day'
        FROM generate_series(1, 100) i""")
    return migrated_db


def count(dbname, where="true"):
    """Audit rows matching ``where``, leaving out those migrate wrote about itself (schema.*, dated now)."""
    return dbtools.execute(dbname, f"SELECT count(*) FROM audit_logs WHERE action NOT LIKE 'schema.%%' AND {where}")[0][0]


def test_purge_removes_only_old_rows_and_leaves_its_own_audit_row(audited_db):
    assert count(audited_db, "ts < '2026-01-01'") == 50
    dry = manage("purge_audit_logs", "--before", "2026-01-01", "--dry-run", database=audited_db)
    assert dry.returncode == 0 and "50 audit rows" in dry.stdout and count(audited_db) == 100
    result = manage("purge_audit_logs", "--before", "2026-01-01", "--no-input", database=audited_db)
    assert result.returncode == 0, result.stderr
    assert count(audited_db, "ts < '2026-01-01'") == 0 and count(audited_db, "action = 'login'") == 50
    [(details,)] = dbtools.execute(audited_db, "SELECT details::text FROM audit_logs WHERE action = 'audit.purge'")
    assert '"deleted": 50' in details
    # The trigger is back: nothing else can delete.
    with pytest.raises(Exception, match="Cannot update or delete"):
        dbtools.execute(audited_db, "DELETE FROM audit_logs")


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", ""])
def test_bad_date_is_one_line(audited_db, bad):
    result = manage("purge_audit_logs", "--before", bad, database=audited_db)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "YYYY-MM-DD" in result.stderr
    assert count(audited_db) == 100


def test_purge_keeps_records_other_commands_rely_on(audited_db):
    # (Rows without a time no longer exist: ts is NOT NULL since migration 0006, the partition key.)
    dbtools.execute(audited_db, """
        INSERT INTO audit_logs (id, org_id, action, resource, ts)
        SELECT 'kept_' || action, %s, action, 'database', timestamp '2020-01-01' FROM unnest(%s::text[]) action""",
        [SYSTEM_ORG, list(KEPT_FOREVER)])
    result = manage("purge_audit_logs", "--before", "2099-01-01", "--no-input", database=audited_db)
    assert result.returncode == 0, result.stderr
    kept = dbtools.execute(audited_db, "SELECT id FROM audit_logs WHERE action <> 'audit.purge' ORDER BY id")
    assert [row[0] for row in kept] == sorted(f"kept_{action}" for action in KEPT_FOREVER)


def trigger_calls(dbname):
    """How often the append-only trigger's function has run in ``dbname`` (track_functions)."""
    rows = dbtools.execute(dbname, "SELECT calls FROM pg_stat_user_functions WHERE funcname = %s", [APPEND_ONLY_FUNCTION])
    return rows[0][0] if rows else 0


def test_the_trigger_fires_once_per_statement_so_a_purge_pays_for_it_once(audited_db):
    # PL/pgSQL call counts for every session of this database (the purge runs in its own process).
    dbtools.execute(audited_db, f'ALTER DATABASE "{audited_db}" SET track_functions = \'pl\'')
    result = manage("purge_audit_logs", "--before", "2026-01-01", "--no-input", database=audited_db)
    assert result.returncode == 0 and "Deleted 50 audit rows" in result.stdout, result.stderr
    assert trigger_calls(audited_db) == 1  # one DELETE statement of 50 rows: one call, one ignore check


@pytest.mark.parametrize("statement", [
    "DELETE FROM audit_logs WHERE ts < '2026-01-01'",
    "UPDATE audit_logs SET action = 'tampered' WHERE ts < '2026-01-01'",
    "DELETE FROM audit_logs WHERE id = 'no such row'",  # refused even when it would change nothing
    "UPDATE audit_logs SET action = 'tampered' WHERE false",
])
def test_everyone_else_is_refused_update_and_delete(audited_db, statement):
    before = dbtools.table_checksums(audited_db, ["audit_logs"])
    with pytest.raises(psycopg.errors.RaiseException, match="Cannot update or delete rows from audit_logs"):
        dbtools.execute(audited_db, statement)
    assert dbtools.table_checksums(audited_db, ["audit_logs"]) == before


@pytest.mark.django_db(transaction=True)
def test_a_purge_in_progress_blocks_no_writer_and_lends_its_leave_to_no_one(settings):
    """While a purge's transaction is open, another session inserts at once, and still cannot delete."""
    AuditLog.objects.bulk_create(
        AuditLog(org_id="org_1", action="login", resource="org", ts=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
        for _ in range(20)
    )
    dbname = connection.settings_dict["NAME"]
    with transaction.atomic():
        call_command("purge_audit_logs", "--before", "2026-01-01", "--no-input", stdout=io.StringIO())
        old = AuditLog.objects.exclude(action="audit.purge").exclude(action__startswith="schema.")
        assert not old.exists()  # deleted, not yet committed
        with dbtools.connect(dbname) as writer:
            writer.execute("SET lock_timeout = '2s'")  # a blocked insert fails instead of waiting
            writer.execute("INSERT INTO audit_logs (id, org_id, action, resource, ts) VALUES ('audit_new', 'org_1', 'login', 'org', now())")
            with pytest.raises(psycopg.errors.RaiseException, match="Cannot update or delete"):
                writer.execute("DELETE FROM audit_logs WHERE id = 'audit_new'")
    assert sorted(AuditLog.objects.exclude(action__startswith="schema.").values_list("action", flat=True)) == [
        "audit.purge", "login"]
    assert AuditLog.objects.get(action="audit.purge").details["deleted"] == 20


def test_after_migrate_the_trigger_is_installed_enabled_and_verified(migrated_db):
    listing = manage("pgtrigger", "ls", database=migrated_db)
    [line] = [line for line in listing.stdout.splitlines() if append_only_trigger_uri() in line]
    assert listing.returncode == 0 and "INSTALLED" in line and "ENABLED" in line and "OUTDATED" not in line, listing.stdout
    assert manage("verify_schema", database=migrated_db).returncode == 0
