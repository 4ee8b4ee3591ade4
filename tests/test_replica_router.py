"""The read replica (DATABASE_REPLICA_URL): what the router sends where, on two real PostgreSQL databases.

The "replica" here is a second migrated database on the same server holding
DIFFERENT rows from the primary, so every read shows which database served
it. A real streaming replica would hold the primary's rows, a moment late;
the difference between the two stands for that lag.
"""

import io
import json
import subprocess
import sys

import pytest
from django.contrib.admin.utils import quote
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse

from ecomind_core import factories
from ecomind_core.audit.records import record
from ecomind_core.models import AuditLog, Event, Organisation
from ecomind_core.replicas.replicated import reads_from_replica
from ecomind_core.replicas.router import REPLICA
from ecomind_core.rollups import rebuild_daily_totals
from ecomind_core.signin import two_factor
from tests import dbtools, totp
from tests.test_config import PASSWORD, assert_one_line_refusal

ROUTER = "ecomind_core.replicas.router.AdminReadsToReplica"
EVENTS = reverse("admin:ecomind_core_event_changelist")
AUDIT = reverse("admin:ecomind_core_auditlog_changelist")
STAFF_PASSWORD = "Corr3ct-horse-Staff"
REPLICATED = {"events_enriched", "daily_org_agg", "daily_user_agg", "daily_provider_agg", "daily_model_agg", "audit_logs"}

EVENT_ROW = ("INSERT INTO events_enriched (id, org_id, user_id, provider, model, kwh, water_l, co2_kg, ts, created_at) "
             "VALUES (%s, 'org_replica00001', 'user_replica0001', 'openai', 'gpt-4o', 0.002, 0.01, 0.0008, "
             "now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')")
AUDIT_ROW = ("INSERT INTO audit_logs (id, org_id, action, resource, details, ts) "
             "VALUES (%s, 'org_replica00001', 'export', 'report', '{}', now() AT TIME ZONE 'UTC')")


@pytest.fixture(scope="module")
def replica_database(migrated_template):
    """A migrated second database as the ``replica`` alias, for this module's tests; its name.

    Module-scoped because Django's test case admits only the aliases that
    exist when it starts, before any function-scoped fixture runs; its tables
    are emptied after each test, with the primary's (transactional tests).
    """
    name = dbtools.clone_database(migrated_template)
    dbtools.execute(name, "TRUNCATE audit_logs")  # migrate's own rows, as tests/conftest.py does for the primary
    connections.settings[REPLICA] = {**connections.settings[DEFAULT_DB_ALIAS], "NAME": name}
    yield name
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]
    dbtools.drop_database(name)


@pytest.fixture
def replica(replica_database, settings):
    """The router on, with a replica configured; the replica database's name."""
    settings.DATABASE_ROUTERS = [ROUTER]
    return replica_database


#: Transactional: an open test transaction on the primary would keep every read there.
BOTH_DATABASES = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


def on(dbname, statement, params=None):
    return dbtools.execute(dbname, statement, params)


def primary():
    return connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]


def listed(response):
    assert response.status_code == 200, response.content.decode()[:2000]
    return [row.pk for row in response.context["cl"].result_list]


def signed_in_superuser(client, django_user_model, settings):
    """A superuser signed in with password and authenticator code, as staff sign in in production."""
    settings.ADMIN_REQUIRE_2FA = True
    staff = django_user_model.objects.create_user("alice", password=STAFF_PASSWORD, is_staff=True, is_superuser=True)
    app, _ = two_factor.enrol(staff)
    response = client.post(reverse("admin:login"), {
        "username": "alice", "password": STAFF_PASSWORD, "otp_token": totp.code(app.config_url),
        "next": reverse("admin:index"),
    })
    assert response.status_code == 302 and response.url == reverse("admin:index"), response.content.decode()[:2000]
    return staff


def test_the_replicated_set_is_the_big_read_only_tables_derived_from_the_models():
    from django.apps import apps

    replicated = {model._meta.db_table for model in apps.get_models() if reads_from_replica(model)}
    assert replicated == REPLICATED
    for model in (Organisation, MigrationRecorder.Migration, Session, apps.get_model("auth", "User"),
                  apps.get_model("admin", "LogEntry"), apps.get_model("axes", "AccessAttempt")):
        assert not reads_from_replica(model), model


