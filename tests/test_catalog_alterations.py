"""Hand alterations that change what a read or a write does, tried as a hostile DBA would.

Each alteration runs on two clones: of a freshly migrated database, where
``verify_schema`` must exit 1 with a finding of the named kind (or exit 0 with
a warning, for the warning kinds), and of a legacy revision-001 database full
of data, where ``baseline --no-input`` must refuse (exit 1) with the kind
named and nothing written: the same tables, catalog and row checksums, no
``django_migrations``. Harmless changes must pass both (baseline adopts).
Beyond test_verify_schema_drifts.py's cases: rules, row-level security,
triggers and their functions, settings that switch triggers off, defaults,
generated and identity columns, persistence, INCLUDE, partitioning and
inheritance, disabled foreign-key triggers; and, since the catalog is compared
column by column (docs/verify_schema.md), one case at least per catalog column
group compared raw (pg_class, pg_index, pg_constraint, pg_trigger, pg_proc),
publications, database and role settings, and every table of Django's,
django-axes' and django-otp's migrations (on the legacy side, a legacy
database on which their migrations were applied before: see
``legacy_with_apps_template``). The harmless battery takes its cases from the
allow-list (allowed.py).
"""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests import dbtools
from tests.drift_harness import Drift, Runner, check
from tests.legacy_shapes import build_legacy_with_apps

WORKERS = 4
TRIGGER = "pgtrigger_append_only_86623"
FUNCTION = f"public.{TRIGGER}"
ON_THIS_DATABASE = "DO $$ BEGIN EXECUTE format('{}', current_database()); END $$"


def pk(table, definition):
    return f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, ADD CONSTRAINT {table}_pkey {definition}"


def fk(definition):
    return f"ALTER TABLE users DROP CONSTRAINT users_org_id_fkey, ADD CONSTRAINT users_org_id_fkey {definition}"


def recreate_trigger(definition):
    return f"DROP TRIGGER {TRIGGER} ON audit_logs; CREATE TRIGGER {TRIGGER} {definition} EXECUTE FUNCTION {TRIGGER}()"


def migrated_only(*args, **kwargs):
    return Drift(*args, on_legacy=False, **kwargs)


@dataclass(frozen=True)
class AppDrift(Drift):
    #: The table (of Django's, axes' or otp's migrations) it alters.
    table: str = ""


def app_table(table, *args, **kwargs):
    """An alteration of ``table``, which Django's, axes' or otp's migrations build."""
    return AppDrift(*args, legacy_with_apps=True, table=table, **kwargs)


def index_flag(index, flag):
    """What only a superuser can do: an index PostgreSQL keeps but no longer maintains or uses."""
    return f"UPDATE pg_index SET {flag} = false WHERE indexrelid = '{index}'::regclass"


PUBLISH = "CREATE PUBLICATION cdc "
#: ``statement`` (a format() string, %I the partition) run on every partition of audit_logs.
ON_EACH_AUDIT_PARTITION = ("DO $$ DECLARE p regclass; BEGIN FOR p IN SELECT inhrelid::regclass FROM pg_inherits "
                           "WHERE inhparent = 'audit_logs'::regclass LOOP EXECUTE format('{}', p::text); END LOOP; END $$")


