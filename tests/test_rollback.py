"""The way back, as an operator takes it: real processes on a real PostgreSQL holding data in every table.

``rollback`` shows its plan with what each step destroys (counted), refuses
data loss unless told, shares migrate's lock and audit trail; plain
``migrate`` going backwards gets the same guard; ``verify_schema --at``
checks the result; ``migrate`` refuses to apply on top of drift; every run
that changes the schema leaves audit rows, failed runs too.
"""

import json
import threading
import time

import psycopg
import pytest

from tests import dbtools
from tests.dbtools import manage

OWNED = dbtools.owned_tables
#: Every table with rows for these tests (Django's, axes', otp's and ours).
DJANGO_TABLES = ("auth_user", "auth_group", "auth_permission", "django_content_type", "django_session",
                 "axes_accessattempt", "otp_totp_totpdevice", "otp_static_staticdevice", "otp_static_statictoken")
FIRST, SECOND = "ecomind_core.0001_initial", "ecomind_core.0002_user_password_hash"
#: The newest migration, and the one before it.
LAST, BEFORE_LAST = "0006_monthly_partitions", "0005_audit_log_append_only_per_statement"
HASHES = 12  # users with a password_hash (seed_demo makes 12 users)


@pytest.fixture(scope="module")
def data_template(migrated_template):
    """A migrated database holding data in every table, to clone from."""
    name = dbtools.clone_database(migrated_template, "rollbackdata")
    assert manage("seed_demo", "--events", "300", database=name).returncode == 0
    dbtools.execute(name, "UPDATE users SET password_hash = 'pbkdf2$' || id")
    dbtools.execute(name, """
        INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
        VALUES ('!', false, 'alice', '', '', '', true, true, now());
        INSERT INTO auth_group (name) VALUES ('support');
        INSERT INTO django_session (session_key, session_data, expire_date) VALUES ('k', 'd', now() + interval '1 day');
        INSERT INTO axes_accessattempt (user_agent, ip_address, username, http_accept, path_info, attempt_time, get_data,
            post_data, failures_since_start) VALUES ('t', '203.0.113.5', 'alice', '*/*', '/admin/login/', now(), '', '', 1);
        INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, step, t0, digits, tolerance, drift, last_t,
            throttling_failure_timestamp, throttling_failure_count)
        SELECT id, 'phone', true, '00112233445566778899aabbccddeeff00112233', 30, 0, 6, 1, 0, -1, NULL, 0 FROM auth_user;
        INSERT INTO otp_static_staticdevice (user_id, name, confirmed, throttling_failure_timestamp, throttling_failure_count)
        SELECT id, 'backup', true, NULL, 0 FROM auth_user;
        INSERT INTO otp_static_statictoken (device_id, token) SELECT id, 'abcd1234' FROM otp_static_staticdevice;
    """)
    yield name
    dbtools.drop_database(name)


@pytest.fixture
def data_db(data_template):
    name = dbtools.clone_database(data_template)
    yield name
    dbtools.drop_database(name)


def data(dbname):
    """Every row of every table, except what migrate and rollback themselves write (their audit rows, their records)."""
    sums = dbtools.table_checksums(dbname, [t for t in OWNED() if t != "audit_logs"] + list(DJANGO_TABLES))
    sums["audit_logs"] = dbtools.execute(
        dbname, "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM audit_logs t WHERE action NOT LIKE 'schema.%%'")
    return sums


def applied(dbname, app="ecomind_core"):
    return [name for (name,) in dbtools.execute(dbname, "SELECT name FROM django_migrations WHERE app = %s ORDER BY id", [app])]


def schema_rows(dbname, action=None):
    rows = dbtools.execute(dbname, "SELECT action, details::text FROM audit_logs WHERE action LIKE 'schema.%%' ORDER BY ts, id")
    return [(a, json.loads(d)) for a, d in rows if action in (None, a)]


def assert_one_line(result, code, *mentions):
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for mention in mentions:
        assert mention in result.stdout + result.stderr, result.stdout + result.stderr


