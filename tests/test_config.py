"""Configuration mistakes stop every command with one line naming the variable: no traceback, no password."""

import pytest

from tests import dbtools
from tests.dbtools import manage

PASSWORD = "s3cr3t-pw"
PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "x" * 20 + "-production-secret-key-0123456789-abcdefghij", "ALLOWED_HOSTS": "ecomind.example.com"}


def assert_one_line_refusal(result, *mentions):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and PASSWORD not in result.stdout + result.stderr
    for mention in mentions:
        assert mention in lines[0]


@pytest.mark.parametrize(("url", "mention"), [
    (f"mysql://root:{PASSWORD}@db:3306/ecomind", "unsupported scheme ('mysql')"),
    (f"postgres://root:{PASSWORD}@db:port/ecomind", "malformed"),
    (f"postgres://root:{PASSWORD}@db:5432/", "names no database"),
    ("not a url at all", "unsupported scheme"),
])
@pytest.mark.parametrize("command", ["migrate", "verify_schema", "check"])
def test_bad_database_url_is_refused(url, mention, command):
    assert_one_line_refusal(manage(command, env={"DATABASE_URL": url}), "DATABASE_URL", mention)


@pytest.mark.parametrize("command", ["migrate", "baseline", "runserver", "check"])
def test_production_without_secret_key_refuses_every_command(command):
    result = manage(command, env={"DEBUG": "false", "SECRET_KEY": None, "DATABASE_URL": f"postgres://u:{PASSWORD}@h/db"})
    assert_one_line_refusal(result, "SECRET_KEY")


def test_secrets_from_files(tmp_path, scratch_db):
    (tmp_path / "url").write_text(dbtools.url(scratch_db) + "\n")
    (tmp_path / "key").write_text(PRODUCTION["SECRET_KEY"])
    env = {**PRODUCTION, "SECRET_KEY": None, "SECRET_KEY_FILE": str(tmp_path / "key"),
           "DATABASE_URL": None, "DATABASE_URL_FILE": str(tmp_path / "url")}
    result = manage("migrate", "--no-input", "-v0", env=env)
    assert result.returncode == 0, result.stderr
    assert "django_migrations" in dbtools.public_tables(scratch_db)


def test_both_a_secret_and_its_file_is_refused(tmp_path):
    (tmp_path / "key").write_text("from-file")
    result = manage("check", env={"SECRET_KEY": "direct", "SECRET_KEY_FILE": str(tmp_path / "key")})
    assert_one_line_refusal(result, "SECRET_KEY and SECRET_KEY_FILE are both set")


def test_unreadable_secret_file_is_refused(tmp_path):
    result = manage("check", env={"DATABASE_URL": None, "DATABASE_URL_FILE": str(tmp_path / "missing")})
    assert_one_line_refusal(result, "DATABASE_URL_FILE", "cannot be read")


def test_database_password_replaces_the_urls():
    from ecomind.config import POSTGRES_ENGINE, database_from_url

    config = database_from_url("postgres://app:old@db.internal:5432/ecomind", password="rotated")
    assert (config["ENGINE"], config["HOST"], config["NAME"], config["PASSWORD"]) == (POSTGRES_ENGINE, "db.internal", "ecomind", "rotated")
    assert database_from_url("postgres://app:old@db.internal:5432/ecomind")["PASSWORD"] == "old"


def test_check_deploy_passes_with_production_settings():
    env = {**PRODUCTION, "DATABASE_URL": None, "TRUSTED_PROXIES": "10.0.0.0/16"}  # without it: tests/test_deploy_checks.py
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_diffsettings_masks_every_secret():
    result = manage("diffsettings", env={"DATABASE_URL": f"postgres://app:{PASSWORD}@db.internal/ecomind",
                                         "SECRET_KEY": "a-very-secret-key-for-this-test"})
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout and "a-very-secret-key-for-this-test" not in result.stdout
    assert "db.internal" in result.stdout


@pytest.mark.parametrize("password", ["qx7@zz9:/kwv#vj4", "qx7/zz9", "qx7?zz9", "qx7#zz9"])
def test_a_password_with_unencoded_special_characters_is_never_echoed_even_in_pieces(password):
    result = manage("migrate", "--no-input", env={"DATABASE_URL": f"postgresql://app:{password}@db.internal/ecomind"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "percent-encoded" in result.stderr and "DATABASE_PASSWORD" in result.stderr
    for piece in ("qx7", "zz9", "kwv", "vj4"):
        assert piece not in result.stdout + result.stderr


def test_a_short_password_is_masked_without_mangling_the_message():
    result = manage("migrate", "--no-input", "--wait", "0", env={"DATABASE_URL": "postgresql://app:p@127.0.0.1:1/ecomind"})
    assert result.returncode == 2
    assert "cannot connect to postgresql://app:***@127.0.0.1:1/ecomind" in result.stderr
    assert "***ostgresql" not in result.stderr and "postgresql" in result.stderr
