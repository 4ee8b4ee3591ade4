"""``verify_schema --record``: the verdict and its findings in one audit row, the check itself still read-only.

Real subprocesses on scratch databases, as the scheduled job runs it.
"""

import json

from tests import dbtools
from tests.dbtools import manage



def verdict_rows(dbname):
    rows = dbtools.execute(
        dbname, "SELECT org_id, resource, details::text FROM audit_logs WHERE action = 'schema.verify' ORDER BY ts")
    return [(org, resource, json.loads(details)) for org, resource, details in rows]


def other_tables(dbname):
    return dbtools.table_checksums(dbname, [t for t in dbtools.owned_tables() if t != "audit_logs"])


def test_a_clean_database_records_a_match(migrated_db):
    before = other_tables(migrated_db)
    result = manage("verify_schema", "--record", database=migrated_db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the schema matches" in result.stdout
    [(org, resource, details)] = verdict_rows(migrated_db)
    assert (org, resource) == ("system", "schema")
    assert details == {"verdict": "match", "errors": 0, "warnings": 0, "strict": False, "findings": [], "findings_omitted": 0}
    assert other_tables(migrated_db) == before  # recording touches audit_logs only


def test_without_record_nothing_is_written(migrated_db):
    before = dbtools.table_checksums(migrated_db)
    assert manage("verify_schema", database=migrated_db).returncode == 0
    assert dbtools.table_checksums(migrated_db) == before


def test_drift_is_recorded_with_its_findings_and_still_exits_1(migrated_db):
    dbtools.execute(migrated_db, "DROP INDEX ix_events_enriched_ts")
    dbtools.execute(migrated_db, "CREATE TABLE someone_elses (id int)")
    result = manage("verify_schema", "--record", database=migrated_db)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "index_missing: ix_events_enriched_ts" in result.stdout  # the report as without --record
    [(_, _, details)] = verdict_rows(migrated_db)
    assert (details["verdict"], details["errors"], details["warnings"]) == ("drift", 1, 1)
    first = details["findings"][0]
    assert (first["kind"], first["object"], first["severity"], first["table"]) == (
        "index_missing", "ix_events_enriched_ts", "error", "events_enriched")
    assert "migrate" in first["hint"]


def test_strict_records_warnings_alone_as_drift(migrated_db):
    dbtools.execute(migrated_db, "CREATE TABLE someone_elses (id int)")
    assert manage("verify_schema", "--record", database=migrated_db).returncode == 0
    assert manage("verify_schema", "--record", "--strict", database=migrated_db).returncode == 1
    lenient, strict = (details for _, _, details in verdict_rows(migrated_db))
    assert (lenient["verdict"], lenient["warnings"]) == ("match", 1)
    assert (strict["verdict"], strict["errors"], strict["warnings"], strict["strict"]) == ("drift", 0, 1, True)


def test_a_thousand_unrelated_findings_keep_the_row_small_and_the_errors_first(migrated_db):
    dbtools.execute(migrated_db, "DO $$ BEGIN FOR i IN 1..150 LOOP EXECUTE format('CREATE TABLE other_%s (id int)', i); END LOOP; END $$")
    dbtools.execute(migrated_db, "ALTER TABLE events_enriched DROP COLUMN source")
    assert manage("verify_schema", "--record", database=migrated_db).returncode == 1
    [(_, _, details)] = verdict_rows(migrated_db)
    assert details["warnings"] == 150 and details["errors"] >= 1
    assert len(details["findings"]) == 100 and details["findings_omitted"] == details["errors"] + 150 - 100
    assert details["findings"][0]["severity"] == "error"


def test_a_database_it_cannot_reach_records_nothing_and_says_one_line():
    result = manage("verify_schema", "--record", env={"DATABASE_URL": "postgres://ecomind:s3cret-pw@127.0.0.1:1/ecomind"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_drift_that_broke_audit_logs_is_reported_then_exits_2(migrated_db):
    dbtools.execute(migrated_db, "ALTER TABLE audit_logs RENAME TO audit_logs_moved")
    result = manage("verify_schema", "--record", database=migrated_db)
    assert result.returncode == 2
    assert "table_missing: audit_logs" in result.stdout  # the report came first
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "could not record the verdict in audit_logs: relation \"audit_logs\" does not exist" in result.stderr
    assert "Traceback" not in result.stderr
