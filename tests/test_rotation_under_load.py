"""A database password rotated under the production WSGI server: no restart, no failed request, a probe that tells the truth.

On a PostgreSQL server of the test's own (password authentication, TLS with
the test's own CA, ``sslmode=verify-full``: tests/own_postgres.py), gunicorn
runs as deploy/Dockerfile starts it, with ``DATABASE_PASSWORD_FILE``. A few
clients stream admin pages (a signed-in staff session) and ``/readyz`` while
the password is rotated the single-user way a Kubernetes Secret allows:

1. the file is rewritten first (as the kubelet does: a new file renamed in);
   new connections try the new password, are refused, and fall back to the
   one that last signed in;
2. ``ALTER ROLE ... PASSWORD``;
3. the stream goes on: processes open new connections, now with the new
   password (the old one no longer works).

Zero requests fail, with one connection per request (``CONN_MAX_AGE=0``)
and with persistent connections (``CONN_MAX_AGE=2`` here, so that they are
replaced during the test; health-checked). A connection the server drops
between requests is replaced, not failed on (``CONN_HEALTH_CHECKS``). A migrate job
started afterwards signs in with the new password, and neither password
appears in any output.

Then the probe: the role's password changed and nobody told the file.
Open sessions go on working, but ``/readyz`` signs in afresh at least every
``FRESH_CONNECTION_EVERY`` seconds and answers 503 "unavailable", each time
within its 2 s deadline; once the file has the password, 200 again, with no
restart.
"""

import os
import threading
import time

import psycopg
import pytest

from ecomind_core.probes.readiness import FRESH_CONNECTION_EVERY
from tests.dbtools import manage
from tests.own_postgres import TestCA, own_postgres, wait_for
from tests.behind_the_balancer import Browser, create_staff
from tests.production_server import production_env, production_server

pytestmark = pytest.mark.slow

OLD, NEW, UNTOLD = "R0tation-old-Passw0rd", "R0tation-new-Passw0rd", "R0tation-untold-Passw0rd"
CLIENTS = 3


def write(path, text):
    """Replace the file at once, as the kubelet does (a new file renamed over the old)."""
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(text + "\n")
    os.replace(scratch, path)


@pytest.fixture
def database(tmp_path):
    """Our own server over TLS, the app's role and database migrated; ``(server, environment, password file)``."""
    ca = TestCA(tmp_path / "ca")
    with own_postgres(ssl=ca.server_certificate("db", hosts=["127.0.0.1"])) as server:
        server.create_role(OLD)
        password_file = tmp_path / "db_password"
        write(password_file, OLD)
        env = {"DATABASE_URL": server.url(sslmode="verify-full", sslrootcert=ca.certificate),
               "DATABASE_PASSWORD_FILE": str(password_file)}
        migrated = manage("migrate", "--no-input", "-v0", env=env)
        assert migrated.returncode == 0, migrated.stderr
        created = create_staff(env)
        assert created.returncode == 0, created.stderr
        yield server, env, password_file


class Stream:
    """Clients requesting an admin page and /readyz in turns until stopped; every answer that is not 200 is kept."""

    PATHS = ("/admin/ecomind_core/auditlog/", "/readyz")

    def __init__(self, port):
        self.browsers = [Browser(port) for _ in range(CLIENTS)]
        for browser in self.browsers:
            browser.sign_in()
        self.stop, self.answers, self.failures = threading.Event(), 0, []
        self.threads = [threading.Thread(target=self.run, args=(browser,)) for browser in self.browsers]

    def run(self, browser):
        while not self.stop.is_set():
            for path in self.PATHS:
                try:
                    status, body = browser.request("GET", path)
                except OSError as exc:
                    status, body = type(exc).__name__, b""
                self.answers += 1
                if status != 200:
                    self.failures.append((time.monotonic(), path, status, body[:200]))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()


def end_sessions(server):
    with server.admin() as conn:
        return conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'ecomind_app'").fetchone()[0]


