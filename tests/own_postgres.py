"""A PostgreSQL server of the test's own: password authentication, and TLS with the test's own CA.

The machine's cluster trusts every connection from 127.0.0.1, so it can
show neither a password failing nor a certificate refused. Tests of those
start a server with ``initdb`` in a temporary directory, on a free port,
whose ``pg_hba.conf`` asks every TCP client for a password
(``scram-sha-256``). The test itself administers it as ``postgres`` over the
Unix socket in that directory (``trust``, which no TCP client gets).

:class:`TestCA` makes a certificate authority and server certificates with
``openssl``, so that ``sslmode=verify-full`` can be shown to accept the
right certificate and refuse one made for another host.

PostgreSQL refuses to run as root: as root the server runs as the
``postgres`` user, which then owns the directory.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql



def _server_programs():
    """The directory of initdb and pg_ctl: ``ECOMIND_PG_BIN``, else the one on PATH, else Debian's newest."""
    if os.environ.get("ECOMIND_PG_BIN"):
        return Path(os.environ["ECOMIND_PG_BIN"])
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    return installed[-1].parent if installed else Path("/usr/lib/postgresql/15/bin")


BIN = _server_programs()
#: The role the application signs in as, and its database.
APP_ROLE, APP_DATABASE = "ecomind_app", "ecomind"


def _run_as_owner():
    """subprocess arguments that run a command as the server's owner (``postgres`` when we are root)."""
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


def _give_to_owner(path):
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TestCA:
    """A throw-away certificate authority in ``directory``: ``ca.pem``, and server certificates it signs."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.certificate = self.directory / "ca.pem"
        self._key = self.directory / "ca.key"
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", self._key, "-out", self.certificate, "-days", "2", "-subj", "/CN=EcoMind tests CA",
                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def server_certificate(self, name, *, hosts):
        """``(certificate, key)`` for a server known by ``hosts`` (IP addresses or DNS names)."""
        certificate, key, request = (self.directory / f"{name}{suffix}" for suffix in (".crt", ".key", ".csr"))
        names = ",".join(f"IP:{host}" if host.replace(".", "").isdigit() or ":" in host else f"DNS:{host}" for host in hosts)
        extensions = self.directory / f"{name}.ext"
        extensions.write_text(f"subjectAltName={names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                      "-out", request, "-subj", f"/CN={hosts[0]}")
        self._openssl("x509", "-req", "-in", request, "-CA", self.certificate, "-CAkey", self._key, "-CAcreateserial",
                      "-out", certificate, "-days", "2", "-extfile", extensions)
        return certificate, key

    def _openssl(self, *args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, cwd=self.directory)


class OwnPostgres:
    """A running server; :meth:`url` is how the application reaches it (TCP, a password)."""

    def __init__(self, directory, port):
        self.directory, self.port = Path(directory), port
        self.data = self.directory / "data"

    def admin(self, dbname="postgres"):
        """A superuser connection over the Unix socket (trusted; no TCP client is)."""
        return psycopg.connect(host=str(self.directory), port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def url(self, *, role=APP_ROLE, password=None, dbname=APP_DATABASE, host="127.0.0.1", **query):
        """``postgres://role[:password]@host:port/dbname[?query]``."""
        secret = f":{quote(password, safe='')}" if password is not None else ""
        options = "&".join(f"{key}={value}" for key, value in query.items())
        return f"postgres://{role}{secret}@{host}:{self.port}/{dbname}{'?' + options if options else ''}"

    def create_role(self, password, role=APP_ROLE, dbname=APP_DATABASE):
        """A login role with ``password`` owning a new database (the application's own)."""
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(role)))

    def set_password(self, password, role=APP_ROLE):
        """``ALTER ROLE ... PASSWORD``: what a rotation does to the database."""
        with self.admin() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))

    def sessions(self, role=APP_ROLE):
        """The role's open sessions (backend pids)."""
        with self.admin() as conn:
            return [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE usename = %s", [role])]

    def use_certificate(self, certificate, key):
        """Serve ``certificate`` from now on (new connections; PostgreSQL reloads TLS files on SIGHUP)."""
        for source, target in ((certificate, "server.crt"), (key, "server.key")):
            shutil.copyfile(source, self.directory / target)
            _give_to_owner(self.directory / target)
            os.chmod(self.directory / target, 0o600)
        with self.admin() as conn:
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)  # the postmaster reloads asynchronously

    def log(self):
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def own_postgres(*, ssl=None):
    """Start a server of our own; ``ssl=(certificate, key)`` turns TLS on. Stopped and removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="ecomind-own-pg-"))
    _give_to_owner(directory)
    server = OwnPostgres(directory, free_port())
    owner = _run_as_owner()
    try:
        subprocess.run([BIN / "initdb", "-D", server.data, "-U", "postgres", "--auth-local=trust",
                        "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"],
                       check=True, capture_output=True, **owner)
        settings = [f"port = {server.port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{directory}'",
                    "password_encryption = 'scram-sha-256'", "fsync = off", "max_connections = 60"]
        if ssl:
            certificate, key = directory / "server.crt", directory / "server.key"
            for source, target in zip(ssl, (certificate, key)):
                shutil.copyfile(source, target)
                _give_to_owner(target)
                os.chmod(target, 0o600)
            settings += ["ssl = on", f"ssl_cert_file = '{certificate}'", f"ssl_key_file = '{key}'"]
        with open(server.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join(settings) + "\n")
        # TCP: a password from everyone, the superuser included; the socket is the test's own door.
        (server.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"
        )
        subprocess.run([BIN / "pg_ctl", "-D", server.data, "-l", directory / "server.log", "-w", "-t", "60", "start"],
                       check=True, capture_output=True, **owner)
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            subprocess.run([BIN / "pg_ctl", "-D", server.data, "-m", "immediate", "-w", "stop"], capture_output=True, **owner)
        shutil.rmtree(directory, ignore_errors=True)


def wait_for(condition, timeout=30.0, interval=0.1):
    """Poll ``condition()`` until it is truthy; its last value (falsy when the time ran out)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