# -- the original's testing commands: downgrade -1, then upgrade head ---------------------------
def test_forward_rollback_forward_keeps_every_row(data_db):
    before = data(data_db)
    assert dbtools.execute(data_db, "SELECT count(*) FROM audit_logs WHERE action NOT LIKE 'schema.%%'")[0][0] > 0
    assert_one_line(manage("rollback", "--no-input", database=data_db), 0, "Rolled back 1 migrations")
    assert applied(data_db)[-1] == BEFORE_LAST
    assert data(data_db) == before
    assert_one_line(manage("rollback", "--to", SECOND, "--no-input", database=data_db), 0)
    assert applied(data_db)[-1] == "0002_user_password_hash"
    assert data(data_db) == before
    assert_one_line(manage("migrate", "--no-input", database=data_db), 0)
    assert applied(data_db)[-1] == LAST
    assert data(data_db) == before
    assert manage("verify_schema", database=data_db).returncode == 0


def test_losing_password_hashes_is_refused_with_the_counts_and_changes_nothing(data_db):
    before, catalog = data(data_db), dbtools.catalog_snapshot(data_db)
    dry = manage("rollback", "--to", FIRST, "--dry-run", database=data_db)
    assert_one_line(dry, 1, f"drops column users.password_hash ({HASHES:,} non-null values)",
                    'ALTER TABLE "users" DROP COLUMN "password_hash"', "--allow-data-loss")
    for plan_line in ("1. unapply ecomind_core.0006", "5. unapply ecomind_core.0002_user_password_hash (pre_deploy)"):
        assert plan_line in dry.stdout
    refused = manage("rollback", "--to", FIRST, "--no-input", database=data_db)
    assert_one_line(refused, 1, "rollback refused", "ecomind_core.0002_user_password_hash",
                    f"({HASHES:,} non-null values)")
    plain = manage("migrate", "ecomind_core", "0001", "--no-input", database=data_db)
    assert_one_line(plain, 1, "drops column users.password_hash", "manage.py rollback --to ecomind_core.0001 --dry-run")
    assert (data(data_db), dbtools.catalog_snapshot(data_db)) == (before, catalog)
    assert applied(data_db)[-1] == LAST and schema_rows(data_db, "schema.rollback") == []


def test_allowed_data_loss_goes_and_going_forward_says_nothing_comes_back(data_db):
    result = manage("rollback", "--to", FIRST, "--allow-data-loss", "--no-input", database=data_db)
    assert_one_line(result, 0, "Rolled back 5 migrations")
    assert "password_hash" not in dbtools.table_columns(data_db, ["users"])["users"]
    assert_one_line(manage("verify_schema", "--at", FIRST, database=data_db), 0)
    assert manage("migrate", "--no-input", database=data_db).returncode == 0
    assert dbtools.execute(data_db, "SELECT count(password_hash) FROM users")[0][0] == 0


def test_verify_schema_at_the_target_is_clean_after_a_rollback_and_not_before(data_db):
    assert_one_line(manage("verify_schema", "--at", SECOND, database=data_db), 1, "migration_beyond_target",
                    "ecomind_core.0003_audit_log_admin_indexes")
    assert manage("rollback", "--to", SECOND, "--no-input", database=data_db).returncode == 0
    assert_one_line(manage("verify_schema", "--at", SECOND, database=data_db), 0, "the schema matches")
    assert_one_line(manage("verify_schema", database=data_db), 1, "migration_unapplied")
    assert_one_line(manage("verify_schema", "--at", "ecomind_core.9999", database=data_db), 2, "has no migration '9999'")


