"""Every future migration is proved safe before it ships, and the everyday path writes safe ones.

As a developer works: in a copy of the checkout, edit a model, run
``makemigrations``, run ``check_migrations``, ``migrate`` (pre-deploy, then the
rest) against a real PostgreSQL holding rows, and ``verify_schema`` in
between. Unsafe migrations are hand-written the way a developer might, and
each must be flagged by name.
"""

import json
import re

import pytest

from tests import dbtools
from tests.checkout import copy_checkout, edit, manage_in
from tests.dbtools import manage

HEADER = "from django.db import migrations, models\nimport django.db.models.deletion\nimport ecomind_core.fields\n"


@pytest.fixture
def checkout(tmp_path):
    return copy_checkout(tmp_path / "ecomind")


def migrations_dir(checkout):
    return checkout / "ecomind_core" / "migrations"


def leaf(checkout):
    return sorted(p.stem for p in migrations_dir(checkout).glob("0*.py"))[-1]


def add_migration(checkout, name, operations, *, atomic=True, extra=""):
    """A hand-written migration after the current leaf; returns its name."""
    previous = leaf(checkout)
    number = int(previous[:4]) + 1
    full = f"{number:04d}_{name}"
    atomic_line = "" if atomic else "    atomic = False\n"
    (migrations_dir(checkout) / f"{full}.py").write_text(
        f"{HEADER}import ecomind_core.migration_safety.operations\nimport syzygy.operations\nimport syzygy.constants\n\n\n"
        f"class Migration(migrations.Migration):\n{atomic_line}{extra}"
        f"    dependencies = [('ecomind_core', '{previous}')]\n    operations = [\n{operations}\n    ]\n"
    )
    return full


def check(checkout):
    result = manage_in(checkout, "check_migrations")
    assert "Traceback" not in result.stderr, result.stderr
    return result


def unsafe_rules(output):
    """Migration name -> the rules flagged for it."""
    found, current = {}, None
    for line in output.splitlines():
        header = re.match(r"ecomind_core\.(\S+) \(.*\): (ok|UNSAFE)", line)
        if header:
            current = header[1]
            found[current] = set()
        elif current and (rule := re.match(r"\s+operation \d+ \(.*\): (\S+) (\[|accepted)", line)):
            if rule[2] == "[":
                found[current].add(rule[1])
    return found


def test_the_projects_own_migrations_pass():
    result = manage("check_migrations")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "safe to ship" in result.stdout


#: Each unsafe kind as a developer might write it, and the rules that must name it.
UNSAFE = {
    "plain_index": ("migrations.AddIndex(model_name='event', index=models.Index(fields=['provider'], name='ix_ev_provider')),",
                    {"CREATE_INDEX", "require-concurrent-index-creation"}),
    "plain_unique": ("migrations.AddConstraint(model_name='organisation', "
                     "constraint=models.UniqueConstraint(fields=['name'], name='orgs_name_uniq')),",
                     {"disallowed-unique-constraint"}),
    "drop_worker_column": ("migrations.RemoveField(model_name='event', name='node_type'),",
                           {"worker-column-removed", "DROP_COLUMN", "ban-drop-column"}),
    "plain_rename": ("migrations.RenameField(model_name='organisation', old_name='name', new_name='title'),",
                     {"stage-undeclared", "RENAME_COLUMN", "renaming-column"}),
    "type_change": ("migrations.AlterField(model_name='event', name='tokens_in', field=models.BigIntegerField(null=True, blank=True)),",
                    {"ALTER_COLUMN", "changing-column-type"}),
    "set_not_null": ("migrations.AlterField(model_name='organisation', name='created_at', "
                     "field=ecomind_core.fields.NaiveUTCDateTimeField()),",
                     {"NOT_NULL", "adding-not-nullable-field"}),
    "validated_check": ("migrations.AddConstraint(model_name='event', "
                        "constraint=models.CheckConstraint(condition=models.Q(kwh__gte=0), name='ev_kwh_positive')),",
                        {"constraint-missing-not-valid"}),
    "validated_fk": ("migrations.AddField(model_name='event', name='team', field=models.ForeignKey(null=True, "
                     "on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='ecomind_core.organisation')),",
                     {"adding-foreign-key-constraint"}),
    "partitioned_unique": ("ecomind_core.migration_safety.operations.AddUniqueConstraintConcurrently(model_name='event', "
                           "constraint=models.UniqueConstraint(fields=['org_id', 'ts'], name='ev_org_ts_uniq')),",
                           {"partitioned-table-lock"}),
    "python_default": ("migrations.AddField(model_name='event', name='cached', field=models.BooleanField(default=False), "
                       "preserve_default=False),", {"NOT_NULL", "ban-drop-default"}),
    "irreversible": ("migrations.RunSQL(\"UPDATE orgs SET name = upper(name)\"),", {"irreversible"}),
}


