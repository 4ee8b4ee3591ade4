"""purge_audit_logs: the only delete, old rows only, in one transaction, itself audited."""


import pytest

from tests import dbtools
from tests.dbtools import manage


@pytest.fixture
def audited_db(migrated_db):
    dbtools.execute(migrated_db, """
        INSERT INTO audit_logs (id, org_id, action, resource, ts)
        SELECT 'audit_' || i, 'org_1', 'login', 'org', timestamp '2025-12-31 12:00' + (i - 50) * interval '1 day'
        FROM generate_series(1, 100) i""")
    return migrated_db


def count(dbname, where="true"):
    return dbtools.execute(dbname, f"SELECT count(*) FROM audit_logs WHERE {where}")[0][0]


def test_purge_removes_only_old_rows_and_leaves_its_own_audit_row(audited_db):
    assert count(audited_db, "ts < '2026-01-01'") == 50
    dry = manage("purge_audit_logs", "--before", "2026-01-01", "--dry-run", database=audited_db)
    assert dry.returncode == 0 and "50 audit rows" in dry.stdout and count(audited_db) == 100
    result = manage("purge_audit_logs", "--before", "2026-01-01", database=audited_db)
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