@pytest.mark.parametrize(("args", "mention"), [
    (("--steps", "0"), "--steps must be 1 or more"),
    (("--steps", "99"), "only 6 migrations of ecomind_core are applied"),
    (("--to", "nowhere"), "name a migration as APP.MIGRATION"),
    (("--to", "ecomind_core.9999"), "has no migration '9999'"),
    (("--to", "ecomind_core.0005", "--steps", "1"), "not allowed with argument"),
    (("--stepz", "1"), "unrecognized arguments"),
])
def test_bad_arguments_are_one_line_exit_2(migrated_db, args, mention):
    result = manage("rollback", *args, database=migrated_db)
    assert_one_line(result, 2, mention)
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unanswered_question_changes_nothing(data_db):
    before = data(data_db)
    result = manage("rollback", database=data_db)
    assert_one_line(result, 2, "Type 'yes' to continue", "not confirmed")
    assert data(data_db) == before and applied(data_db)[-1] == LAST


def test_nothing_to_roll_back_is_exit_0(data_db):
    assert manage("rollback", "--to", FIRST, "--allow-data-loss", "--no-input", database=data_db).returncode == 0
    assert_one_line(manage("rollback", "--to", FIRST, "--no-input", database=data_db), 0, "Nothing to roll back")


# -- migrate checks before it changes -----------------------------------------------------------
def test_a_hand_made_index_makes_migrate_refuse_before_applying(data_db):
    assert manage("rollback", "--to", SECOND, "--no-input", database=data_db).returncode == 0
    # Made by hand, named by no migration. (One that 0003 itself would build, of its
    # definition, is what a half-done try of 0003 leaves: that one is 0003's to keep.)
    dbtools.execute(data_db, "CREATE INDEX ix_audit_logs_by_hand ON audit_logs (user_id)")
    before, catalog, records = data(data_db), dbtools.catalog_snapshot(data_db), applied(data_db)
    result = manage("migrate", "--no-input", database=data_db)
    assert_one_line(result, 1, "index_unexpected: ix_audit_logs_by_hand", "Nothing was applied", "--allow-drift")
    assert (data(data_db), dbtools.catalog_snapshot(data_db), applied(data_db)) == (before, catalog, records)
    allowed = manage("migrate", "--no-input", "--allow-drift", database=data_db)
    assert_one_line(allowed, 0)
    [(_, drift)] = schema_rows(data_db, "schema.drift_allowed")
    assert drift["findings"][0]["object"] == "ix_audit_logs_by_hand" and drift["command"] == "migrate --allow-drift"


def test_a_hand_made_index_under_the_next_migrations_name_makes_migrate_refuse_before_applying(data_db):
    assert manage("rollback", "--to", SECOND, "--no-input", database=data_db).returncode == 0
    # 0003 builds ix_audit_logs_user_id on (user_id): this one has its name and another definition.
    dbtools.execute(data_db, "CREATE INDEX ix_audit_logs_user_id ON audit_logs (org_id)")
    before, catalog, records = data(data_db), dbtools.catalog_snapshot(data_db), applied(data_db)
    result = manage("migrate", "--no-input", database=data_db)
    assert_one_line(result, 1, "ix_audit_logs_user_id", "Nothing was applied", "--allow-drift")
    assert (data(data_db), dbtools.catalog_snapshot(data_db), applied(data_db)) == (before, catalog, records)
    forced = manage("migrate", "--no-input", "--allow-drift", database=data_db)
    assert_one_line(forced, 1, "already exists with another definition", "(org_id)", "(\"user_id\")")  # both named
    assert applied(data_db)[-1] == "0002_user_password_hash" and data(data_db) == before


def test_migrate_with_nothing_to_do_does_not_fail_on_drift(data_db):
    dbtools.execute(data_db, "DROP INDEX ix_audit_logs_user_id")
    assert_one_line(manage("migrate", "--no-input", database=data_db), 0, "No migrations to apply")