@BOTH_DATABASES
def test_the_admin_reads_events_and_audit_rows_from_the_replica_and_writes_to_the_primary(client, django_user_model, settings, replica):
    on(replica, EVENT_ROW, ["evt_on_the_replica"])
    on(replica, AUDIT_ROW, ["audit_on_the_replica"])
    factories.EventFactory(id="evt_on_the_primary")
    org = factories.OrganisationFactory(name="Acme", plan="free")
    staff = signed_in_superuser(client, django_user_model, settings)

    assert listed(client.get(EVENTS)) == ["evt_on_the_replica"]
    assert listed(client.get(AUDIT)) == ["audit_on_the_replica"]
    # The page's own filters and search read the replica too.
    assert listed(client.get(EVENTS, {"q": "evt_on_the_replica"})) == ["evt_on_the_replica"]
    assert listed(client.get(EVENTS, {"q": "evt_on_the_primary"})) == []

    change = client.post(reverse("admin:ecomind_core_organisation_change", args=[quote(org.pk)]),
                         {"name": "Acme Ltd", "plan": "pro", "created_at_0": "2026-01-01", "created_at_1": "00:00:00"})
    assert change.status_code == 302, change.content.decode()[:2000]
    assert on(primary(), "SELECT name, plan::text FROM orgs WHERE id = %s", [org.pk]) == [("Acme Ltd", "pro")]
    assert on(replica, "SELECT count(*) FROM orgs") == [(0,)]
    # The change's audit row, the sign-in's, the session and the admin's own log: all on the primary.
    audited = on(primary(), "SELECT action FROM audit_logs WHERE action IN ('admin.change', 'auth.login') ORDER BY action")
    assert audited == [("admin.change",), ("auth.login",)]
    assert on(replica, "SELECT id FROM audit_logs") == [("audit_on_the_replica",)]
    assert on(primary(), "SELECT count(*) FROM django_session") == [(1,)]
    assert on(replica, "SELECT count(*) FROM django_session") == [(0,)]
    assert on(primary(), "SELECT count(*) FROM django_admin_log WHERE user_id = %s", [staff.pk]) == [(1,)]
    # The staff member is still signed in: sessions, accounts and devices are read on the primary.
    assert listed(client.get(AUDIT)) == ["audit_on_the_replica"]


@BOTH_DATABASES
def test_the_code_that_writes_an_audit_row_reads_it_back_in_its_transaction(replica):
    with transaction.atomic():
        row = record(org_id="org_x", action="export", resource="report", details={})
        assert AuditLog.objects.filter(pk=row.pk).exists()
    # After the commit, a read goes to the replica, which (here, as under lag) has not got it yet.
    assert not AuditLog.objects.filter(pk=row.pk).exists()
    assert AuditLog.objects.using(DEFAULT_DB_ALIAS).filter(pk=row.pk).exists()


@BOTH_DATABASES
def test_a_row_read_from_the_replica_is_written_to_the_primary_and_migrations_run_on_the_primary(replica):
    on(replica, EVENT_ROW, ["evt_on_the_replica"])
    event = Event.objects.get(pk="evt_on_the_replica")
    assert event._state.db == REPLICA
    assert router.db_for_write(Event, instance=event) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "ecomind_core") is True
    assert router.allow_migrate(REPLICA, "ecomind_core") is False
    assert router.allow_migrate(REPLICA, "auth") is False


@BOTH_DATABASES
def test_commands_work_on_the_database_named_by_their_database_option(replica):
    """verify_rollups reads through connections[alias]: the router never moves it."""
    factories.EventFactory.create_batch(3)
    rebuild_daily_totals()  # the primary's totals equal its events
    on(replica, EVENT_ROW, ["evt_without_totals"])  # the replica's do not
    assert run_command("verify_rollups", "--database", DEFAULT_DB_ALIAS) == 0
    assert run_command("verify_rollups", "--database", REPLICA) == 1


def run_command(*args):
    try:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as exc:
        return exc.code
    return 0


# The settings, as a process started with them builds them.

