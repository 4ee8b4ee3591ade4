"""Every command works on one named schema (DATABASE_SCHEMA, default public), whatever search_path says.

PostgreSQL's default search path starts with ``"$user"``: a schema named
after the connecting role (``CREATE SCHEMA postgres``) would otherwise catch
every unqualified name, so that ``baseline`` saw an empty database beside a
full legacy one and ``migrate`` built empty tables there.
"""

from tests import dbtools
from tests.dbtools import manage


def tables_in(dbname, schema):
    rows = dbtools.execute(dbname, "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema])
    return [r[0] for r in rows]


def test_a_schema_named_after_the_role_does_not_hide_the_legacy_tables(legacy_db):
    dbtools.run_sql_file(legacy_db, dbtools.FIXTURES / "legacy_data.sql")
    dbtools.execute(legacy_db, "CREATE SCHEMA postgres")
    columns = dbtools.table_columns(legacy_db)
    old_rows = {"audit_logs": "action NOT LIKE 'schema.%'"}
    before = dbtools.column_checksums(legacy_db, columns, where=old_rows)

    dry = manage("baseline", "--dry-run", database=legacy_db)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Shape found: legacy revision 001" in dry.stdout

    refused = manage("migrate", "--no-input", database=legacy_db)
    assert refused.returncode == 1 and "baseline --dry-run" in refused.stderr
    assert tables_in(legacy_db, "postgres") == []

    assert manage("baseline", "--no-input", database=legacy_db).returncode == 0
    assert manage("migrate", "--no-input", database=legacy_db).returncode == 0
    assert tables_in(legacy_db, "postgres") == []
    verify = manage("verify_schema", database=legacy_db)
    assert verify.returncode == 0, verify.stdout
    assert dbtools.column_checksums(legacy_db, columns, where=old_rows) == before


def test_a_same_named_table_earlier_on_the_search_path_is_reported(migrated_db):
    dbtools.execute(migrated_db, "CREATE SCHEMA postgres; CREATE TABLE postgres.events_enriched (id varchar)")
    result = manage("verify_schema", database=migrated_db)
    assert result.returncode == 1
    assert "table_shadowed: postgres.events_enriched" in result.stdout


def test_a_same_named_table_in_an_unrelated_schema_is_not(migrated_db):
    dbtools.execute(migrated_db, "CREATE SCHEMA archive; CREATE TABLE archive.events_enriched (id varchar)")
    assert manage("verify_schema", database=migrated_db).returncode == 0


def test_a_database_search_path_setting_counts_too(migrated_db):
    dbtools.execute(migrated_db, f"CREATE SCHEMA staging; CREATE TABLE staging.orgs (id varchar); "
                                 f"ALTER DATABASE {migrated_db} SET search_path = staging, public")
    result = manage("verify_schema", database=migrated_db)
    assert result.returncode == 1 and "table_shadowed: staging.orgs" in result.stdout


def test_a_configured_schema_holds_everything(scratch_db):
    dbtools.execute(scratch_db, "CREATE SCHEMA ecomind")
    env = {"DATABASE_SCHEMA": "ecomind"}
    assert manage("migrate", "--no-input", database=scratch_db, env=env).returncode == 0
    assert "events_enriched" in tables_in(scratch_db, "ecomind") and tables_in(scratch_db, "public") == []
    verify = manage("verify_schema", database=scratch_db, env=env)
    assert verify.returncode == 0, verify.stdout
    # The same database seen through public: nothing of ours is there.
    assert manage("verify_schema", database=scratch_db).returncode == 1


def test_a_missing_schema_is_one_line_and_writes_nothing(scratch_db):
    env = {"DATABASE_SCHEMA": "nowhere"}
    for command in (["migrate", "--no-input"], ["verify_schema"], ["baseline", "--dry-run"]):
        result = manage(*command, database=scratch_db, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1 and "schema 'nowhere' does not exist" in result.stderr
    assert dbtools.public_tables(scratch_db) == []