@pytest.mark.parametrize("conn_max_age", ["0", "2"], ids=["a connection per request", "persistent connections"])
def test_a_rotation_under_a_stream_of_requests_fails_none_and_needs_no_restart(database, tmp_path, conn_max_age):
    server, env, password_file = database
    log = tmp_path / "web.log"
    web_env = production_env(env["DATABASE_URL"], DATABASE_PASSWORD_FILE=env["DATABASE_PASSWORD_FILE"],
                             ADMIN_REQUIRE_2FA="false", CONN_MAX_AGE=conn_max_age, CONN_HEALTH_CHECKS="true")
    with production_server(web_env, log) as web, Stream(web.port) as stream:
        time.sleep(1.5)
        write(password_file, NEW)  # 1. the file first: new connections fall back to the old password
        time.sleep(2 * float(conn_max_age) + 1.5)
        server.set_password(NEW)  # 2. the database: from now on only the new password signs in
        signed_in_before = set(server.sessions())
        time.sleep(2 * float(conn_max_age) + 2)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url(password=OLD, sslmode="require"))
        # Sessions opened since ALTER ROLE: the processes signed in again, with the new password.
        assert set(server.sessions()) - signed_in_before
    assert stream.failures == [] and stream.answers > 50, (stream.failures, stream.answers)

    job = manage("migrate", "--no-input", env=env)  # a deploy job started afterwards
    assert job.returncode == 0, job.stderr
    everything = log.read_text() + job.stdout + job.stderr
    assert OLD not in everything and NEW not in everything


def test_a_persistent_connection_the_server_dropped_is_replaced_not_failed_on(database, tmp_path):
    """CONN_HEALTH_CHECKS: before reusing a connection, Django checks it; a dead one is replaced in the same request."""
    server, env, password_file = database
    web_env = production_env(env["DATABASE_URL"], DATABASE_PASSWORD_FILE=env["DATABASE_PASSWORD_FILE"],
                             ADMIN_REQUIRE_2FA="false")  # CONN_MAX_AGE 60 and health checks: the defaults
    with production_server(web_env, tmp_path / "web.log") as web:
        browser = Browser(web.port)
        browser.sign_in()
        for _ in range(6):  # every worker has a connection open now
            assert browser.request("GET", "/admin/ecomind_core/auditlog/")[0] == 200
        kept = set(server.sessions())
        assert end_sessions(server) >= 1  # a failover, an idle timeout, a restarted server: between requests
        for _ in range(6):
            assert browser.request("GET", "/admin/ecomind_core/auditlog/")[0] == 200
        assert not kept & set(server.sessions())


def test_readiness_reports_a_database_it_cannot_sign_in_to_and_recovers_without_a_restart(database, tmp_path):
    server, env, password_file = database
    log = tmp_path / "web.log"
    web_env = production_env(env["DATABASE_URL"], DATABASE_PASSWORD_FILE=env["DATABASE_PASSWORD_FILE"])
    with production_server(web_env, log) as web:
        assert web.get("/readyz").status == 200
        server.set_password(UNTOLD)  # the database changed; the file was not
        started = time.monotonic()
        answers = []

        def unavailable():
            answer = web.get("/readyz")
            answers.append(answer)
            return answer.status == 503 and answer.json() == {"status": "not ready", "database": "unavailable"}

        assert wait_for(unavailable, timeout=FRESH_CONNECTION_EVERY + 10, interval=1)
        assert time.monotonic() - started <= FRESH_CONNECTION_EVERY + 5
        assert all(answer.seconds < 2 for answer in answers)  # each within the deadline

        write(password_file, UNTOLD)  # the file catches up: no restart
        assert wait_for(lambda: web.get("/readyz").status == 200, timeout=FRESH_CONNECTION_EVERY + 10, interval=1)
    text = log.read_text()
    assert "readiness: not ready" in text and "password authentication failed" in text
    assert OLD not in text and UNTOLD not in text
