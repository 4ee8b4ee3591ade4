"""Every command that removes or rewrites data behaves alike (Django's ``flush``/``migrate`` convention).

It shows what it will do, asks, and takes ``--no-input`` (don't ask) and
``--dry-run`` (only show). An answer other than "yes", or no answer at all,
is exit 2 with one line and nothing changed (every table's checksum).
"""

import pytest
from django.core.management import get_commands, load_command_class

from tests import dbtools
from tests.dbtools import manage

ADD_STAFF = (
    "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) "
    "VALUES ('!', false, 'alice', '', '', '', true, true, now())"
)
ADD_FAILURES = (
    "INSERT INTO axes_accessattempt (user_agent, ip_address, username, http_accept, path_info, attempt_time, "
    "get_data, post_data, failures_since_start) VALUES ('test', '203.0.113.5', 'alice', '*/*', '/admin/login/', now(), '', '', 10)"
)
OLD_AUDIT_ROWS = (
    "INSERT INTO audit_logs (id, org_id, action, resource, ts) "
    "SELECT 'audit_' || i, 'org_1', 'login', 'org', timestamp '2025-06-01' + i * interval '1 day' FROM generate_series(1, 20) i"
)
#: An event the daily tables never counted: one divergent day.
UNCOUNTED_EVENT = (
    "INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, kwh, water_l, co2_kg, ts) "
    "VALUES ('evt_1', 'org_1', 'user_1', 'openai', 'gpt-4o', 1, 1, 0.5, 0.1, 0.2, timestamp '2026-05-01 10:00')"
)


def staff_enrolled(dbname):
    dbtools.execute(dbname, ADD_STAFF)
    assert manage("enrol_totp", "alice", database=dbname).returncode == 0


#: Events older than 400 days, in the legacy partition (everything before the conversion).
OLD_EVENTS = (
    "INSERT INTO events_enriched (id, org_id, user_id, provider, kwh, water_l, co2_kg, ts) "
    "SELECT 'evt_old_' || i, 'org_1', 'user_1', 'openai', 1, 1, 1, now() - interval '2 years' + i * interval '1 day' "
    "FROM generate_series(1, 20) i"
)


#: command line -> how a migrated database is prepared so that it has something to change.
CASES = {
    ("purge_audit_logs", "--before", "2026-01-01"): lambda db: dbtools.execute(db, OLD_AUDIT_ROWS),
    ("unlock_staff", "alice"): lambda db: (dbtools.execute(db, ADD_STAFF), dbtools.execute(db, ADD_FAILURES)),
    ("enrol_totp", "alice", "--replace"): staff_enrolled,
    ("repair_rollups",): lambda db: dbtools.execute(db, UNCOUNTED_EVENT),
    ("retention", "--events", "400d"): lambda db: dbtools.execute(db, OLD_EVENTS),
}
#: Every command that removes or rewrites data (baseline and rollback are asked in their own tests:
#: tests/test_baseline.py, tests/test_rollback.py).
CHANGES_DATA = {"baseline", "rollback", *(command[0] for command in CASES)}


@pytest.fixture(params=list(CASES), ids=lambda command: " ".join(command))
def prepared(request, migrated_db):
    CASES[request.param](migrated_db)
    return request.param, migrated_db


def test_each_asks_and_without_a_yes_changes_nothing(prepared):
    command, db = prepared
    before = dbtools.table_checksums(db)
    for answer in (None, "no\n", "y\n"):
        result = manage(*command, database=db, input=answer)
        assert result.returncode == 2, (answer, result.stdout + result.stderr)
        assert "Type 'yes' to continue" in result.stdout
        assert result.stderr.strip().splitlines() == [
            "CommandError: not confirmed; nothing was written (use --no-input in automation)."
        ] or "not confirmed; nothing was written" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert dbtools.table_checksums(db) == before


def test_each_dry_run_shows_the_plan_and_changes_nothing(prepared):
    command, db = prepared
    before = dbtools.table_checksums(db)
    result = manage(*command, "--dry-run", database=db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Dry run" in result.stdout and "Type 'yes'" not in result.stdout
    assert dbtools.table_checksums(db) == before


def test_each_goes_ahead_on_yes_and_on_no_input(prepared, migrated_template):
    command, db = prepared
    before = dbtools.table_checksums(db)
    result = manage(*command, database=db, input="yes\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert dbtools.table_checksums(db) != before
    again = dbtools.clone_database(migrated_template)
    try:
        CASES[command](again)
        assert manage(*command, "--no-input", database=again).returncode == 0
    finally:
        dbtools.drop_database(again)


def test_the_commands_that_change_data_share_the_base_flags():
    ours = {name for name, app in get_commands().items() if app == "ecomind_core"}
    declared = {name for name in ours if getattr(load_command_class("ecomind_core", name), "changes_data", False)}
    assert declared == CHANGES_DATA
    for name in CHANGES_DATA:
        help_text = manage(name, "--help").stdout
        assert "--no-input" in help_text and "--dry-run" in help_text, name