def test_each_unsafe_kind_is_flagged_by_name(checkout):
    for name, (operation, _) in UNSAFE.items():
        add_migration(checkout, name, f"        {operation}")
    result = check(checkout)
    assert result.returncode == 1, result.stdout + result.stderr
    flagged = {name.split("_", 1)[1]: rules for name, rules in unsafe_rules(result.stdout).items()}
    for name, (_, rules) in UNSAFE.items():
        assert rules <= flagged.get(name, set()), f"{name}: expected {rules}, flagged {flagged.get(name)}\n{result.stdout}"
    assert "unsafe operation finding" in result.stderr and result.stderr.count("\n") == 1


def test_a_safe_operation_in_an_atomic_migration_is_flagged(checkout):
    add_migration(checkout, "concurrent_in_transaction",
                  "        ecomind_core.migration_safety.operations.AddIndexConcurrentlyIfPostgres(model_name='event', "
                  "index=models.Index(fields=['provider'], name='ix_ev_provider')),")
    result = check(checkout)
    assert result.returncode == 1 and "needs-non-atomic" in result.stdout


def test_a_reviewed_exception_accepts_one_operation_with_its_reason(checkout):
    reason = "orgs holds 40 rows: a plain index takes milliseconds (reviewed by A. Ops, 2026-11-25)"
    add_migration(checkout, "small_table_index",
                  "        migrations.AddIndex(model_name='organisation', index=models.Index(fields=['plan'], name='ix_orgs_plan')),",
                  extra=f"    safety_reviewed = {{0: {reason!r}}}\n")
    accepted = check(checkout)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert f"accepted after review: {reason}" in accepted.stdout

    edit(migrations_dir(checkout) / f"{leaf(checkout)}.py", repr(reason), "'  '")
    refused = check(checkout)
    assert refused.returncode == 1 and "review-without-reason" in refused.stdout


def add_rows(dbname):
    dbtools.execute(dbname, """
        INSERT INTO orgs (id, name, plan, created_at) SELECT 'org_' || i, 'Org ' || i, 'pro', now() FROM generate_series(1, 20) i;
        INSERT INTO events_enriched (id, org_id, user_id, provider, model, kwh, water_l, co2_kg, ts, source)
        SELECT 'evt_' || i, 'org_' || (i % 20 + 1), 'user_' || i, 'openai', 'gpt-4o', 0.001, 0.002, 0.0004, now(), 'gateway'
        FROM generate_series(1, 2000) i""")


