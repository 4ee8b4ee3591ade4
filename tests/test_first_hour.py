"""What a new user meets in the first hour: a fresh clone anywhere, the README as written, quiet logs.

The fresh-clone test copies the repository (its tracked and unignored files,
as a clone has them) into a directory with nothing beside it, runs
the README's first command there as a user does, and then part of the suite
that loads the legacy fixture: nothing outside the repository is read.
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from tests import dbtools
from tests.checkout import copy_checkout
from tests.dbtools import ROOT, manage

README = ROOT / "README.md"
#: The reference folder a developer's machine has beside the checkout and a user's clone has not.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|parent\s*/\s*[\"']" + "shared")
LEGACY_SHA256 = "b395e6218fe08ee63871a9ed770ba09405e43d253450adf770194364714f1d71"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url, seconds=120, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"nothing answered {url} within {seconds}s")


def log_in(base, username, password):
    """Sign in to the admin as a browser does; returns the page the login lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(f"{base}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token,
                                   "next": "/admin/"}).encode()
    response = opener.open(urllib.request.Request(f"{base}/admin/login/", data=form, headers={"Referer": f"{base}/admin/login/"}))
    return response.geturl(), response.read().decode()


def user_env(**extra):
    """A user's shell: no test settings, no DATABASE_URL, no pytest variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "DJANGO_", "DATABASE_", "SQLITE_", "LOCAL_LOGIN", "ECOMIND_TEST_DB"))}
    env.pop("DEBUG", None)
    env.pop("SECRET_KEY", None)
    env.update(extra)
    return env


def run_app(clone, port):
    """``scripts/run-app`` until the admin answers; returns (process, printed output so far)."""
    process = subprocess.Popen(
        ["scripts/run-app"], cwd=clone, env=user_env(PORT=str(port)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    wait_for_http(f"http://127.0.0.1:{port}/admin/login/", process=process)
    return process


def stop(process):
    os.killpg(process.pid, 15)
    output, _ = process.communicate(timeout=30)
    return output


@pytest.mark.slow
def test_a_fresh_clone_anywhere_runs_the_readme_commands(tmp_path):
    clone = copy_checkout(tmp_path / "somewhere" / "else" / "ecomind")
    assert list(clone.parent.iterdir()) == [clone]

    port = free_port()
    first = stop(run_app(clone, port))
    login = re.search(r"username (\S+)\s+password (\S+)", first)
    assert login, first
    assert "Traceback" not in first

    second_process = run_app(clone, port)
    try:
        landed, page = log_in(f"http://127.0.0.1:{port}", *login.groups())
        assert landed.endswith("/admin/") and "Daily footprint" in page, landed
    finally:
        second = stop(second_process)
    again = re.search(r"username (\S+)\s+password (\S+)", second)
    assert again and again.groups() == login.groups(), "a second run must keep the login it printed"
    assert "unchanged" in second

    # The README's test command in the clone, on the tests that load the legacy fixture.
    tests = subprocess.run(
        ["scripts/test", "-q", "-p", "no:cacheprovider", "tests/test_legacy_catalog.py"],
        cwd=clone, env=user_env(ECOMIND_TEST_DB=f"test_clone_{uuid.uuid4().hex[:8]}"),
        capture_output=True, text=True, timeout=900,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert re.search(r"\d+ passed", tests.stdout)


def test_the_legacy_catalog_is_the_repository_fixture_byte_for_byte():
    import hashlib

    assert hashlib.sha256(dbtools.LEGACY_001.read_bytes()).hexdigest() == LEGACY_SHA256
    assert dbtools.LEGACY_001.is_relative_to(ROOT)


def test_no_code_or_test_reads_outside_the_repository():
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    offenders = []
    for relative in listed:
        if relative.endswith(".md") or not (ROOT / relative).is_file():
            continue
        text = (ROOT / relative).read_text(errors="replace")
        if OUTSIDE.search(text):
            offenders.append(relative)
    assert offenders == []


def test_a_fixture_that_fails_to_load_says_what_psql_said(scratch_db, tmp_path):
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE t (id int);\nCREATE TABLE t (id int);\n")
    with pytest.raises(dbtools.SQLFileFailed, match='relation "t" already exists'):
        dbtools.run_sql_file(scratch_db, broken)


def readme_commands():
    """Every ``.venv/bin/python manage.py ...`` line the README shows (comments stripped)."""
    lines = []
    for line in README.read_text().splitlines():
        if line.startswith(".venv/bin/python manage.py"):
            lines.append(line.split("#", 1)[0].strip())
    return lines


def test_the_readme_shows_commands():
    assert len(readme_commands()) >= 4


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_works_as_written(migrated_db, command):
    """Run as a user does from the checkout, against a migrated database; each exits 0."""
    words = command.split()
    assert words[:2] == [".venv/bin/python", "manage.py"]
    if "alice" in words:  # the staff account the README's examples name
        created = manage("shell", "-c", "from django.contrib.auth.models import User; "
                         "User.objects.create_user('alice', is_staff=True)", database=migrated_db)
        assert created.returncode == 0, created.stderr
    env = dbtools.manage_env(database=migrated_db)
    result = subprocess.run([str(ROOT / words[0]), *words[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_manage_py_without_the_virtualenv_says_what_to_do_in_one_line():
    # -S: no site-packages, as a system Python without Django has none.
    result = subprocess.run([sys.executable, "-S", str(ROOT / "manage.py"), "check"], cwd=ROOT,
                            capture_output=True, text=True, env=user_env())
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not installed" in result.stderr and ".venv/bin/python" in result.stderr


def test_the_development_server_logs_a_404_and_a_403_once_without_a_traceback(tmp_path):
    port = free_port()
    env = user_env(DEBUG="true", SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True)
    reader.start()
    try:
        wait_for_http(f"http://127.0.0.1:{port}/admin/login/", process=server)
        for path, data in (("/no-such-page/", None), ("/admin/login/", b"username=x")):  # no CSRF token: 403
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data), timeout=10)
            assert refused.value.code in (403, 404)
        # The server writes its access line after the response: wait for it.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any('"POST /admin/login/ HTTP/1.1" 403' in line for line in lines):
            time.sleep(0.1)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        reader.join(timeout=10)
    log = "".join(lines)
    assert "Traceback" not in log
    assert log.count("/no-such-page/") == 1, log
    assert len(re.findall(r'"POST /admin/login/ HTTP/1.1" 403', log)) == 1, log


def test_the_local_login_stays_the_same_until_reset(tmp_path):
    env = {"DATABASE_URL": None, "SQLITE_PATH": str(tmp_path / "db.sqlite3"), "LOCAL_LOGIN_FILE": str(tmp_path / "login")}
    assert manage("migrate", "--no-input", "-v", "0", env=env).returncode == 0

    def printed_password(*args):
        result = manage("create_local_staff", *args, env=env)
        assert result.returncode == 0, result.stderr
        return re.search(r"password (\S+)", result.stdout)[1]

    first = printed_password()
    assert printed_password() == first
    assert printed_password("--reset-password") != first
    assert oct((tmp_path / "login").stat().st_mode)[-3:] == "600"


def test_purge_keeps_the_baseline_record_that_undo_needs(legacy_db):
    assert manage("baseline", "--no-input", database=legacy_db).returncode == 0
    purge = manage("purge_audit_logs", "--before", "2099-01-01", "--no-input", database=legacy_db)
    assert purge.returncode == 0, purge.stderr
    undo = manage("baseline", "--undo", "--no-input", database=legacy_db)
    assert undo.returncode == 0, undo.stdout + undo.stderr


def test_seed_demo_writes_to_the_database_it_was_given(scratch_db, migrated_db, tmp_path):
    """With two databases configured, ``--database other`` fills other and leaves default alone."""
    env = {"ECOMIND_OTHER_DATABASE_URL": dbtools.url(migrated_db)}
    result = manage("seed_demo", "--events", "50", "--database", "other", "--settings", "tests.settings_two_databases",
                    database=scratch_db, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert dbtools.execute(migrated_db, "SELECT count(*) FROM events_enriched")[0][0] == 50
    assert dbtools.public_tables(scratch_db) == [], "the default database must not be touched"


def test_exit_codes_live_in_one_module():
    literal = re.compile(r"returncode=\d|SystemExit\(\d|sys\.exit\(\d|parser\.exit\(\d")
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*ROOT.joinpath("ecomind_core").rglob("*.py"), *ROOT.joinpath("ecomind").rglob("*.py"), ROOT / "manage.py"]
        if literal.search(path.read_text())
    ]
    assert offenders == []


def test_every_other_applications_migrations_are_pre_deploy():
    """A new third-party app must join MIGRATION_STAGES_OVERRIDE (ecomind/settings.py)."""
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    apps_with_migrations = {app for app, _ in MigrationLoader(None, ignore_no_migrations=True).graph.nodes}
    assert apps_with_migrations - {"ecomind_core"} == set(settings.MIGRATION_STAGES_OVERRIDE)
