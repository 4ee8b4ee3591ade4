"""Verified TLS to the database, on a PostgreSQL server of the test's own with a CA the test makes.

``sslmode=verify-full`` with the CA bundle (the URL's own ``sslrootcert``,
``DATABASE_SSLROOTCERT_FILE``, or the bundle itself in ``DATABASE_SSLROOTCERT``)
connects to a server whose certificate that CA signed for the host in the
URL; a certificate for another host, or from another CA, is refused with
one clear line (exit 2, no traceback, no password). libpq's default,
``prefer``, connects to either: why ``check --deploy`` warns about it.
"""

import pytest

from tests.dbtools import manage
from tests.own_postgres import TestCA, own_postgres

pytestmark = pytest.mark.slow

PASSWORD = "Tls-test-Passw0rd-x7"
SSL_IN_USE = ("from django.db import connection\n"
              "with connection.cursor() as c:\n"
              "    c.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')\n"
              "    print('ssl', c.fetchone()[0])")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server(ca):
    right = ca.server_certificate("right", hosts=["127.0.0.1", "localhost"])
    with own_postgres(ssl=right) as pg:
        pg.create_role(PASSWORD)
        yield pg


@pytest.fixture
def serving(server, ca):
    """The server, presenting ``certificate(name, hosts)``'s certificate for the test, then its right one again."""
    def serve(certificate):
        server.use_certificate(*certificate)
    yield serve
    server.use_certificate(*ca.server_certificate("right", hosts=["127.0.0.1", "localhost"]))


def assert_one_line_refusal(result, *mentions):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    for mention in mentions:
        assert mention in lines[0], lines[0]


def ways_to_name_the_ca(server, ca):
    """(DATABASE_URL, other variables) for each way of giving sslmode=verify-full and the CA bundle."""
    return {
        "the URL's own sslmode and sslrootcert": (server.url(password=PASSWORD, sslmode="verify-full", sslrootcert=ca.certificate), {}),
        "DATABASE_SSLMODE and DATABASE_SSLROOTCERT_FILE": (
            server.url(), {"DATABASE_PASSWORD": PASSWORD, "DATABASE_SSLMODE": "verify-full",
                           "DATABASE_SSLROOTCERT_FILE": str(ca.certificate)}),
        "the bundle itself in DATABASE_SSLROOTCERT": (
            server.url(password=PASSWORD), {"DATABASE_SSLMODE": "verify-full",
                                            "DATABASE_SSLROOTCERT": ca.certificate.read_text()}),
    }


@pytest.mark.parametrize("way", ["the URL's own sslmode and sslrootcert", "DATABASE_SSLMODE and DATABASE_SSLROOTCERT_FILE",
                                 "the bundle itself in DATABASE_SSLROOTCERT"])
def test_the_right_certificate_connects_with_verify_full(server, ca, way):
    url, env = ways_to_name_the_ca(server, ca)[way]
    migrated = manage("migrate", "--no-input", "-v0", env={"DATABASE_URL": url, **env})
    assert migrated.returncode == 0, migrated.stderr
    shown = manage("shell", "--no-imports", "-c", SSL_IN_USE, env={"DATABASE_URL": url, **env})
    assert shown.returncode == 0 and shown.stdout.strip() == "ssl True", shown.stdout + shown.stderr


@pytest.mark.parametrize("command", [["verify_schema"], ["migrate", "--no-input", "--wait", "0"]])
def test_a_certificate_for_another_host_is_refused_in_one_line(server, ca, serving, command):
    serving(ca.server_certificate("wrong-host", hosts=["db.example.com"]))
    url, env = ways_to_name_the_ca(server, ca)["DATABASE_SSLMODE and DATABASE_SSLROOTCERT_FILE"]
    result = manage(*command, env={"DATABASE_URL": url, **env})
    assert_one_line_refusal(result, "cannot connect to postgresql://ecomind_app:***@127.0.0.1",
                            'server certificate for "db.example.com"', 'does not match host name "127.0.0.1"',
                            "connect to a name it holds")


def test_a_certificate_from_another_ca_is_refused_in_one_line(server, ca, serving, tmp_path):
    serving(TestCA(tmp_path / "other-ca").server_certificate("impostor", hosts=["127.0.0.1"]))
    url, env = ways_to_name_the_ca(server, ca)["the URL's own sslmode and sslrootcert"]
    assert_one_line_refusal(manage("verify_schema", env={"DATABASE_URL": url, **env}),
                            "certificate verify failed", "not signed by the CA bundle")


def test_without_verification_libpq_signs_in_to_whoever_answers(server, ca, serving, tmp_path):
    """Why check --deploy warns: sslmode=prefer (libpq's default) and require accept any certificate."""
    serving(TestCA(tmp_path / "other-ca").server_certificate("impostor", hosts=["db.example.com"]))
    for sslmode in ("prefer", "require"):
        shown = manage("shell", "--no-imports", "-c", SSL_IN_USE,
                       env={"DATABASE_URL": server.url(password=PASSWORD, sslmode=sslmode)})
        assert shown.stdout.strip() == "ssl True", shown.stderr  # encrypted, to an impostor: the password went too


def test_a_missing_ca_bundle_is_one_line(server, tmp_path):
    url = server.url(password=PASSWORD, sslmode="verify-full", sslrootcert=tmp_path / "missing.pem")
    assert_one_line_refusal(manage("verify_schema", env={"DATABASE_URL": url}), "names no readable CA bundle")


@pytest.mark.parametrize(("env", "mention"), [
    ({"DATABASE_SSLMODE": "verify-fully"}, "DATABASE_SSLMODE must be one of"),
    ({"DATABASE_SSLROOTCERT": "/etc/ssl/ca.pem"}, "DATABASE_SSLROOTCERT must hold the CA bundle itself"),
    ({"DATABASE_SSLROOTCERT_FILE": "/nonexistent/ca.pem"}, "DATABASE_SSLROOTCERT_FILE names /nonexistent/ca.pem, which cannot be read"),
])
def test_a_wrong_tls_setting_is_one_line(env, mention):
    result = manage("check", env={"DATABASE_URL": f"postgres://app:{PASSWORD}@db.internal/ecomind", **env})
    assert_one_line_refusal(result, mention)


def test_a_wrong_sslmode_in_the_url_is_one_line():
    result = manage("check", env={"DATABASE_URL": f"postgres://app:{PASSWORD}@db.internal/ecomind?sslmode=on"})
    assert_one_line_refusal(result, "sslmode 'on' is not one of libpq's")