SHOW_DATABASES = """
import json, django
django.setup()
from django.conf import settings
from django.db import router
from ecomind_core.models import Event
from ecomind_core.replicas.router import AdminReadsToReplica
plain = AdminReadsToReplica()
print(json.dumps({"databases": {alias: {k: db.get(k) for k in ("NAME", "HOST", "SCHEMA", "OPTIONS", "TEST", "PASSWORD", "CREDENTIAL_FILES")}
                  for alias, db in settings.DATABASES.items()}, "routers": settings.DATABASE_ROUTERS,
                  "event_reads": router.db_for_read(Event), "event_writes": router.db_for_write(Event),
                  "router_alone": [plain.db_for_read(Event), plain.db_for_write(Event), plain.allow_migrate("default", "ecomind_core")]}))
"""


def settings_with(env):
    result = subprocess.run([sys.executable, "-c", SHOW_DATABASES], cwd=dbtools.ROOT, capture_output=True, text=True, check=False,
                            env=dbtools.manage_env({"DJANGO_SETTINGS_MODULE": "ecomind.settings", **env}), timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_settings_add_the_replica_and_the_router_only_when_the_url_is_set(tmp_path):
    primary_url = f"postgres://app:{PASSWORD}@primary.internal:5432/ecomind"
    unset = settings_with({"DATABASE_URL": primary_url, "DATABASE_REPLICA_URL": None})
    assert list(unset["databases"]) == ["default"] and unset["routers"] == []
    assert unset["event_reads"] == unset["event_writes"] == "default"
    # The router itself, were it installed without a replica, has no opinion.
    assert unset["router_alone"] == [None, None, None]

    tls = {"DATABASE_SSLMODE": "verify-full", "DATABASE_SCHEMA": "ecomind"}
    (tmp_path / "replica-url").write_text(f"postgres://app:{PASSWORD}@replica.internal:5432/ecomind\n")
    for source in ({"DATABASE_REPLICA_URL": f"postgres://app:{PASSWORD}@replica.internal:5432/ecomind"},
                   {"DATABASE_REPLICA_URL_FILE": str(tmp_path / "replica-url")}):
        configured = settings_with({"DATABASE_URL": primary_url, **tls, **source})
        default, replica = configured["databases"]["default"], configured["databases"]["replica"]
        assert configured["routers"] == [ROUTER]
        assert (replica["HOST"], replica["NAME"], replica["SCHEMA"]) == ("replica.internal", "ecomind", "ecomind")
        assert replica["OPTIONS"] == default["OPTIONS"] and replica["OPTIONS"]["sslmode"] == "verify-full"
        assert replica["TEST"]["MIRROR"] == "default"
        assert (configured["event_reads"], configured["event_writes"]) == ("replica", "default")


def test_a_password_file_rotates_the_replicas_password_too_but_never_points_it_at_the_primary(tmp_path):
    (tmp_path / "password").write_text("rotated-pw\n")
    configured = settings_with({"DATABASE_URL": "postgres://app@primary.internal:5432/ecomind",
                                "DATABASE_REPLICA_URL": "postgres://app@replica.internal:5432/ecomind",
                                "DATABASE_PASSWORD_FILE": str(tmp_path / "password")})
    replica = configured["databases"]["replica"]
    assert replica["PASSWORD"] == configured["databases"]["default"]["PASSWORD"] == "rotated-pw"
    files = replica["CREDENTIAL_FILES"]
    assert (files["url_file"], files["password_file"], list(files["seen"])) == (None, str(tmp_path / "password"), ["DATABASE_PASSWORD_FILE"])


@pytest.mark.parametrize(("url", "mention"), [
    (f"mysql://root:{PASSWORD}@db:3306/ecomind", "unsupported scheme ('mysql')"),
    (f"postgres://root:{PASSWORD}@db:port/ecomind", "malformed"),
    (f"postgres://root:{PASSWORD}@db:5432/", "names no database"),
    ("sqlite:////tmp/replica.sqlite3", "PostgreSQL standby"),
])
def test_a_bad_replica_url_is_refused_in_one_line_without_its_password(url, mention):
    env = {"DATABASE_URL": "postgres://app@primary.internal:5432/ecomind", "DATABASE_REPLICA_URL": url}
    assert_one_line_refusal(dbtools.manage("check", env=env), "DATABASE_REPLICA_URL", mention)


def test_a_replica_without_a_postgresql_primary_is_refused():
    env = {"DATABASE_URL": None, "DATABASE_REPLICA_URL": f"postgres://app:{PASSWORD}@replica.internal:5432/ecomind"}
    assert_one_line_refusal(dbtools.manage("check", env=env), "DATABASE_REPLICA_URL", "DATABASE_URL")
