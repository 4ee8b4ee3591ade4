"""A battery of hand-made drifts on a freshly migrated PostgreSQL database.

Each case is SQL applied to a clone of one migrated database, then the real
``verify_schema --format json`` command on it (see VERIFIER). A drift on a table
of this project must exit 1 with an error finding of the expected kind that
names the object, and nothing on tables the drift did not touch. Drifts on
objects no migration describes exit 0 with warnings. Harmless changes
(maintenance, data, grants, objects recreated exactly) must verify clean:
never cry wolf.

The clones are built a few at a time in threads while one process checks
them; each test then reads its own verdict.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import dbtools
from tests.drift_harness import Drift, Runner, check

WORKERS = 4


def recreate_index(name, definition):
    return f"DROP INDEX {name}; CREATE {definition}"


def recreate_constraint(table, name, definition):
    return f"ALTER TABLE {table} DROP CONSTRAINT {name}; ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"


def recreate_fk(definition):
    return recreate_constraint("users", "users_org_id_fkey", f"FOREIGN KEY (org_id) REFERENCES {definition}")


REORDERED_ROLE = (
    "CREATE TYPE role_new AS ENUM ('admin', 'owner', 'analyst', 'viewer', 'billing'); "
    "ALTER TABLE users ALTER COLUMN role TYPE role_new USING role::text::role_new; "
    "DROP TYPE role; ALTER TYPE role_new RENAME TO role"
)

DRIFTS = {
    # -- indexes ------------------------------------------------------------
    "index dropped": Drift("DROP INDEX ix_events_org_ts", "index_missing", "ix_events_org_ts"),
    "index renamed": Drift("ALTER INDEX ix_events_enriched_ts RENAME TO ix_events_ts", "index_missing", "ix_events_enriched_ts"),
    "index columns reordered": Drift(
        recreate_index("ix_events_user_ts", "INDEX ix_events_user_ts ON events_enriched (ts, user_id)"),
        "index_changed", "ix_events_user_ts"),
    "index on another column": Drift(
        recreate_index("ix_audit_logs_ts", "INDEX ix_audit_logs_ts ON audit_logs (org_id)"), "index_changed", "ix_audit_logs_ts"),
    "index with an extra column": Drift(
        recreate_index("ix_events_enriched_org_id", "INDEX ix_events_enriched_org_id ON events_enriched (org_id, ts)"),
        "index_changed", "ix_events_enriched_org_id"),
    "index made unique": Drift(
        # The migrated database's own audit rows (org "system") would break the new uniqueness: emptied first.
        "TRUNCATE audit_logs; " + recreate_index("ix_audit_logs_org_id", "UNIQUE INDEX ix_audit_logs_org_id ON audit_logs (org_id)"),
        "index_changed", "ix_audit_logs_org_id",
        # A unique index of a partitioned table must hold its partition key.
        partitioned_sql="TRUNCATE audit_logs; " + recreate_index(
            "ix_audit_logs_org_id", "UNIQUE INDEX ix_audit_logs_org_id ON audit_logs (org_id, ts)")),
    "index method hash": Drift(
        recreate_index("ix_events_enriched_ts", "INDEX ix_events_enriched_ts ON events_enriched USING hash (ts)"),
        "index_changed", "ix_events_enriched_ts"),
    "index made partial": Drift(
        recreate_index("ix_events_enriched_org_id", "INDEX ix_events_enriched_org_id ON events_enriched (org_id) WHERE kwh > 0"),
        "index_changed", "ix_events_enriched_org_id"),
    "index descending": Drift(
        recreate_index("ix_daily_org_date", "INDEX ix_daily_org_date ON daily_org_agg (date DESC, org_id)"),
        "index_changed", "ix_daily_org_date"),
    "index operator class": Drift(
        recreate_index("ix_events_enriched_user_id",
                       "INDEX ix_events_enriched_user_id ON events_enriched (user_id varchar_pattern_ops)"),
        "index_changed", "ix_events_enriched_user_id"),
    "index on an expression": Drift(
        recreate_index("ix_events_enriched_org_id", "INDEX ix_events_enriched_org_id ON events_enriched (lower(org_id))"),
        "index_changed", "ix_events_enriched_org_id"),
    "index moved to another table": Drift(
        recreate_index("ix_audit_logs_ts", "INDEX ix_audit_logs_ts ON events_enriched (ts)"),
        "index_missing", "ix_audit_logs_ts", also=("events_enriched",)),
    "extra index": Drift("CREATE INDEX ix_events_provider ON events_enriched (provider)", "index_unexpected", "ix_events_provider"),
    "extra unique index": Drift("CREATE UNIQUE INDEX orgs_name_uniq ON orgs (name)", "index_unexpected", "orgs_name_uniq"),
    "index with INCLUDE columns": Drift(
        recreate_index("ix_events_enriched_ts", "INDEX ix_events_enriched_ts ON events_enriched (ts) INCLUDE (org_id)"),
        "index_changed", "ix_events_enriched_ts"),
    "index NULLS FIRST": Drift(
        recreate_index("ix_events_enriched_ts", "INDEX ix_events_enriched_ts ON events_enriched (ts NULLS FIRST)"),
        "index_changed", "ix_events_enriched_ts"),
    "index collation": Drift(
        recreate_index("ix_events_enriched_org_id", 'INDEX ix_events_enriched_org_id ON events_enriched (org_id COLLATE "C")'),
        "index_changed", "ix_events_enriched_org_id"),
    "index left invalid": Drift(
        # What a failed CREATE INDEX CONCURRENTLY leaves: an index the planner never uses.
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'ix_events_enriched_ts'::regclass",
        "index_changed", "ix_events_enriched_ts"),
    # -- columns ------------------------------------------------------------
    "integer to bigint": Drift("ALTER TABLE events_enriched ALTER COLUMN tokens_in TYPE bigint", "column_type", "events_enriched.tokens_in"),
    "integer to smallint": Drift("ALTER TABLE events_enriched ALTER COLUMN tokens_out TYPE smallint", "column_type", "events_enriched.tokens_out"),
    "double precision to real": Drift("ALTER TABLE events_enriched ALTER COLUMN kwh TYPE real", "column_type", "events_enriched.kwh"),
    "double precision to numeric": Drift("ALTER TABLE daily_org_agg ALTER COLUMN kwh TYPE numeric(12,6)", "column_type", "daily_org_agg.kwh"),
    "json to jsonb": Drift("ALTER TABLE audit_logs ALTER COLUMN details TYPE jsonb", "column_type", "audit_logs.details"),
    "json to text": Drift("ALTER TABLE events_enriched ALTER COLUMN metadata TYPE text", "column_type", "events_enriched.metadata"),
    "timestamp to timestamptz": Drift("ALTER TABLE events_enriched ALTER COLUMN ts TYPE timestamptz", "column_type", "events_enriched.ts",
                                      # (ts is the partition key, which PostgreSQL will not retype)
                                      partitioned_sql="ALTER TABLE events_enriched ALTER COLUMN created_at TYPE timestamptz",
                                      partitioned_object="events_enriched.created_at"),
    "timestamp precision": Drift("ALTER TABLE orgs ALTER COLUMN created_at TYPE timestamp(3)", "column_type", "orgs.created_at"),
    "date to timestamp in a primary key": Drift("ALTER TABLE daily_org_agg ALTER COLUMN date TYPE timestamp", "column_type", "daily_org_agg.date"),
    "varchar length added": Drift("ALTER TABLE users ALTER COLUMN email TYPE varchar(255)", "column_type", "users.email"),
    "varchar to text": Drift("ALTER TABLE orgs ALTER COLUMN name TYPE text", "column_type", "orgs.name"),
    "varchar to char": Drift("ALTER TABLE events_enriched ALTER COLUMN provider TYPE char(20)", "column_type", "events_enriched.provider"),
    "varchar to array": Drift(
        "ALTER TABLE events_enriched ALTER COLUMN source TYPE varchar[] USING ARRAY[source]", "column_type", "events_enriched.source"),
    "varchar to a domain": Drift(
        "CREATE DOMAIN idtext AS varchar; ALTER TABLE audit_logs ALTER COLUMN id TYPE idtext", "column_type", "audit_logs.id"),
    "enum column to varchar": Drift("ALTER TABLE orgs ALTER COLUMN plan TYPE varchar", "column_type", "orgs.plan"),
    "enum column to another enum": Drift("ALTER TABLE orgs ALTER COLUMN plan TYPE role USING NULL", "column_type", "orgs.plan"),
    "column collation": Drift(
        'ALTER TABLE orgs ALTER COLUMN name TYPE varchar COLLATE "C"', "column_collation", "orgs.name"),
    "column made nullable": Drift("ALTER TABLE events_enriched ALTER COLUMN kwh DROP NOT NULL", "column_nullability", "events_enriched.kwh"),
    "unique column made nullable": Drift("ALTER TABLE users ALTER COLUMN email DROP NOT NULL", "column_nullability", "users.email"),
    "column made not null": Drift("ALTER TABLE orgs ALTER COLUMN created_at SET NOT NULL", "column_nullability", "orgs.created_at"),
    "column dropped": Drift("ALTER TABLE events_enriched DROP COLUMN node_type", "column_missing", "events_enriched.node_type"),
    "column renamed": Drift("ALTER TABLE audit_logs RENAME COLUMN details TO detail", "column_missing", "audit_logs.details"),
    "extra column": Drift("ALTER TABLE audit_logs ADD COLUMN ip varchar", "column_unexpected", "audit_logs.ip"),
    # Column position changes no read or write (every client names its
    # columns; docs/verify_schema.md): not drift.
    "column order (dropped and re-added)": Drift(
        "ALTER TABLE events_enriched DROP COLUMN region; ALTER TABLE events_enriched ADD COLUMN region varchar"),
    "column order of a NOT NULL column": Drift(
        "ALTER TABLE orgs DROP COLUMN name; ALTER TABLE orgs ADD COLUMN name varchar NOT NULL DEFAULT ''; "
        "ALTER TABLE orgs ALTER COLUMN name DROP DEFAULT"),
    # -- primary keys ---------------------------------------------------------
    "primary key dropped": Drift("ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_pkey", "primary_key_missing", "audit_logs"),
    "referenced primary key dropped": Drift(
        "ALTER TABLE orgs DROP CONSTRAINT orgs_pkey CASCADE", "primary_key_missing", "orgs", also=("users",)),
    "primary key on other columns": Drift(
        recreate_constraint("daily_org_agg", "daily_org_agg_pkey", "PRIMARY KEY (org_id)"), "primary_key_changed", "daily_org_agg_pkey"),
    "primary key on another column": Drift(
        recreate_constraint("users", "users_pkey", "PRIMARY KEY (email)"), "primary_key_changed", "users_pkey"),
    "composite primary key reordered": Drift(
        recreate_constraint("daily_model_agg", "daily_model_agg_pkey", "PRIMARY KEY (org_id, date, provider, model)"),
        "primary_key_changed", "daily_model_agg_pkey"),
    "composite primary key lost a column": Drift(
        recreate_constraint("daily_user_agg", "daily_user_agg_pkey", "PRIMARY KEY (date, org_id)"),
        "primary_key_changed", "daily_user_agg_pkey"),
    "primary key renamed": Drift(
        "ALTER TABLE audit_logs RENAME CONSTRAINT audit_logs_pkey TO audit_logs_pk", "primary_key_changed", "audit_logs_pkey"),
    # The enrichment worker's ON CONFLICT (date, org_id) fails on a deferrable key.
    "primary key deferrable": Drift(
        recreate_constraint("daily_org_agg", "daily_org_agg_pkey", "PRIMARY KEY (date, org_id) DEFERRABLE"),
        "primary_key_changed", "daily_org_agg_pkey"),
    # -- foreign keys -----------------------------------------------------------
    "foreign key dropped": Drift("ALTER TABLE users DROP CONSTRAINT users_org_id_fkey", "foreign_key_missing", "users_org_id_fkey"),
    "foreign key renamed": Drift(
        "ALTER TABLE users RENAME CONSTRAINT users_org_id_fkey TO users_org_fk", "foreign_key_missing", "users_org_id_fkey"),
    "foreign key retargeted": Drift(recreate_fk("users (id)"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key ON DELETE CASCADE": Drift(recreate_fk("orgs (id) ON DELETE CASCADE"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key ON DELETE RESTRICT": Drift(recreate_fk("orgs (id) ON DELETE RESTRICT"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key ON DELETE SET NULL": Drift(recreate_fk("orgs (id) ON DELETE SET NULL"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key DEFERRABLE INITIALLY DEFERRED": Drift(
        "ALTER TABLE users ALTER CONSTRAINT users_org_id_fkey DEFERRABLE INITIALLY DEFERRED", "foreign_key_changed", "users_org_id_fkey"),
    "foreign key DEFERRABLE INITIALLY IMMEDIATE": Drift(
        "ALTER TABLE users ALTER CONSTRAINT users_org_id_fkey DEFERRABLE", "foreign_key_changed", "users_org_id_fkey"),
    "extra foreign key": Drift(
        "ALTER TABLE events_enriched ADD CONSTRAINT events_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id)",
        "foreign_key_unexpected", "events_org_fk"),
    "foreign key ON UPDATE CASCADE": Drift(
        recreate_fk("orgs (id) ON UPDATE CASCADE"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key NOT VALID": Drift(
        recreate_fk("orgs (id) NOT VALID"), "foreign_key_changed", "users_org_id_fkey"),
    # -- unique and check constraints ---------------------------------------------
    "unique constraint dropped": Drift("ALTER TABLE users DROP CONSTRAINT users_email_key", "unique_missing", "users_email_key"),
    "unique constraint renamed": Drift(
        "ALTER TABLE users RENAME CONSTRAINT users_email_key TO users_email_uniq", "unique_missing", "users_email_key"),
    "unique constraint widened": Drift(
        recreate_constraint("users", "users_email_key", "UNIQUE (email, org_id)"), "unique_changed", "users_email_key"),
    "unique constraint on another column": Drift(
        recreate_constraint("users", "users_email_key", "UNIQUE (name)"), "unique_changed", "users_email_key"),
    "unique constraint replaced by a unique index": Drift(
        "ALTER TABLE users DROP CONSTRAINT users_email_key; CREATE UNIQUE INDEX users_email_key ON users (email)",
        "unique_missing", "users_email_key"),
    "extra unique constraint": Drift("ALTER TABLE orgs ADD CONSTRAINT orgs_name_key UNIQUE (name)", "unique_unexpected", "orgs_name_key"),
    "unique constraint deferrable": Drift(
        recreate_constraint("users", "users_email_key", "UNIQUE (email) DEFERRABLE"), "unique_changed", "users_email_key"),
    "unique constraint NULLS NOT DISTINCT": Drift(
        recreate_constraint("users", "users_email_key", "UNIQUE NULLS NOT DISTINCT (email)"), "unique_changed", "users_email_key"),
    "extra check constraint": Drift(
        "ALTER TABLE events_enriched ADD CONSTRAINT kwh_positive CHECK (kwh >= 0)", "check_unexpected", "kwh_positive"),
    "extra check constraint NOT VALID": Drift(
        "ALTER TABLE daily_org_agg ADD CONSTRAINT calls_positive CHECK (call_count > 0) NOT VALID", "check_unexpected", "calls_positive"),
    "not null as a check constraint": Drift(
        "ALTER TABLE orgs ADD CONSTRAINT orgs_plan_not_null CHECK (plan IS NOT NULL)", "check_unexpected", "orgs_plan_not_null"),
    "append-only trigger dropped": Drift(
        "DROP TRIGGER pgtrigger_append_only_86623 ON audit_logs", "trigger_missing", "pgtrigger_append_only_86623"),
    "append-only trigger disabled": Drift(
        "ALTER TABLE audit_logs DISABLE TRIGGER pgtrigger_append_only_86623", "trigger_changed", "pgtrigger_append_only_86623"),
    "extra trigger": Drift(
        "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; "
        "CREATE TRIGGER orgs_noop BEFORE INSERT ON orgs FOR EACH ROW EXECUTE FUNCTION noop()", "trigger_unexpected", "orgs_noop"),
    "extra exclusion constraint": Drift(
        "ALTER TABLE orgs ADD CONSTRAINT orgs_name_excl EXCLUDE USING btree (name WITH =)", "exclusion_unexpected", "orgs_name_excl"),
    # -- enum types -------------------------------------------------------------
    "enum label renamed": Drift("ALTER TYPE plantype RENAME VALUE 'enterprise' TO 'business'", "enum_labels", "plantype"),
    "enum labels upper-cased": Drift(
        "ALTER TYPE plantype RENAME VALUE 'free' TO 'FREE'; ALTER TYPE plantype RENAME VALUE 'pro' TO 'PRO'; "
        "ALTER TYPE plantype RENAME VALUE 'enterprise' TO 'ENTERPRISE'", "enum_labels", "plantype"),
    "extra enum label": Drift("ALTER TYPE role ADD VALUE 'guest'", "enum_labels", "role"),
    "extra enum label first": Drift("ALTER TYPE plantype ADD VALUE 'starter' BEFORE 'free'", "enum_labels", "plantype"),
    "enum label order": Drift(REORDERED_ROLE, "enum_labels", "role"),
    "enum type missing": Drift("ALTER TABLE orgs ALTER COLUMN plan TYPE varchar; DROP TYPE plantype", "enum_missing", "plantype"),
    "enum type dropped with its column": Drift("DROP TYPE role CASCADE", "enum_missing", "role"),
    "enum type renamed": Drift("ALTER TYPE plantype RENAME TO plan_type", "enum_missing", "plantype"),
    "enum type in another schema": Drift(
        "CREATE SCHEMA billing; ALTER TYPE plantype SET SCHEMA billing", "enum_missing", "plantype"),
    # -- tables -------------------------------------------------------------------
    "table dropped": Drift("DROP TABLE daily_provider_agg", "table_missing", "daily_provider_agg"),
    "referenced table dropped": Drift("DROP TABLE orgs CASCADE", "table_missing", "orgs", also=("users",)),
    "table renamed": Drift("ALTER TABLE daily_user_agg RENAME TO daily_user_totals", "table_missing", "daily_user_agg"),
    "table moved to another schema": Drift(
        "CREATE SCHEMA archive; ALTER TABLE audit_logs SET SCHEMA archive", "table_missing", "audit_logs"),
    "table replaced by a view": Drift(
        "DROP TABLE audit_logs; CREATE VIEW audit_logs AS SELECT 'audit_1'::varchar AS id", "table_missing", "audit_logs"),
    # -- objects no migration describes: warnings, exit 0 ---------------------------
    "legacy alembic_version table": Drift(
        (dbtools.FIXTURES / "alembic_version.sql").read_text(), "table_unowned", "alembic_version", "warning"),
    "unrelated table": Drift("CREATE TABLE reports (id varchar PRIMARY KEY)", "table_unowned", "reports", "warning"),
    "unrelated enum type": Drift("CREATE TYPE alertlevel AS ENUM ('LOW', 'HIGH')", "enum_unowned", "alertlevel", "warning"),
    # -- other applications' tables are checked the same way: staff sign-in rests on them ------------
    "other app's column changed": Drift(
        "ALTER TABLE auth_user ALTER COLUMN username TYPE text", "column_type", "auth_user.username"),
    "other app's table dropped": Drift("DROP TABLE django_session", "table_missing", "django_session"),
    # -- harmless: must verify clean ----------------------------------------------------
    "vacuum and analyze": Drift("VACUUM ANALYZE"),
    "reindex": Drift("REINDEX TABLE events_enriched"),
    "rows written": Drift(
        "INSERT INTO orgs VALUES ('org_1', 'Acme', 'pro', now()); "
        "INSERT INTO users (id, org_id, email, role) VALUES ('user_1', 'org_1', 'a@acme.test', 'owner')"),
    "index recreated exactly": Drift(recreate_index("ix_events_org_ts", "INDEX ix_events_org_ts ON events_enriched (org_id, ts)")),
    "constraints recreated exactly": Drift(
        recreate_fk("orgs (id)") + "; " + recreate_constraint("users", "users_email_key", "UNIQUE (email)") + "; "
        + recreate_constraint("daily_org_agg", "daily_org_agg_pkey", "PRIMARY KEY (date, org_id)")),
    "types re-declared as they are": Drift(
        "ALTER TABLE orgs ALTER COLUMN name TYPE varchar; ALTER TABLE events_enriched ALTER COLUMN metadata TYPE json"),
    "table renamed and back": Drift("ALTER TABLE orgs RENAME TO orgs_tmp; ALTER TABLE orgs_tmp RENAME TO orgs"),
    "comments, grants and storage settings": Drift(
        "COMMENT ON TABLE orgs IS 'customers'; COMMENT ON COLUMN orgs.name IS 'display name'; GRANT SELECT ON orgs TO PUBLIC; "
        "ALTER TABLE events_enriched ALTER COLUMN kwh SET STATISTICS 500; ALTER TABLE events_enriched SET (fillfactor = 90)",
        partitioned_sql="COMMENT ON TABLE orgs IS 'customers'; COMMENT ON COLUMN orgs.name IS 'display name'; "
                        "GRANT SELECT ON orgs TO PUBLIC; ALTER TABLE events_enriched ALTER COLUMN kwh SET STATISTICS 500; "
                        "ALTER TABLE events_enriched_legacy SET (fillfactor = 90)"),
    "same names in another schema": Drift(
        "CREATE SCHEMA archive; CREATE TABLE archive.orgs (x int); CREATE TYPE archive.plantype AS ENUM ('x'); "
        "CREATE INDEX ix_events_org_ts ON archive.orgs (x)"),
}


@pytest.fixture(scope="module")
def verdicts(request, migrated_template):
    """verify_schema's future result for every selected drift: clones are made a few at a time."""
    wanted = {
        item.callspec.params["name"] for item in request.session.items
        if item.module is request.module and "name" in getattr(getattr(item, "callspec", None), "params", {})
    }
    verifier = Runner(migrated_template)
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = {name: pool.submit(check, migrated_template, verifier, DRIFTS[name].on_partitioned()) for name in sorted(wanted)}
            yield futures
    finally:
        verifier.close()


@pytest.mark.parametrize("name", DRIFTS)
def test_drift_is_reported(verdicts, name):
    drift = DRIFTS[name].on_partitioned()
    result = verdicts[name].result()
    assert result.returncode in (0, 1), result.stderr
    findings = json.loads(result.stdout)
    errors = [f for f in findings if f["severity"] == "error"]

    if drift.kind is None:
        assert result.returncode == 0 and findings == [], findings
        return
    named = [f for f in findings if (f["kind"], f["object"]) == (drift.kind, drift.object)]
    assert named, f"no {drift.kind} finding for {drift.object} in {findings}"
    assert {f["severity"] for f in named} == {drift.severity}
    for finding in named:
        assert finding["hint"] and finding["expected"] != finding["actual"], finding
    if drift.severity == "error":
        assert result.returncode == 1
        touched = {named[0]["table"], *drift.also}
        assert {f["table"] for f in errors} == touched, f"errors outside {touched}: {errors}"
    else:
        assert result.returncode == 0 and errors == [], errors