# -- audit rows ------------------------------------------------------------------------------
def test_each_migration_applied_or_unapplied_is_audited_with_who_and_stage(data_db):
    env = {"ECOMIND_JOB_ID": "release-42-migrate"}
    assert manage("rollback", "--steps", "3", "--no-input", database=data_db, env=env).returncode == 0
    assert manage("migrate", "--pre-deploy", "--no-input", database=data_db, env=env).returncode == 0
    rows = schema_rows(data_db)
    back = [d for a, d in rows if a == "schema.rollback"]
    forward = [d for a, d in rows if a == "schema.migrate" and d["run"] != back[0]["run"]][-2:]
    assert [d["migration"] for d in back] == [f"ecomind_core.{LAST}", f"ecomind_core.{BEFORE_LAST}",
                                              "ecomind_core.0004_audit_log_append_only"]
    assert [d["migration"] for d in forward] == ["ecomind_core.0004_audit_log_append_only", f"ecomind_core.{BEFORE_LAST}"]
    assert [d["stage"] for d in back] == ["post_deploy", "pre_deploy", "pre_deploy"]
    for row in back + forward:
        assert row["outcome"] in ("applied", "unapplied") and row["stage"] in ("pre_deploy", "post_deploy")
        assert isinstance(row["duration_ms"], int) and row["actor"]["job_id"] == "ECOMIND_JOB_ID=release-42-migrate"
        assert row["actor"]["os_user"] and row["actor"]["host"]
    assert forward[0]["stage"] == "pre_deploy"
    assert back[0]["command"] == "rollback --steps 3" and forward[0]["command"] == "migrate --pre-deploy"


def test_a_failed_migration_is_audited_after_its_rollback(data_db):
    dbtools.execute(data_db, "UPDATE users SET password_hash = NULL")
    assert manage("rollback", "--to", FIRST, "--no-input", database=data_db).returncode == 0
    with dbtools.connect(data_db) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        result = manage("migrate", "--no-input", "--lock-timeout", "200ms", "--lock-retries", "0", database=data_db)
        blocker.execute("ROLLBACK")
    assert_one_line(result, 3, "ecomind_core.0002_user_password_hash failed and was rolled back")
    [failed] = [d for a, d in schema_rows(data_db, "schema.migrate") if d["outcome"] == "failed"]
    assert failed["migration"] == SECOND and failed["atomic"] is True and "lock timeout" in failed["error"]
    assert applied(data_db)[-1] == "0001_initial"


def backend_building_index(dbname):
    rows = dbtools.execute(dbname, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY%%' "
                                   "AND datname = current_database()")
    return rows[0][0] if rows else None


