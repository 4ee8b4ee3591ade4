"""A battery of hand-made drifts: each is caught with exit 1 and a finding naming it."""

import json

import pytest

from tests import dbtools
from tests.dbtools import manage

# name: (SQL applied to a freshly migrated database, expected finding kind, object it names)
DRIFTS = {
    "index dropped": ("DROP INDEX ix_events_org_ts", "index_missing", "ix_events_org_ts"),
    "index columns reordered": (
        "DROP INDEX ix_events_user_ts; CREATE INDEX ix_events_user_ts ON events_enriched (ts, user_id)",
        "index_changed", "ix_events_user_ts"),
    "index made unique": (
        "DROP INDEX ix_audit_logs_org_id; CREATE UNIQUE INDEX ix_audit_logs_org_id ON audit_logs (org_id, id)",
        "index_changed", "ix_audit_logs_org_id"),
    "index method changed": (
        "DROP INDEX ix_events_enriched_ts; CREATE INDEX ix_events_enriched_ts ON events_enriched USING hash (ts)",
        "index_changed", "ix_events_enriched_ts"),
    "index became partial": (
        "DROP INDEX ix_events_enriched_org_id; CREATE INDEX ix_events_enriched_org_id ON events_enriched (org_id) WHERE kwh > 0",
        "index_changed", "ix_events_enriched_org_id"),
    "index descending": (
        "DROP INDEX ix_daily_org_date; CREATE INDEX ix_daily_org_date ON daily_org_agg (date DESC, org_id)",
        "index_changed", "ix_daily_org_date"),
    "extra index": ("CREATE INDEX ix_events_provider ON events_enriched (provider)", "index_unexpected", "ix_events_provider"),
    "column type changed": ("ALTER TABLE events_enriched ALTER COLUMN tokens_out TYPE bigint", "column_type", "events_enriched.tokens_out"),
    "double to real": ("ALTER TABLE daily_org_agg ALTER COLUMN kwh TYPE real", "column_type", "daily_org_agg.kwh"),
    "json to jsonb": ("ALTER TABLE audit_logs ALTER COLUMN details TYPE jsonb", "column_type", "audit_logs.details"),
    "timestamp to timestamptz": ("ALTER TABLE events_enriched ALTER COLUMN ts TYPE timestamptz", "column_type", "events_enriched.ts"),
    "varchar length added": ("ALTER TABLE users ALTER COLUMN email TYPE varchar(255)", "column_type", "users.email"),
    "enum column to text": ("ALTER TABLE orgs ALTER COLUMN plan TYPE varchar", "column_type", "orgs.plan"),
    "column made nullable": ("ALTER TABLE events_enriched ALTER COLUMN kwh DROP NOT NULL", "column_nullability", "events_enriched.kwh"),
    "column made not null": ("ALTER TABLE orgs ALTER COLUMN created_at SET NOT NULL", "column_nullability", "orgs.created_at"),
    "column dropped": ("ALTER TABLE events_enriched DROP COLUMN node_type", "column_missing", "events_enriched.node_type"),
    "extra column": ("ALTER TABLE audit_logs ADD COLUMN ip varchar", "column_unexpected", "audit_logs.ip"),
    "column order changed": (
        "ALTER TABLE orgs DROP COLUMN name; ALTER TABLE orgs ADD COLUMN name varchar NOT NULL DEFAULT ''; "
        "ALTER TABLE orgs ALTER COLUMN name DROP DEFAULT", "column_order", "orgs"),
    "table dropped": ("DROP TABLE daily_provider_agg", "table_missing", "daily_provider_agg"),
    "table renamed": ("ALTER TABLE daily_user_agg RENAME TO daily_user_totals", "table_missing", "daily_user_agg"),
    "primary key columns reordered": (
        "ALTER TABLE daily_model_agg DROP CONSTRAINT daily_model_agg_pkey; "
        "ALTER TABLE daily_model_agg ADD PRIMARY KEY (org_id, date, provider, model)", "primary_key_changed", "daily_model_agg_pkey"),
    "primary key dropped": ("ALTER TABLE orgs DROP CONSTRAINT orgs_pkey CASCADE", "primary_key_missing", "orgs"),
    "unique constraint dropped": ("ALTER TABLE users DROP CONSTRAINT users_email_key", "unique_missing", "users_email_key"),
    "unique constraint on other column": (
        "ALTER TABLE users DROP CONSTRAINT users_email_key; ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (name)",
        "unique_changed", "users_email_key"),
    "foreign key dropped": ("ALTER TABLE users DROP CONSTRAINT users_org_id_fkey", "foreign_key_missing", "users_org_id_fkey"),
    "foreign key retargeted": (
        "ALTER TABLE users DROP CONSTRAINT users_org_id_fkey; "
        "ALTER TABLE users ADD CONSTRAINT users_org_id_fkey FOREIGN KEY (org_id) REFERENCES users (id)",
        "foreign_key_changed", "users_org_id_fkey"),
    "foreign key cascades": (
        "ALTER TABLE users DROP CONSTRAINT users_org_id_fkey; "
        "ALTER TABLE users ADD CONSTRAINT users_org_id_fkey FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE",
        "foreign_key_changed", "users_org_id_fkey"),
    "foreign key deferrable": (
        "ALTER TABLE users ALTER CONSTRAINT users_org_id_fkey DEFERRABLE INITIALLY DEFERRED", "foreign_key_changed", "users_org_id_fkey"),
    "extra foreign key": (
        "ALTER TABLE events_enriched ADD CONSTRAINT events_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID",
        "foreign_key_unexpected", "events_org_fk"),
    "extra check constraint": ("ALTER TABLE events_enriched ADD CONSTRAINT kwh_positive CHECK (kwh >= 0)", "check_unexpected", "kwh_positive"),
    "enum label added": ("ALTER TYPE role ADD VALUE 'guest'", "enum_labels", "role"),
    "enum label renamed": ("ALTER TYPE plantype RENAME VALUE 'enterprise' TO 'business'", "enum_labels", "plantype"),
    "enum label order": ("ALTER TYPE plantype ADD VALUE 'starter' BEFORE 'free'", "enum_labels", "plantype"),
}


def verify_json(dbname):
    result = manage("verify_schema", "--format", "json", database=dbname)
    return result, json.loads(result.stdout) if result.stdout.strip() else []


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_drift_is_caught_and_named(migrated_db, drift):
    statement, kind, obj = DRIFTS[drift]
    dbtools.execute(migrated_db, statement)
    result, findings = verify_json(migrated_db)
    assert result.returncode == 1, result.stdout + result.stderr
    matches = [f for f in findings if f["kind"] == kind and f["object"] == obj]
    assert matches, f"no {kind} finding for {obj} in {findings}"
    assert all(f["severity"] == "error" for f in matches)
    assert all(f["hint"] and f["expected"] != f["actual"] for f in matches)


def test_fresh_database_verifies_clean(migrated_db):
    result, findings = verify_json(migrated_db)
    assert result.returncode == 0 and findings == [], findings