def test_makemigrations_writes_safe_operations_that_pass_and_apply_in_stages(checkout, migrated_db):
    models_py = checkout / "ecomind_core" / "models.py"
    edit(models_py, '''            models.Index(fields=["user_id"], name="ix_events_enriched_user_id"),
        ]''', '''            models.Index(fields=["user_id"], name="ix_events_enriched_user_id"),
            models.Index(fields=["provider", "ts"], name="ix_events_provider_ts"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(kwh__gte=0), name="events_kwh_not_negative")]''')
    # (The foreign key goes on users: a partitioned table such as events takes none online; check_migrations says so.)
    edit(models_py, '''    name = models.CharField(null=True, blank=True)
    role = EnumField''', '''    name = models.CharField(null=True, blank=True)
    nickname = models.CharField(default="", db_default="")
    team = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    role = EnumField''')
    edit(models_py, '''    source = models.CharField(null=True, blank=True)''', '''    source = models.CharField()''')
    edit(models_py, '''        ordering = ["email"]
        constraints = [''', '''        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="users_org_name_uniq"),''')

    made = manage_in(checkout, "makemigrations", "ecomind_core", "--no-input", "-n", "evolve")
    assert made.returncode == 0, made.stdout + made.stderr
    written = {p.stem: p.read_text() for p in migrations_dir(checkout).glob("*_evolve.py")}
    assert len(written) == 2, "one pre-deploy and one post-deploy migration"
    pre, post = (written[name] for name in sorted(written))
    for safe in ("AddIndexConcurrentlyIfPostgres", "AddCheckConstraintNotValid", "AddForeignKeyNotValid",
                 "AddUniqueConstraintConcurrently"):
        assert f"ecomind_core.migration_safety.operations.{safe}(" in pre
    assert "db_default=''" in pre and "atomic = False" in pre
    assert "SetNotNullThroughCheck(" in post and "atomic = False" in post

    result = check(checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert manage_in(checkout, "makemigrations", "--check", "--dry-run").returncode == 0

    add_rows(migrated_db)
    before = dbtools.table_checksums(migrated_db, ["orgs", "events_enriched"])
    pre_deploy = manage_in(checkout, "migrate", "--pre-deploy", "--no-input", database=migrated_db)
    assert pre_deploy.returncode == 0, pre_deploy.stdout + pre_deploy.stderr
    between = manage_in(checkout, "verify_schema", "--format", "json", database=migrated_db)
    assert between.returncode == 0, between.stdout
    assert {f["kind"] for f in json.loads(between.stdout)} == {"migration_post_deploy_pending"}

    post_deploy = manage_in(checkout, "migrate", "--no-input", database=migrated_db)
    assert post_deploy.returncode == 0, post_deploy.stdout + post_deploy.stderr
    assert manage_in(checkout, "verify_schema", database=migrated_db).returncode == 0

    # Reversible, and no row lost either way.
    back = manage_in(checkout, "migrate", "ecomind_core", leaf_before_evolve(written), "--no-input", database=migrated_db)
    assert back.returncode == 0, back.stdout + back.stderr
    assert dbtools.table_checksums(migrated_db, ["orgs", "events_enriched"]) == before


def leaf_before_evolve(written):
    first = sorted(written)[0]
    return re.search(r"dependencies = \[\s*\('ecomind_core', '([^']+)'\)", written[first])[1]


def test_a_column_added_pre_deploy_and_dropped_post_deploy_verifies_clean_in_between(checkout, migrated_db):
    models_py = checkout / "ecomind_core" / "models.py"
    edit(models_py, '''    name = models.CharField()
    plan = EnumField''', '''    name = models.CharField()
    legacy_code = models.CharField(null=True, blank=True)
    plan = EnumField''')
    assert manage_in(checkout, "makemigrations", "ecomind_core", "--no-input", "-n", "add_code").returncode == 0
    assert manage_in(checkout, "migrate", "--no-input", database=migrated_db).returncode == 0

    edit(models_py, '''    legacy_code = models.CharField(null=True, blank=True)
''', "")
    made = manage_in(checkout, "makemigrations", "ecomind_core", "--no-input", "-n", "drop_code")
    assert made.returncode == 0, made.stdout + made.stderr
    assert check(checkout).returncode == 0

    assert manage_in(checkout, "migrate", "--pre-deploy", "--no-input", database=migrated_db).returncode == 0
    assert "legacy_code" in dbtools.table_columns(migrated_db, ["orgs"])["orgs"]
    between = manage_in(checkout, "verify_schema", database=migrated_db)
    assert between.returncode == 0, between.stdout
    assert "migration_post_deploy_pending" in manage_in(checkout, "verify_schema", "-v", "2", database=migrated_db).stdout

    assert manage_in(checkout, "migrate", "--no-input", database=migrated_db).returncode == 0
    assert "legacy_code" not in dbtools.table_columns(migrated_db, ["orgs"])["orgs"]
    assert manage_in(checkout, "verify_schema", database=migrated_db).returncode == 0


def test_a_rename_is_post_deploy_and_verifies_clean_before_and_after(checkout, migrated_db):
    edit(checkout / "ecomind_core" / "models.py", "    password_hash = models.CharField(", "    secret_hash = models.CharField(")
    add_migration(checkout, "rename_password_hash",
                  "        syzygy.operations.RenameField(model_name='customeruser', old_name='password_hash', "
                  "new_name='secret_hash', stage=syzygy.constants.Stage.POST_DEPLOY),")
    assert check(checkout).returncode == 0
    assert manage_in(checkout, "makemigrations", "--check", "--dry-run").returncode == 0
    pre_deploy = manage_in(checkout, "migrate", "--pre-deploy", "--no-input", database=migrated_db)
    assert pre_deploy.returncode == 0, pre_deploy.stdout + pre_deploy.stderr
    assert "password_hash" in dbtools.table_columns(migrated_db, ["users"])["users"]
    assert manage_in(checkout, "verify_schema", database=migrated_db).returncode == 0
    assert manage_in(checkout, "migrate", "--no-input", database=migrated_db).returncode == 0
    after = manage_in(checkout, "verify_schema", database=migrated_db)
    assert after.returncode == 0, after.stdout  # no false error: the renamed column's position is not compared


def test_a_not_null_column_without_a_database_default_is_refused_with_the_fix(checkout):
    edit(checkout / "ecomind_core" / "models.py", '''    node_type = models.CharField(null=True, blank=True)''', '''    node_type = models.CharField(null=True, blank=True)
    cached = models.BooleanField(default=False)''')
    made = manage_in(checkout, "makemigrations", "ecomind_core", "--no-input")
    assert made.returncode == 2, made.stdout + made.stderr
    assert made.stderr.count("\n") == 1 and "db_default" in made.stderr and "ecomind_core.event.cached" in made.stderr
    assert len(list(migrations_dir(checkout).glob("0*.py"))) == len(list(migrations_dir(dbtools.ROOT).glob("0*.py")))


def test_a_check_that_existing_rows_break_leaves_nothing_enforced(checkout, migrated_db):
    add_rows(migrated_db)
    dbtools.execute(migrated_db, "UPDATE events_enriched SET kwh = -1 WHERE id = 'evt_1'")
    add_migration(checkout, "kwh_not_negative",
                  "        ecomind_core.migration_safety.operations.AddCheckConstraintNotValid(model_name='event', "
                  "constraint=models.CheckConstraint(condition=models.Q(kwh__gte=0), name='ev_kwh_not_negative')),",
                  atomic=False)
    result = manage_in(checkout, "migrate", "--no-input", database=migrated_db)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ev_kwh_not_negative" in result.stderr and result.stderr.count("\n") == 1
    assert dbtools.execute(migrated_db, "SELECT count(*) FROM pg_constraint WHERE conname = 'ev_kwh_not_negative'") == [(0,)]
    dbtools.execute(migrated_db, "UPDATE events_enriched SET kwh = -2 WHERE id = 'evt_2'")  # not refused


def test_removing_an_index_drops_it_concurrently_and_reverses(checkout, migrated_db):
    # (On a partitioned table PostgreSQL has no concurrent drop: tests/test_partitioning.py.)
    edit(checkout / "ecomind_core" / "models.py",
         'indexes = [models.Index(fields=["date", "org_id"], name="ix_daily_org_date")]', "indexes = []")
    made = manage_in(checkout, "makemigrations", "ecomind_core", "--no-input", "-n", "drop_daily_index")
    assert made.returncode == 0, made.stdout + made.stderr
    [written] = migrations_dir(checkout).glob("*_drop_daily_index.py")
    text = written.read_text()
    assert "ecomind_core.migration_safety.operations.RemoveIndexConcurrentlyIfPostgres(" in text and "atomic = False" in text
    assert check(checkout).returncode == 0
    shown = manage_in(checkout, "sqlmigrate", "ecomind_core", written.stem, database=migrated_db)
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "ix_daily_org_date"' in shown.stdout

    index = "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_daily_org_date'"
    assert manage_in(checkout, "migrate", "--no-input", database=migrated_db).returncode == 0
    assert dbtools.execute(migrated_db, index) == [(0,)]
    assert manage_in(checkout, "verify_schema", database=migrated_db).returncode == 0
    again = manage_in(checkout, "migrate", "ecomind_core", leaf_before(written), "--no-input", database=migrated_db)
    assert again.returncode == 0, again.stdout + again.stderr
    assert dbtools.execute(migrated_db, index) == [(1,)]
    assert manage_in(checkout, "migrate", "--no-input").returncode == 0  # the embedded SQLite file: a plain drop


def leaf_before(path):
    return re.search(r"dependencies = \[\s*\('ecomind_core', '([^']+)'\)", path.read_text())[1]