def test_a_lost_connection_mid_build_says_what_stays_and_a_rerun_mends_it(data_db):
    assert manage("rollback", "--to", SECOND, "--no-input", database=data_db).returncode == 0
    # A snapshot older than the build (as pg_dump holds): CREATE INDEX CONCURRENTLY waits for it to end.
    reader = psycopg.connect(dbtools.url(data_db))
    reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    reader.execute("SELECT count(*) FROM orgs")
    results = {}
    run = threading.Thread(target=lambda: results.update(run=manage(
        "migrate", "--no-input", "--lock-timeout", "0", database=data_db)))
    run.start()
    deadline = time.monotonic() + 60
    while (pid := backend_building_index(data_db)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid is None:
        run.join(120)
    assert pid, f"migrate never started building an index: {results}"
    dbtools.execute(data_db, "SELECT pg_terminate_backend(%s)", [pid])
    run.join(120)
    reader.close()
    result = results["run"]
    assert_one_line(result, 1, "ecomind_core.0003_audit_log_admin_indexes failed; it is not atomic",
                    "is INVALID", "re-running migrate mends it")
    assert "was rolled back" not in result.stderr
    [failed] = [d for a, d in schema_rows(data_db, "schema.migrate") if d["outcome"] == "failed"]
    assert failed["left_behind"] and "INVALID" in failed["left_behind"][0]
    assert_one_line(manage("migrate", "--no-input", "--allow-drift", database=data_db), 0)
    assert_one_line(manage("verify_schema", database=data_db), 0)


# -- the order of the way back -------------------------------------------------------------------
def test_post_deploy_migrations_are_unapplied_first_where_dependencies_allow():
    from django.db.migrations import Migration, RemoveField
    from django.db.migrations.graph import MigrationGraph

    from ecomind_core.migration_safety.backward import rollback_order

    class Pre(Migration):
        operations = []

    class Post(Migration):
        operations = [RemoveField("widget", "note")]

    graph = MigrationGraph()
    base, pre, post, later = Pre("0001", "a"), Pre("0001", "b"), Post("0002", "b"), Pre("0002", "a")
    for migration in (base, pre, post, later):
        graph.add_node((migration.app_label, migration.name), migration)
    graph.add_dependency(later, ("a", "0002"), ("a", "0001"))
    graph.add_dependency(post, ("b", "0002"), ("b", "0001"))
    plan = [(later, True), (base, True), (post, True), (pre, True)]  # Django's order
    assert [f"{m.app_label}.{m.name}" for m, _ in rollback_order(plan, graph)] == ["b.0002", "a.0002", "a.0001", "b.0001"]


def test_rollback_shares_migrates_lock_timeout_and_names_the_blocker(data_db):
    dbtools.execute(data_db, "UPDATE users SET password_hash = NULL")
    with dbtools.connect(data_db) as blocker:
        blocker.execute("SET application_name = 'nightly-export'")
        blocker.execute("BEGIN")
        blocker.execute("SELECT count(*) FROM users")
        result = manage("rollback", "--to", FIRST, "--no-input", "--lock-timeout", "200ms", "--lock-retries", "1",
                        database=data_db, env={"MIGRATION_LOCK_RETRY_WAIT": "100ms"})
        blocker.execute("ROLLBACK")
    assert_one_line(result, 3, "lock_timeout (200ms) hit", "nightly-export", "retrying")
    assert applied(data_db)[-1] == "0002_user_password_hash"  # the steps before it are done; re-running is safe
    assert_one_line(manage("rollback", "--to", FIRST, "--no-input", database=data_db), 0)


def test_irreversible_steps_are_refused_and_re_created_columns_come_back_empty(tmp_path, migrated_db):
    from tests.checkout import copy_checkout, manage_in

    checkout = copy_checkout(tmp_path / "ecomind")
    folder = checkout / "ecomind_core" / "migrations"
    previous = sorted(p.stem for p in folder.glob("0*.py"))[-1]
    (folder / "0901_drop_plan.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        f"    dependencies = [('ecomind_core', '{previous}')]\n"
        "    operations = [migrations.RemoveField(model_name='organisation', name='plan')]\n")
    (folder / "0902_one_way.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('ecomind_core', '0901_drop_plan')]\n"
        "    operations = [migrations.RunSQL('SELECT 1')]\n")
    assert manage_in(checkout, "migrate", "--no-input", database=migrated_db).returncode == 0
    refused = manage_in(checkout, "rollback", "--steps", "2", "--dry-run", database=migrated_db)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "ecomind_core.0902_one_way cannot be unapplied" in refused.stderr and "has no reverse" in refused.stderr
    (folder / "0902_one_way.py").write_text((folder / "0902_one_way.py").read_text().replace(
        "RunSQL('SELECT 1')", "RunSQL('SELECT 1', reverse_sql=migrations.RunSQL.noop)"))
    plan = manage_in(checkout, "rollback", "--steps", "2", "--dry-run", database=migrated_db)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "re-adds column orgs.plan empty: the values it held before it was dropped do not come back" in plan.stdout
    assert "runs code whose effect on data no state shows" in plan.stdout


@pytest.mark.django_db
def test_the_audit_log_filters_schema_changes(admin_client):
    from django.urls import reverse

    from ecomind_core.audit.schema_changes import ACTIONS
    from ecomind_core.models import AuditLog

    AuditLog.objects.create(org_id="system", action="auth.login", resource="admin", details={})
    AuditLog.objects.create(org_id="system", action="schema.rollback", resource="database", details={"migration": "x"})
    page = admin_client.get(reverse("admin:ecomind_core_auditlog_changelist"), {"schema_changes": "yes"})
    listed = page.context["cl"].result_list
    assert "schema.rollback" in {row.action for row in listed} and {row.action for row in listed} <= set(ACTIONS)
    assert "Migrations, rollbacks and baselines" in page.content.decode()
