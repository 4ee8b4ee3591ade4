"""The backend reads DATABASE_PASSWORD_FILE / DATABASE_URL_FILE again for each new connection.

On a PostgreSQL server of the test's own that asks for a password
(tests/own_postgres.py), with the backend's own connection wrapper: a new
connection after a rotation uses the new password; one refused while the
file was being rewritten is retried once with the file read again; one
refused because the file is ahead of the database falls back to the
credentials that last signed in; an open connection keeps working; a file
that cannot be read keeps the values read before. No password in any
message or log line.
"""

import logging
import os

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from ecomind.config import credential_files, database_from_url
from ecomind_core.db import credentials
from ecomind_core.db.redaction import connection_problem
from tests.own_postgres import own_postgres

pytestmark = pytest.mark.slow

OLD, NEW, NEWER = "0ld-Passw0rd-rotation-A", "N3w-Passw0rd-rotation-B", "N3wer-Passw0rd-rotation-C"


@pytest.fixture(scope="module")
def server():
    with own_postgres() as pg:
        pg.create_role(OLD)
        yield pg


@pytest.fixture(autouse=True)
def old_password_in_the_database(server, django_db_blocker):
    # Our own wrappers on our own server: pytest-django's guard is for its test database.
    django_db_blocker.unblock()
    server.set_password(OLD)
    credentials._last_good.clear()
    credentials._said.clear()
    yield
    django_db_blocker.restore()
    with server.admin() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'ecomind_app%%'")


def write(path, text):
    """Replace the file at once, as the kubelet does (a new file renamed over the old)."""
    scratch = path.with_suffix(".new")
    scratch.write_text(text + "\n")
    os.replace(scratch, path)


def wrapper(monkeypatch, url, **files):
    """The backend's connection wrapper, configured from the environment as ecomind/settings.py does."""
    for name in ("DATABASE_URL", "DATABASE_PASSWORD", "DATABASE_URL_FILE", "DATABASE_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, path in files.items():
        monkeypatch.setenv(name, str(path))
    url_text = url if url is not None else files["DATABASE_URL_FILE"].read_text().strip()
    password = files["DATABASE_PASSWORD_FILE"].read_text().strip() if "DATABASE_PASSWORD_FILE" in files else None
    settings_dict = database_from_url(url_text, password=password)
    settings_dict["CREDENTIAL_FILES"] = credential_files()
    handler = ConnectionHandler({"default": settings_dict})
    return handler["default"]


def signed_in_as(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    write(path, OLD)
    return path


def test_a_new_connection_after_a_rotation_uses_the_rewritten_file(server, password_file, monkeypatch):
    connection = wrapper(monkeypatch, server.url(), DATABASE_PASSWORD_FILE=password_file)
    assert signed_in_as(connection) == "ecomind_app"
    server.set_password(NEW)
    write(password_file, NEW)
    assert signed_in_as(connection) == "ecomind_app"  # the open connection keeps working
    connection.close()
    assert signed_in_as(connection) == "ecomind_app"  # a new one, with the new password
    assert connection.settings_dict["PASSWORD"] == NEW


def test_refused_while_the_file_was_being_rewritten_is_retried_once_with_the_file_read_again(server, password_file, monkeypatch):
    connection = wrapper(monkeypatch, server.url(), DATABASE_PASSWORD_FILE=password_file)
    params = connection.get_connection_params()  # read now: the old password
    server.set_password(NEW)  # the database changes first...
    write(password_file, NEW)  # ...and the file just after the connection read it
    connection.connection = connection.get_new_connection(params)
    assert connection.connection.info.user == "ecomind_app"
    assert connection.connection.info.password == NEW
    connection.close()


def test_refused_because_the_file_is_ahead_of_the_database_falls_back_to_what_signed_in_last(server, password_file, monkeypatch, caplog):
    connection = wrapper(monkeypatch, server.url(), DATABASE_PASSWORD_FILE=password_file)
    connection.ensure_connection()
    connection.close()
    write(password_file, NEW)  # the file first; ALTER ROLE has not run yet
    with caplog.at_level(logging.INFO):
        connection.ensure_connection()
        assert connection.connection.info.password == OLD
        connection.close()
        server.set_password(NEW)  # now the database
        connection.ensure_connection()
        assert connection.connection.info.password == NEW
        connection.close()
    assert "signing in with the previous ones" in caplog.text
    assert OLD not in caplog.text and NEW not in caplog.text


def test_wrong_everywhere_fails_with_one_clear_line_and_no_password(server, password_file, monkeypatch):
    connection = wrapper(monkeypatch, server.url(), DATABASE_PASSWORD_FILE=password_file)
    server.set_password(NEWER)  # nobody told the file
    with pytest.raises(OperationalError) as refused:
        connection.ensure_connection()
    line = connection_problem(refused.value.__cause__ or refused.value)
    assert "password authentication failed" in line and "\n" not in line
    assert OLD not in line and NEWER not in line
    assert line.count("password authentication failed") == 1  # libpq's repeated line said once


def test_a_rotated_url_file_moves_user_and_password_together(server, tmp_path, monkeypatch):
    with server.admin() as conn:
        conn.execute(f"CREATE ROLE ecomind_app_b LOGIN PASSWORD '{NEWER}' IN ROLE ecomind_app")
    try:
        url_file = tmp_path / "url"
        write(url_file, server.url(password=OLD))
        connection = wrapper(monkeypatch, None, DATABASE_URL_FILE=url_file)
        assert signed_in_as(connection) == "ecomind_app"
        # Alternating users: the rotation switches the application to the other role.
        write(url_file, server.url(role="ecomind_app_b", password=NEWER))
        assert signed_in_as(connection) == "ecomind_app"  # open: unchanged
        connection.close()
        assert signed_in_as(connection) == "ecomind_app_b"
        connection.close()
    finally:
        with server.admin() as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'ecomind_app_b'")
            conn.execute("DROP ROLE ecomind_app_b")


def test_a_file_that_cannot_be_read_keeps_the_credentials_read_before(server, password_file, monkeypatch, caplog):
    connection = wrapper(monkeypatch, server.url(), DATABASE_PASSWORD_FILE=password_file)
    password_file.unlink()  # between two versions of a mounted secret, say
    with caplog.at_level(logging.WARNING):
        assert signed_in_as(connection) == "ecomind_app"
    connection.close()
    assert "DATABASE_PASSWORD_FILE names" in caplog.text and "still using the ones read before" in caplog.text
    assert OLD not in caplog.text


def test_a_failure_that_is_not_about_credentials_is_not_retried(server, password_file, monkeypatch):
    connection = wrapper(monkeypatch, server.url(), DATABASE_PASSWORD_FILE=password_file)
    connection.ensure_connection()  # signed in once: there are credentials to fall back on
    connection.close()
    connection.settings_dict["NAME"] = "no_such_database"
    started = len(server.log())
    with pytest.raises(OperationalError, match="does not exist"):
        connection.ensure_connection()
    # One attempt only: a missing database is not a password problem (though libpq says "does not exist" too).
    assert server.log()[started:].count('database "no_such_database" does not exist') == 1