ALTERATIONS = {
    # -- rules: a rule rewrites what a client asked for ---------------------------------------------
    "rule: events vanish": Drift(
        "CREATE RULE drop_events AS ON INSERT TO events_enriched DO INSTEAD NOTHING", "rule_unexpected", "drop_events"),
    "rule: audit deletes do nothing": Drift(
        "CREATE RULE keep_audit AS ON DELETE TO audit_logs DO INSTEAD NOTHING", "rule_unexpected", "keep_audit"),
    "rule: org updates also notify": Drift(
        "CREATE RULE orgs_notify AS ON UPDATE TO orgs DO ALSO NOTIFY orgs_changed", "rule_unexpected", "orgs_notify"),
    "rule: roll-up inserts vanish": Drift(
        "CREATE RULE no_totals AS ON INSERT TO daily_org_agg DO INSTEAD NOTHING", "rule_unexpected", "no_totals"),
    "rule: user deletes do nothing": Drift(
        "CREATE RULE keep_users AS ON DELETE TO users DO INSTEAD NOTHING", "rule_unexpected", "keep_users"),
    "rule: user totals redirected": Drift(
        "CREATE TABLE shadow_totals (LIKE daily_user_agg); "
        "CREATE RULE redirect AS ON INSERT TO daily_user_agg DO INSTEAD INSERT INTO shadow_totals VALUES (NEW.*)",
        "rule_unexpected", "redirect"),
    # -- row-level security --------------------------------------------------------------------------
    "row-level security enabled": Drift(
        "ALTER TABLE events_enriched ENABLE ROW LEVEL SECURITY", "table_row_security", "events_enriched"),
    "row-level security forced": Drift(
        "ALTER TABLE events_enriched ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
        "table_row_security", "events_enriched"),
    "row-level security forced but not enabled": Drift(
        "ALTER TABLE users FORCE ROW LEVEL SECURITY", "table_row_security", "users"),
    "policy with row-level security": Drift(
        "ALTER TABLE orgs ENABLE ROW LEVEL SECURITY; CREATE POLICY own_org ON orgs USING (id = current_user)",
        "policy_unexpected", "own_org"),
    "policy alone": Drift(
        "CREATE POLICY hide_system ON audit_logs FOR SELECT USING (org_id <> 'system')", "policy_unexpected", "hide_system"),
    "restrictive policy": Drift(
        "ALTER TABLE daily_org_agg ENABLE ROW LEVEL SECURITY; "
        "CREATE POLICY none_today ON daily_org_agg AS RESTRICTIVE USING (date < current_date)",
        "policy_unexpected", "none_today"),
    # -- the append-only trigger and its functions ------------------------------------------------------
    "trigger fires on replicas only": migrated_only(
        f"ALTER TABLE audit_logs ENABLE REPLICA TRIGGER {TRIGGER}", "trigger_changed", TRIGGER),
    "trigger fires always": migrated_only(
        f"ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER {TRIGGER}", "trigger_changed", TRIGGER),
    "trigger given WHEN (false)": migrated_only(
        recreate_trigger("BEFORE UPDATE OR DELETE ON audit_logs FOR EACH STATEMENT WHEN (false)"), "trigger_changed", TRIGGER),
    "trigger lost DELETE": migrated_only(
        recreate_trigger("BEFORE UPDATE ON audit_logs FOR EACH STATEMENT"), "trigger_changed", TRIGGER),
    "trigger made per row": migrated_only(
        recreate_trigger("BEFORE UPDATE OR DELETE ON audit_logs FOR EACH ROW"), "trigger_changed", TRIGGER,
        # Each partition has its own copy of the statement trigger; a row trigger on the parent is cloned to them.
        partitioned_sql=f"{ON_EACH_AUDIT_PARTITION.format(f'DROP TRIGGER {TRIGGER} ON %I')}; "
                        + recreate_trigger("BEFORE UPDATE OR DELETE ON audit_logs FOR EACH ROW")),
    "trigger function does nothing": migrated_only(
        f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        "function_changed", FUNCTION),
    "ignore function always says ignore": migrated_only(
        "CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name name) RETURNS boolean "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN true; END $$",
        "function_changed", "public._pgtrigger_should_ignore"),
    "extra statement trigger": Drift(
        "CREATE FUNCTION stop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; "
        "CREATE TRIGGER events_stop BEFORE INSERT ON events_enriched FOR EACH STATEMENT EXECUTE FUNCTION stop()",
        "trigger_unexpected", "events_stop"),
    # -- settings that switch every trigger and foreign key off --------------------------------------------
    "replication role replica for the database": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET session_replication_role = replica"),
        "setting_replication_role", None),
    "replication role replica for this role here": Drift(
        ON_THIS_DATABASE.format("ALTER ROLE postgres IN DATABASE %I SET session_replication_role = replica"),
        "setting_replication_role", None),
    "replication role local for the database": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET session_replication_role = local"),
        "setting_replication_role", None),
    # -- foreign keys -------------------------------------------------------------------------------------
    "foreign key to a same-named table in another schema": Drift(
        "CREATE SCHEMA legacy; CREATE TABLE legacy.orgs (id varchar PRIMARY KEY); "
        "INSERT INTO legacy.orgs SELECT id FROM public.orgs; "
        + fk("FOREIGN KEY (org_id) REFERENCES legacy.orgs (id)"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key MATCH FULL": Drift(
        fk("FOREIGN KEY (org_id) REFERENCES orgs (id) MATCH FULL"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key ON DELETE SET DEFAULT": Drift(
        fk("FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE SET DEFAULT"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key ON UPDATE RESTRICT": Drift(
        fk("FOREIGN KEY (org_id) REFERENCES orgs (id) ON UPDATE RESTRICT"), "foreign_key_changed", "users_org_id_fkey"),
    "foreign key triggers disabled on the referencing table": Drift(
        "ALTER TABLE users DISABLE TRIGGER ALL", "foreign_key_changed", "users_org_id_fkey"),
    "foreign key triggers disabled on the referenced table": Drift(
        "ALTER TABLE orgs DISABLE TRIGGER ALL", "foreign_key_changed", "users_org_id_fkey", also=("users",)),
    # -- column defaults: what a client that leaves a column out gets ------------------------------------
    "default on events.source": Drift(
        "ALTER TABLE events_enriched ALTER COLUMN source SET DEFAULT 'gateway'", "column_default", "events_enriched.source"),
    "default on events.tokens_in": Drift(
        "ALTER TABLE events_enriched ALTER COLUMN tokens_in SET DEFAULT 0", "column_default", "events_enriched.tokens_in"),
    "default on events.ts": Drift(
        "ALTER TABLE events_enriched ALTER COLUMN ts SET DEFAULT now()", "column_default", "events_enriched.ts"),
    "default on audit_logs.ts": Drift(
        "ALTER TABLE audit_logs ALTER COLUMN ts SET DEFAULT now()", "column_default", "audit_logs.ts"),
    "default on orgs.plan": Drift(
        "ALTER TABLE orgs ALTER COLUMN plan SET DEFAULT 'free'", "column_default", "orgs.plan"),
    "default on users.email": Drift(
        "ALTER TABLE users ALTER COLUMN email SET DEFAULT ''", "column_default", "users.email"),
    "default on daily_model_agg.model": Drift(
        "ALTER TABLE daily_model_agg ALTER COLUMN model SET DEFAULT 'unknown'", "column_default", "daily_model_agg.model"),
    "default on daily_user_agg.call_count": Drift(
        "ALTER TABLE daily_user_agg ALTER COLUMN call_count SET DEFAULT 1", "column_default", "daily_user_agg.call_count"),
    # -- generated and identity columns: the worker's INSERT names them and fails ----------------------------
    "generated events.co2_kg": Drift(
        "ALTER TABLE events_enriched DROP COLUMN co2_kg; "
        "ALTER TABLE events_enriched ADD COLUMN co2_kg double precision GENERATED ALWAYS AS (kwh * 0.4) STORED",
        "column_generated", "events_enriched.co2_kg"),
    "generated daily_org_agg.co2_kg": Drift(
        "ALTER TABLE daily_org_agg DROP COLUMN co2_kg; "
        "ALTER TABLE daily_org_agg ADD COLUMN co2_kg double precision GENERATED ALWAYS AS (kwh * 0.4) STORED",
        "column_generated", "daily_org_agg.co2_kg"),
    "identity daily_org_agg.call_count": Drift(
        "UPDATE daily_org_agg SET call_count = 0 WHERE call_count IS NULL; "
        "ALTER TABLE daily_org_agg ALTER COLUMN call_count SET NOT NULL, "
        "ALTER COLUMN call_count ADD GENERATED ALWAYS AS IDENTITY",
        "column_identity", "daily_org_agg.call_count"),
    "identity events.tokens_out": Drift(
        "UPDATE events_enriched SET tokens_out = 0 WHERE tokens_out IS NULL; "
        "ALTER TABLE events_enriched ALTER COLUMN tokens_out SET NOT NULL, "
        "ALTER COLUMN tokens_out ADD GENERATED BY DEFAULT AS IDENTITY",
        "column_identity", "events_enriched.tokens_out"),
    # -- persistence: an unlogged table is emptied by a crash -------------------------------------------------
    # (A partitioned table has no storage of its own: its partitions hold the rows, and are what a crash empties.)
    "events unlogged": Drift("ALTER TABLE events_enriched SET UNLOGGED", "table_persistence", "events_enriched",
                             partitioned_sql="ALTER TABLE events_enriched_legacy SET UNLOGGED",
                             partitioned_object="events_enriched_legacy"),
    "audit_logs unlogged": Drift("ALTER TABLE audit_logs SET UNLOGGED", "table_persistence", "audit_logs",
                                 partitioned_sql="ALTER TABLE audit_logs_legacy SET UNLOGGED",
                                 partitioned_object="audit_logs_legacy"),
    "daily_model_agg unlogged": Drift("ALTER TABLE daily_model_agg SET UNLOGGED", "table_persistence", "daily_model_agg"),
    # -- INCLUDE columns on keys ---------------------------------------------------------------------------
    "primary key with INCLUDE": Drift(pk("audit_logs", "PRIMARY KEY (id) INCLUDE (ts)"), "primary_key_changed", "audit_logs_pkey",
                                      partitioned_sql=pk("audit_logs", "PRIMARY KEY (id, ts) INCLUDE (org_id)")),
    "unique constraint with INCLUDE": Drift(
        "ALTER TABLE users DROP CONSTRAINT users_email_key, ADD CONSTRAINT users_email_key UNIQUE (email) INCLUDE (name)",
        "unique_changed", "users_email_key"),
    "composite primary key with INCLUDE": Drift(
        pk("daily_provider_agg", "PRIMARY KEY (date, org_id, provider) INCLUDE (kwh)"),
        "primary_key_changed", "daily_provider_agg_pkey"),
    "primary key DEFERRABLE INITIALLY DEFERRED": Drift(
        pk("audit_logs", "PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED"), "primary_key_changed", "audit_logs_pkey",
        partitioned_sql=pk("audit_logs", "PRIMARY KEY (id, ts) DEFERRABLE INITIALLY DEFERRED")),
    # -- partitioning and inheritance: other tables' rows show through ----------------------------------------
    "an inheriting child": Drift(
        "CREATE TABLE events_archive () INHERITS (events_enriched)", "table_inheritance", "events_enriched",
        # A partitioned table's children are its partitions: one attached by hand is the same harm.
        partitioned_sql="CREATE TABLE events_archive (LIKE events_enriched); ALTER TABLE events_enriched "
                        "ATTACH PARTITION events_archive FOR VALUES FROM ('2090-01-01') TO ('2091-01-01')",
        partitioned_object="events_archive", partitioned_kind="partition_unexpected"),
    "a partition unlogged": migrated_only(
        f"{ON_EACH_AUDIT_PARTITION.format('ALTER TABLE %I SET UNLOGGED')}", "table_persistence"),
    "a row trigger on a partition": migrated_only(
        "CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; "
        "CREATE TRIGGER drop_row BEFORE INSERT ON events_enriched_legacy FOR EACH ROW EXECUTE FUNCTION drop_row()",
        "trigger_unexpected", "drop_row"),
    "a CHECK on a partition": migrated_only(
        "ALTER TABLE events_enriched_legacy ADD CONSTRAINT small CHECK (kwh < 1)", "check_unexpected", "small"),
    "a unique index on a partition": migrated_only(
        "CREATE UNIQUE INDEX one_event_per_org ON events_enriched_legacy (org_id)", "index_unexpected", "one_event_per_org"),
    "an audit partition without the append-only trigger": migrated_only(
        f"{ON_EACH_AUDIT_PARTITION.format(f'DROP TRIGGER {TRIGGER} ON %I')}", "partition_trigger_missing"),
    "a default partition": migrated_only(
        "CREATE TABLE events_enriched_default PARTITION OF events_enriched DEFAULT", "partition_default",
        "events_enriched_default"),
    "inherits from a new parent": Drift(
        "CREATE TABLE org_scoped (org_id varchar NOT NULL); ALTER TABLE daily_org_agg INHERIT org_scoped",
        "table_inheritance", "daily_org_agg"),
    "daily_model_agg with a child": Drift(
        "CREATE TABLE daily_model_agg_2024 () INHERITS (daily_model_agg)", "table_inheritance", "daily_model_agg"),
    "turned into a partitioned table": Drift(
        "DROP TABLE daily_user_agg; CREATE TABLE daily_user_agg (date date NOT NULL, org_id varchar NOT NULL, "
        "user_id varchar NOT NULL, call_count integer, kwh double precision, water_l double precision, "
        "co2_kg double precision, CONSTRAINT daily_user_agg_pkey PRIMARY KEY (date, org_id, user_id)) PARTITION BY RANGE (date); "
        "CREATE TABLE daily_user_agg_all PARTITION OF daily_user_agg DEFAULT",
        "table_partitioning", "daily_user_agg"),
    # -- types, nullability, indexes, constraints, labels not in the older battery -----------------------------
    "users.created_at to timestamptz": Drift(
        "ALTER TABLE users ALTER COLUMN created_at TYPE timestamptz", "column_type", "users.created_at"),
    "daily_model_agg.model length": Drift(
        "ALTER TABLE daily_model_agg ALTER COLUMN model TYPE varchar(100)", "column_type", "daily_model_agg.model"),
    "audit_logs.action to text": Drift("ALTER TABLE audit_logs ALTER COLUMN action TYPE text", "column_type", "audit_logs.action"),
    "referenced key to text": Drift("ALTER TABLE orgs ALTER COLUMN id TYPE text", "column_type", "orgs.id"),
    "events.tokens_in to numeric": Drift(
        "ALTER TABLE events_enriched ALTER COLUMN tokens_in TYPE numeric", "column_type", "events_enriched.tokens_in"),
    "events.region length": Drift(
        "ALTER TABLE events_enriched ALTER COLUMN region TYPE varchar(20)", "column_type", "events_enriched.region"),
    "daily_provider_agg.call_count NOT NULL": Drift(
        "UPDATE daily_provider_agg SET call_count = 0 WHERE call_count IS NULL; "
        "ALTER TABLE daily_provider_agg ALTER COLUMN call_count SET NOT NULL",
        "column_nullability", "daily_provider_agg.call_count"),
    "events.user_id nullable": Drift(
        "ALTER TABLE events_enriched ALTER COLUMN user_id DROP NOT NULL", "column_nullability", "events_enriched.user_id"),
    "audit_logs.org_id nullable": Drift(
        "ALTER TABLE audit_logs ALTER COLUMN org_id DROP NOT NULL", "column_nullability", "audit_logs.org_id"),
    "index made BRIN": Drift(
        "DROP INDEX ix_daily_org_date; CREATE INDEX ix_daily_org_date ON daily_org_agg USING brin (date, org_id)",
        "index_changed", "ix_daily_org_date"),
    "index key descending": Drift(
        "DROP INDEX ix_events_user_ts; CREATE INDEX ix_events_user_ts ON events_enriched (user_id, ts DESC)",
        "index_changed", "ix_events_user_ts"),
    "duplicate index": Drift("CREATE INDEX ix_dup_org_ts ON events_enriched (org_id, ts)", "index_unexpected", "ix_dup_org_ts"),
    "expression index": Drift(
        "CREATE INDEX ix_users_lower_email ON users (lower(email))", "index_unexpected", "ix_users_lower_email"),
    "extra unique constraint on a daily table": Drift(
        "ALTER TABLE daily_org_agg ADD CONSTRAINT daily_org_uniq UNIQUE (org_id, date)", "unique_unexpected", "daily_org_uniq"),
    "CHECK NO INHERIT": Drift(
        "ALTER TABLE daily_user_agg ADD CONSTRAINT calls_counted CHECK (call_count >= 0) NO INHERIT",
        "check_unexpected", "calls_counted"),
    "enum label added": Drift("ALTER TYPE plantype ADD VALUE 'trial'", "enum_labels", "plantype"),

    # -- pg_class, compared raw: what PostgreSQL records for every table --------------------------------------
    "replica identity nothing": Drift(
        "ALTER TABLE orgs REPLICA IDENTITY NOTHING", "table_changed", "orgs"),
    "typed table": Drift(
        "CREATE TYPE orgs_shape AS (id varchar, name varchar, plan plantype, created_at timestamp); "
        "ALTER TABLE orgs OF orgs_shape", "table_changed", "orgs"),
    "attached as a partition of another table": Drift(
        "CREATE TABLE all_models (LIKE daily_model_agg) PARTITION BY LIST (provider); "
        "ALTER TABLE all_models ATTACH PARTITION daily_model_agg DEFAULT", "table_changed", "daily_model_agg"),
    "another table access method": Drift(
        "CREATE ACCESS METHOD heap_copy TYPE TABLE HANDLER heap_tableam_handler; "
        "ALTER TABLE users SET ACCESS METHOD heap_copy", "table_access_method", "users"),
    "made a partitioned table (relkind)": Drift(
        "DROP TABLE daily_provider_agg; CREATE TABLE daily_provider_agg (date date NOT NULL, org_id varchar NOT NULL, "
        "provider varchar NOT NULL, call_count integer, kwh double precision, water_l double precision, "
        "co2_kg double precision, CONSTRAINT daily_provider_agg_pkey PRIMARY KEY (date, org_id, provider)) "
        "PARTITION BY RANGE (date); CREATE TABLE daily_provider_agg_all PARTITION OF daily_provider_agg DEFAULT",
        "table_kind", "daily_provider_agg"),
    # -- pg_index (and the index's pg_class row), compared raw: PostgreSQL keeps but no longer maintains it ----
    "index no longer maintained (indisready)": Drift(
        index_flag("ix_events_org_ts", "indisready"), "index_changed", "ix_events_org_ts"),
    "index no longer live (indislive)": Drift(
        index_flag("ix_daily_org_date", "indislive"), "index_changed", "ix_daily_org_date"),
    "unique constraint's index no longer maintained": Drift(
        index_flag("users_email_key", "indisready"), "unique_changed", "users_email_key"),
    "primary key's index left invalid": Drift(
        index_flag("orgs_pkey", "indisvalid"), "primary_key_changed", "orgs_pkey"),
    "primary key's index no longer maintained": Drift(
        index_flag("events_enriched_pkey", "indisready"), "primary_key_changed", "events_enriched_pkey"),
    # -- pg_constraint: what a foreign key does on delete, to which columns ------------------------------------
    "foreign key ON DELETE SET DEFAULT (org_id)": Drift(
        fk("FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE SET DEFAULT (org_id)"),
        "foreign_key_changed", "users_org_id_fkey"),
    # -- pg_trigger, compared raw ---------------------------------------------------------------------------------
    "trigger on UPDATE OF one column only": migrated_only(
        recreate_trigger("BEFORE UPDATE OF org_id OR DELETE ON audit_logs FOR EACH STATEMENT"), "trigger_changed", TRIGGER),
    "trigger given arguments": migrated_only(
        f"DROP TRIGGER {TRIGGER} ON audit_logs; CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON audit_logs "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}('unused')", "trigger_changed", TRIGGER),
    # -- pg_proc, compared raw: how the trigger's functions run -----------------------------------------------------
    "trigger function SECURITY DEFINER": migrated_only(
        f"ALTER FUNCTION {TRIGGER}() SECURITY DEFINER", "function_changed", FUNCTION),
    "ignore function given its own search_path": migrated_only(
        "ALTER FUNCTION public._pgtrigger_should_ignore(name) SET search_path = pg_catalog",
        "function_changed", "public._pgtrigger_should_ignore"),
    "ignore function made STRICT": migrated_only(
        "ALTER FUNCTION public._pgtrigger_should_ignore(name) STRICT", "function_changed", "public._pgtrigger_should_ignore"),
    # -- pg_rewrite: a disabled rule is still a rule (ENABLE RULE brings it back) ------------------------------------
    "rule created disabled": Drift(
        "CREATE RULE no_events AS ON INSERT TO events_enriched DO INSTEAD NOTHING; "
        "ALTER TABLE events_enriched DISABLE RULE no_events", "rule_unexpected", "no_events"),
    # -- publications that make PostgreSQL refuse UPDATE and DELETE (and the worker's upserts) -----------------------
    "published with replica identity nothing": Drift(
        PUBLISH + "FOR TABLE daily_org_agg; ALTER TABLE daily_org_agg REPLICA IDENTITY NOTHING",
        "publication_blocks_writes", "cdc (daily_org_agg)"),
    "published with a row filter on a value column": Drift(
        PUBLISH + "FOR TABLE daily_user_agg WHERE (kwh > 0)", "publication_blocks_writes", "cdc (daily_user_agg)"),
    "published with a column list without the key": Drift(
        PUBLISH + "FOR TABLE daily_model_agg (date, provider, kwh)", "publication_blocks_writes", "cdc (daily_model_agg)"),
    "all tables published, events without a replica identity": Drift(
        PUBLISH + "FOR ALL TABLES; ALTER TABLE events_enriched REPLICA IDENTITY NOTHING",
        "publication_blocks_writes", "cdc (events_enriched)"),
    "schema published, audit rows without a replica identity": Drift(
        PUBLISH + "FOR TABLES IN SCHEMA public; ALTER TABLE audit_logs REPLICA IDENTITY NOTHING",
        "publication_blocks_writes", "cdc (audit_logs)"),
    "published for change data capture": Drift(
        PUBLISH + "FOR TABLE events_enriched, daily_org_agg", "publication_unexpected", "cdc (events_enriched)", "warning"),
    "published inserts only, with a row filter": Drift(
        PUBLISH + "FOR TABLE daily_org_agg WHERE (kwh > 0) WITH (publish = 'insert')",
        "publication_unexpected", "cdc (daily_org_agg)", "warning"),
    # -- database and role settings that change every transaction ------------------------------------------------------
    "every transaction read-only (database)": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET default_transaction_read_only = on"), "setting_harmful"),
    "every transaction read-only (role in this database)": Drift(
        ON_THIS_DATABASE.format("ALTER ROLE postgres IN DATABASE %I SET default_transaction_read_only = on"),
        "setting_harmful"),
    "time zone other than UTC (database)": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET TimeZone = ''Europe/Paris''"), "setting_harmful"),
    "time zone other than UTC (role in this database)": Drift(
        ON_THIS_DATABASE.format("ALTER ROLE postgres IN DATABASE %I SET TimeZone = ''America/New_York''"),
        "setting_harmful"),
    "serializable by default": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET default_transaction_isolation = serializable"), "setting_harmful"),
    "floats sent rounded": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET extra_float_digits = -3"), "setting_harmful"),
    "dates sent in German style": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET DateStyle = ''German, DMY''"), "setting_harmful"),
    "statement timeout for the database": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET statement_timeout = ''5s''"), "setting_risky", None, "warning"),
    "a setting nobody has reviewed": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET IntervalStyle = ''sql_standard''"), "setting_unreviewed", None,
        "warning"),
    # -- Django's, django-axes' and django-otp's tables: staff sign-in rests on them --------------------------------------
    "auth_user: usernames no longer unique": app_table(
        "auth_user", "ALTER TABLE auth_user DROP CONSTRAINT auth_user_username_key", "unique_missing", "unique on (username)"),
    "auth_group: names no longer unique": app_table(
        "auth_group", "ALTER TABLE auth_group DROP CONSTRAINT auth_group_name_key", "unique_missing", "unique on (name)"),
    "auth_permission: codenames no longer unique": app_table(
        "auth_permission", "ALTER TABLE auth_permission DROP CONSTRAINT auth_permission_content_type_id_codename_01ab375a_uniq",
        "unique_missing", "auth_permission_content_type_id_codename_01ab375a_uniq"),
    "auth_group_permissions: foreign key dropped": app_table(
        "auth_group_permissions", "ALTER TABLE auth_group_permissions DROP CONSTRAINT auth_group_permissions_group_id_b120cbf9_fk_auth_group_id",
        "foreign_key_missing", "auth_group_permissions_group_id_b120cbf9_fk_auth_group_id"),
    "auth_user_groups: a user in a group twice": app_table(
        "auth_user_groups", "ALTER TABLE auth_user_groups DROP CONSTRAINT auth_user_groups_user_id_group_id_94350c0c_uniq",
        "unique_missing", "auth_user_groups_user_id_group_id_94350c0c_uniq"),
    "auth_user_user_permissions: foreign key checked at once": app_table(
        "auth_user_user_permissions", "ALTER TABLE auth_user_user_permissions ALTER CONSTRAINT "
        "auth_user_user_permissions_user_id_a95ead1b_fk_auth_user_id NOT DEFERRABLE",
        "foreign_key_changed", "auth_user_user_permissions_user_id_a95ead1b_fk_auth_user_id"),
    "django_admin_log: any action flag": app_table(
        "django_admin_log", "ALTER TABLE django_admin_log DROP CONSTRAINT django_admin_log_action_flag_check",
        "check_missing", "django_admin_log_action_flag_check"),
    "django_content_type: models no longer unique": app_table(
        "django_content_type", "ALTER TABLE django_content_type DROP CONSTRAINT django_content_type_app_label_model_76bd3d3b_uniq",
        "unique_missing", "django_content_type_app_label_model_76bd3d3b_uniq"),
    "django_session: expiry index no longer maintained": app_table(
        "django_session", index_flag("django_session_expire_date_a5c62663", "indisready"),
        "index_changed", "django_session_expire_date_a5c62663"),
    "axes_accessattempt: one attempt row per client no longer unique": app_table(
        "axes_accessattempt", "ALTER TABLE axes_accessattempt DROP CONSTRAINT axes_accessattempt_username_ip_address_user_agent_8ea22282_uniq",
        "unique_missing", "axes_accessattempt_username_ip_address_user_agent_8ea22282_uniq"),
    "axes_accessattemptexpiration: foreign key dropped": app_table(
        "axes_accessattemptexpiration", "ALTER TABLE axes_accessattemptexpiration DROP CONSTRAINT "
        "axes_accessattemptex_access_attempt_id_6b73a47a_fk_axes_acce",
        "foreign_key_missing", "axes_accessattemptex_access_attempt_id_6b73a47a_fk_axes_acce"),
    "axes_accessfailurelog: username index dropped": app_table(
        "axes_accessfailurelog", "DROP INDEX axes_accessfailurelog_username_a8b7e8a4", "index_missing", "axes_accessfailurelog_username_a8b7e8a4"),
    "axes_accesslog: attempt time nullable": app_table(
        "axes_accesslog", "ALTER TABLE axes_accesslog ALTER COLUMN attempt_time DROP NOT NULL",
        "column_nullability", "axes_accesslog.attempt_time"),
    "otp_static_staticdevice: throttling check dropped": app_table(
        "otp_static_staticdevice", "ALTER TABLE otp_static_staticdevice DROP CONSTRAINT otp_static_staticdevice_throttling_failure_count_check",
        "check_missing", "otp_static_staticdevice_throttling_failure_count_check"),
    "otp_static_statictoken: token deletes undone by a rule": app_table(
        "otp_static_statictoken", "CREATE RULE keep_tokens AS ON DELETE TO otp_static_statictoken DO INSTEAD NOTHING",
        "rule_unexpected", "keep_tokens"),
    "otp_totp_totpdevice: any number of digits": app_table(
        "otp_totp_totpdevice", "ALTER TABLE otp_totp_totpdevice DROP CONSTRAINT otp_totp_totpdevice_digits_check",
        "check_missing", "otp_totp_totpdevice_digits_check"),
    # -- another application's CHECK, changed but still containing the expected text: compared exactly ---------
    "other app's CHECK widened": app_table(
        "django_admin_log", "ALTER TABLE django_admin_log DROP CONSTRAINT django_admin_log_action_flag_check, "
        "ADD CONSTRAINT django_admin_log_action_flag_check CHECK (action_flag >= 0 AND action_flag < 100)",
        "check_changed", "django_admin_log_action_flag_check"),
}

#: Harmless: what the allow-list (allowed.py) names changes no read or write. Exit 0 after migrate (no finding
#: but tables nobody owns), adopted by baseline.
HARMLESS = {
    "fillfactor and autovacuum settings (reloptions)": Drift(
        "ALTER TABLE events_enriched SET (fillfactor = 80, autovacuum_enabled = false)",
        partitioned_sql="ALTER TABLE events_enriched_legacy SET (fillfactor = 80, autovacuum_enabled = false)"),
    "toast settings (reloptions)": Drift("ALTER TABLE audit_logs SET (toast.autovacuum_enabled = false)"),
    "parallel workers (reloptions)": Drift("ALTER TABLE events_enriched SET (parallel_workers = 4)",
                                           partitioned_sql="ALTER TABLE events_enriched_legacy SET (parallel_workers = 4)"),
    "index fillfactor (the index's reloptions)": Drift(
        "ALTER INDEX ix_events_org_ts SET (fillfactor = 70)",
        partitioned_sql="ALTER INDEX events_enriched_legacy_org_id_ts_idx SET (fillfactor = 70)"),
    "index deduplication off (the index's reloptions)": Drift(
        "ALTER INDEX ix_audit_logs_org_id SET (deduplicate_items = off)",
        partitioned_sql="ALTER INDEX audit_logs_legacy_org_id_idx SET (deduplicate_items = off)"),
    "replica identity full (pg_class.relreplident)": Drift("ALTER TABLE daily_org_agg REPLICA IDENTITY FULL"),
    "replica identity using the primary key (relreplident, indisreplident)": Drift(
        "ALTER TABLE orgs REPLICA IDENTITY USING INDEX orgs_pkey"),
    "clustered on an index (indisclustered, relfilenode)": Drift("CLUSTER events_enriched USING ix_events_enriched_ts"),
    "extended statistics (pg_statistic_ext)": Drift("CREATE STATISTICS events_org_user ON org_id, user_id FROM events_enriched"),
    "column statistics target (attstattarget)": Drift("ALTER TABLE events_enriched ALTER COLUMN org_id SET STATISTICS 1000"),
    "column storage (attstorage)": Drift("ALTER TABLE events_enriched ALTER COLUMN metadata SET STORAGE EXTERNAL"),
    "column compression (attcompression)": Drift("ALTER TABLE audit_logs ALTER COLUMN details SET COMPRESSION pglz"),
    "column n_distinct (attoptions)": Drift("ALTER TABLE events_enriched ALTER COLUMN org_id SET (n_distinct = 5000)"),
    "comments (pg_description)": Drift(
        "COMMENT ON TABLE orgs IS 'customers'; COMMENT ON COLUMN users.email IS 'login'; "
        "COMMENT ON INDEX ix_events_org_ts IS 'per org'; COMMENT ON CONSTRAINT users_email_key ON users IS 'one each'"),
    "grants to other roles (relacl, attacl)": Drift(
        "GRANT SELECT ON orgs, users TO PUBLIC; GRANT SELECT (id, name) ON orgs TO PUBLIC; "
        "REVOKE ALL ON daily_org_agg FROM PUBLIC"),
    "analysed and vacuumed (relpages, reltuples, relallvisible, relfrozenxid)": Drift("VACUUM FREEZE ANALYZE"),
    "rewritten (relfilenode, reltoastrelid)": Drift("VACUUM FULL users"),
    "replication role origin set explicitly": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET session_replication_role = origin")),
    "time zone UTC set explicitly": Drift(ON_THIS_DATABASE.format("ALTER DATABASE %I SET TimeZone = ''Etc/UTC''")),
    "planner and memory settings (allowed settings)": Drift(
        ON_THIS_DATABASE.format("ALTER DATABASE %I SET work_mem = ''64MB''") + "; "
        + ON_THIS_DATABASE.format("ALTER ROLE postgres IN DATABASE %I SET random_page_cost = 1.1") + "; "
        + ON_THIS_DATABASE.format("ALTER DATABASE %I SET application_name = ''ecomind''")),
    "trigger function cost (procost)": migrated_only(f"ALTER FUNCTION {TRIGGER}() COST 500"),
}

ALTERATIONS.update(HARMLESS)


def untouched(dbname):
    """What a refused baseline must leave exactly as it was."""
    tables = dbtools.public_tables(dbname)
    return tables, dbtools.table_checksums(dbname, tables), dbtools.catalog_snapshot(dbname, tables)


@pytest.fixture(scope="module")
def legacy_template():
    name = dbtools.create_database("legacy_template")
    dbtools.run_sql_file(name, dbtools.LEGACY_001)
    dbtools.run_sql_file(name, dbtools.FIXTURES / "legacy_data.sql")
    yield name
    dbtools.drop_database(name)


@pytest.fixture(scope="module")
def legacy_with_apps_template():
    name = dbtools.create_database("legacy_apps_template")
    build_legacy_with_apps(name)
    yield name
    dbtools.drop_database(name)


def _selected(request):
    return sorted({
        item.callspec.params["name"] for item in request.session.items
        if item.module is request.module and "name" in getattr(getattr(item, "callspec", None), "params", {})
    })


@pytest.fixture(scope="module")
def verdicts(request, migrated_template, legacy_template, legacy_with_apps_template):
    """For every selected alteration: verify_schema on a migrated clone, baseline on a legacy one."""
    names = _selected(request)
    verifier, baseliner = Runner(migrated_template), Runner(legacy_template)

    def legacy(alteration):
        return legacy_with_apps_template if alteration.legacy_with_apps else legacy_template

    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            yield {
                name: (
                    pool.submit(check, migrated_template, verifier, ALTERATIONS[name].on_partitioned()),
                    pool.submit(check, legacy(ALTERATIONS[name]), baseliner, ALTERATIONS[name],
                                ("baseline", "--no-input"), untouched)
                    if ALTERATIONS[name].on_legacy else None,
                )
                for name in names
            }
    finally:
        verifier.close()
        baseliner.close()


@pytest.mark.parametrize("name", ALTERATIONS)
def test_alteration_is_found_on_a_migrated_database(verdicts, name):
    alteration = ALTERATIONS[name].on_partitioned()
    result = verdicts[name][0].result()
    assert result.returncode in (0, 1), result.stderr
    findings = json.loads(result.stdout)
    if alteration.kind is None:
        # Harmless: nothing but tables nobody owns (an alteration may add one), and exit 0 whatever they are.
        assert result.returncode == 0, findings
        assert all(f["kind"] == "table_unowned" for f in findings), findings
        return
    named = [f for f in findings if f["kind"] == alteration.kind and (alteration.object is None or f["object"] == alteration.object)]
    assert named, f"no {alteration.kind} finding for {alteration.object} in {findings}"
    assert {f["severity"] for f in named} == {alteration.severity}
    assert all(f["hint"] for f in named)
    assert result.returncode == (1 if alteration.severity == "error" else 0)


@pytest.mark.parametrize("name", [name for name, alteration in ALTERATIONS.items() if alteration.on_legacy])
def test_alteration_makes_baseline_refuse_a_legacy_database_untouched(verdicts, name):
    alteration = ALTERATIONS[name]
    result = verdicts[name][1].result()
    if alteration.kind is None or alteration.severity != "error":
        assert result.returncode == 0, result.stdout + result.stderr
        return
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{alteration.kind}: {alteration.object or ''}" in result.stdout, result.stdout
    assert "baseline refused" in result.stderr and "Traceback" not in result.stderr
    assert result.after == result.before, "a refused baseline must write nothing"  # django_migrations' rows too
    if not alteration.legacy_with_apps:
        assert "django_migrations" not in result.after[0]


def test_the_battery_is_big_enough():
    both = [a for a in ALTERATIONS.values() if a.kind and a.severity == "error" and a.on_legacy]
    assert len(both) >= 100
    assert len([a for a in HARMLESS.values() if a.on_legacy]) >= 15


def test_every_application_table_has_a_case():
    """Each table Django's, axes' and otp's migrations build is altered at least once (docs/verify_schema.md)."""
    from django.apps import apps

    tables = {m._meta.db_table for m in apps.get_models(include_auto_created=True)
              if m._meta.app_label != "ecomind_core" and m._meta.managed}
    altered = {a.table for a in ALTERATIONS.values() if isinstance(a, AppDrift) and a.kind and a.severity == "error"}
    assert tables == altered, sorted(tables ^ altered)


def test_a_table_owned_by_another_role_is_a_warning(migrated_db):
    role = f"owner_{migrated_db[-8:]}"
    dbtools.execute(migrated_db, f"CREATE ROLE {role}; ALTER TABLE audit_logs OWNER TO {role}")
    try:
        result = dbtools.manage("verify_schema", "--format", "json", database=migrated_db)
        findings = json.loads(result.stdout)
        assert result.returncode == 0, findings
        assert [(f["kind"], f["object"], f["severity"], f["actual"]) for f in findings] == [
            ("table_owner", "audit_logs", "warning", role)]
    finally:
        dbtools.execute(migrated_db, f"ALTER TABLE audit_logs OWNER TO postgres; DROP ROLE {role}")
