"""The rules behind the catalog proof that are not one alteration each.

* A catalog column the server has and this release neither compares nor
  allows is an error at run time (``catalog_column_unreviewed``), not ignored:
  shown by taking one known column out of ``postgres_defaults`` in a real
  ``verify_schema`` process, which is what a newer PostgreSQL's extra column
  looks like to it.
* Which settings are harmful, risky, harmless or unknown; what a row filter
  names; when a publication blocks writes.
"""

import json

import pytest

from ecomind_core.catalog.database_settings import verdict
from ecomind_core.catalog.live_postgresql import blocks_writes, filter_columns
from ecomind_core.catalog.objects import Setting
from tests.dbtools import manage

FORGET_A_COLUMN = """
from django.core.management import call_command
from ecomind_core.catalog import postgres_defaults
del postgres_defaults.DEFAULTS["table"]["pg_class.relispopulated"]   # as if the server had a column we never heard of
del postgres_defaults.DEFAULTS["index"]["pg_index.indislive"]
call_command("verify_schema", "--format", "json")
"""


def test_a_catalog_column_nobody_decided_on_is_an_error(migrated_db):
    result = manage("shell", "--no-imports", "-c", FORGET_A_COLUMN, database=migrated_db)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = {f["object"]: f for f in json.loads(result.stdout)}
    assert set(findings) == {"pg_class.relispopulated", "pg_index.indislive"}
    table = findings["pg_class.relispopulated"]
    assert (table["kind"], table["severity"], table["catalog_column"]) == (
        "catalog_column_unreviewed", "error", "pg_class.relispopulated")
    assert table["actual"].startswith("audit_logs: yes; ") and "more)" in table["actual"]  # one finding per column, not per table
    assert "allowed.py" in table["hint"]


def setting(name, value, source="database ecomind"):
    return Setting(name, source, value)


@pytest.mark.parametrize(("name", "value", "kind"), [
    ("default_transaction_read_only", "on", "setting_harmful"),
    ("default_transaction_read_only", "off", None),
    ("TimeZone", "Europe/Paris", "setting_harmful"),
    ("TimeZone", "Europe/London", "setting_harmful"),  # UTC in winter only
    ("TimeZone", "UTC", None),
    ("TimeZone", "Etc/UTC", None),
    ("timezone", "GMT", None),
    ("session_replication_role", "replica", "setting_replication_role"),
    ("session_replication_role", "origin", None),
    ("default_transaction_isolation", "serializable", "setting_harmful"),
    ("default_transaction_isolation", "read committed", None),
    ("extra_float_digits", "0", "setting_harmful"),
    ("extra_float_digits", "1", None),
    ("DateStyle", "German, DMY", "setting_harmful"),
    ("DateStyle", "ISO, DMY", None),
    ("client_encoding", "LATIN1", "setting_harmful"),
    ("client_encoding", "UTF8", None),
    ("statement_timeout", "5s", "setting_risky"),
    ("synchronous_commit", "off", "setting_risky"),
    ("synchronous_commit", "on", None),
    ("work_mem", "64MB", None),
    ("application_name", "worker", None),
    ("search_path", "other, public", None),  # compared as table_shadowed
    ("IntervalStyle", "sql_standard", "setting_unreviewed"),
    ("custom.flag", "1", "setting_unreviewed"),
])
def test_settings_verdicts(name, value, kind):
    found = verdict(setting(name, value))
    assert (found.kind if found else None) == kind


def test_this_sessions_own_settings_are_judged_only_for_what_switches_triggers_off():
    assert verdict(setting("custom.flag", "1", "this session")) is None
    assert verdict(setting("session_replication_role", "replica", "this session")).kind == "setting_replication_role"


@pytest.mark.parametrize(("where", "fix"), [
    ("database ecomind", "ALTER DATABASE ecomind RESET TimeZone"),
    ("role worker", "ALTER ROLE worker RESET TimeZone"),
    ("role worker in database ecomind", "ALTER ROLE worker IN DATABASE ecomind RESET TimeZone"),
])
def test_the_hint_names_where_to_reset(where, fix):
    assert verdict(setting("TimeZone", "Asia/Tokyo", where)).hint.startswith(fix)


COLUMNS = ["date", "org_id", "call_count", "kwh", "water_l", "co2_kg"]


@pytest.mark.parametrize(("row_filter", "named"), [
    ("(kwh > (0)::double precision)", ["kwh"]),
    ("((org_id)::text = 'kwh'::text)", ["org_id"]),  # a literal is not a column
    ('("date" > \'2024-01-01\'::date)', ["date"]),
    ("((org_id)::text <> 'x'::text) AND (call_count > 1)", ["org_id", "call_count"]),
])
def test_row_filter_columns(row_filter, named):
    assert sorted(filter_columns(row_filter, COLUMNS)) == sorted(named)


@pytest.mark.parametrize(("actions", "row_filter", "listed", "identity", "blocked"), [
    (("insert", "update"), "", (), ("date", "org_id"), False),
    (("insert", "update"), "", (), (), True),
    (("insert",), "", (), (), False),  # inserts need no identity
    (("insert", "update", "delete"), "(kwh > 0)", (), ("date", "org_id"), True),
    (("insert", "update", "delete"), "((org_id)::text <> 'x'::text)", (), ("date", "org_id"), False),
    (("insert", "update", "delete"), "(kwh > 0)", (), tuple(COLUMNS), False),  # REPLICA IDENTITY FULL
    (("delete",), "", ("date", "kwh"), ("date", "org_id"), True),
    (("delete",), "", ("date", "org_id", "kwh"), ("date", "org_id"), False),
])
def test_when_a_publication_blocks_writes(actions, row_filter, listed, identity, blocked):
    assert bool(blocks_writes(actions, row_filter, listed, identity, COLUMNS)) == blocked
