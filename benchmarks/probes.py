"""Latency and database queries of /healthz and /readyz on the real server, in one run.

    .venv/bin/python benchmarks/probes.py [--requests 300]

Starts gunicorn as deploy/Dockerfile does (3 workers, production settings) on
a scratch database of the server named by ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrated. Its database connections go
through a counting TCP proxy that reads the PostgreSQL protocol the server
is sent, so the queries per probe are counted on the wire, whatever the
code. Each request is plain HTTP on a new connection with a pod's IP as
Host, one at a time, as a kubelet sends them. Prints median/p95/max per
probe and its ratio to /healthz (which touches no database), then the same
for /readyz with the database address blackholed (the 2 s contract). Not
part of the test suite; takes about half a minute.
"""

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.production_server import dockerfile_command, production_env, production_server  # noqa: E402

SERVER = os.environ.get("ECOMIND_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
WORKERS = int(dockerfile_command()[dockerfile_command().index("--workers") + 1])
STATEMENT_MESSAGES = (b"Q", b"E")  # simple Query; Execute of the extended protocol


class StatementReader:
    """Reads what a PostgreSQL client sends; counts statements and keeps their text."""

    def __init__(self):
        self.buffer = b""
        self.started = False  # past the untyped StartupMessage
        self.parsed = None  # the text of the last Parse, which an Execute runs

    def feed(self, data):
        """The statements (SQL text, None for an Execute) that ``data`` completes."""
        self.buffer += data
        statements = []
        while True:
            if not self.started:
                if len(self.buffer) < 4 or len(self.buffer) < (length := int.from_bytes(self.buffer[:4], "big")):
                    return statements
                self.buffer, self.started = self.buffer[length:], True
                continue
            if len(self.buffer) < 5 or len(self.buffer) < 1 + (length := int.from_bytes(self.buffer[1:5], "big")):
                return statements
            kind, payload, self.buffer = self.buffer[:1], self.buffer[5:1 + length], self.buffer[1 + length:]
            if kind == b"Q":
                statements.append(payload.split(b"\0")[0].decode())
            elif kind == b"P":  # Parse: statement name, then its text
                self.parsed = payload.split(b"\0")[1].decode()
            elif kind == b"E":
                statements.append(self.parsed)


class CountingProxy:
    """A TCP proxy to PostgreSQL that counts connections and statements."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.reset()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self.lock:
            self.connections = 0
            self.statements = collections.Counter()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, StatementReader()), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    def _pump(self, source, sink, reader):
        try:
            while data := source.recv(65536):
                if reader:
                    statements = reader.feed(data)
                    with self.lock:
                        self.statements.update(statements)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def timed(server, path, count):
    samples = []
    for _ in range(count):
        response = server.get(path)
        assert response.status in (200, 503), response
        samples.append(response.seconds)
    return samples, response


def warm_up(server, proxy, limit=500):
    """Probe until every worker holds its database connection, so none opens one while timed."""
    for _ in range(limit):
        if proxy.connections >= WORKERS:
            return
        server.get("/readyz")
    raise AssertionError(f"{WORKERS} workers did not all connect within {limit} probes")


def summary(samples):
    return statistics.median(samples), statistics.quantiles(samples, n=20)[18], max(samples)


def blackholed_port():
    """A local port whose listen queue is full: TCP connect to it hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    return listener, socket.create_connection(listener.getsockname())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per probe (default 300)")
    args = parser.parse_args()

    dbname = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    proxy = CountingProxy((urlsplit(SERVER).hostname, urlsplit(SERVER).port or 5432))
    logs = tempfile.mkdtemp(prefix="bench-probes-")
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, check=True,
            env={**os.environ, "DEBUG": "true", "SECRET_KEY": "benchmark-only", "DATABASE_URL": f"{SERVER}/{dbname}"},
        )
        user = urlsplit(SERVER).username or "postgres"
        # No TLS between server and proxy, so the proxy can read the protocol.
        through_proxy = f"postgres://{user}@127.0.0.1:{proxy.port}/{dbname}?sslmode=disable&gssencmode=disable"
        rows = {}
        with production_server(production_env(through_proxy), f"{logs}/server.log") as server:
            warm_up(server, proxy)
            for path in ("/healthz", "/readyz"):
                proxy.reset()
                samples, last = timed(server, path, args.requests)
                assert last.status == 200, last
                rows[path] = (*summary(samples), sum(proxy.statements.values()) / args.requests, proxy.connections)
                if path == "/readyz":
                    seen = proxy.statements

        listener, filler = blackholed_port()
        unreachable = f"postgres://{user}@127.0.0.1:{listener.getsockname()[1]}/{dbname}"
        with production_server(production_env(unreachable), f"{logs}/blackholed.log") as server:
            samples, last = timed(server, "/readyz", 20)
            assert last.status == 503, last
            rows["/readyz, database blackholed (20 requests)"] = (*summary(samples), 0.0, 0)
        filler.close()
        listener.close()

        base = rows["/healthz"][0]
        print(f"gunicorn as in deploy/Dockerfile ({WORKERS} workers), {args.requests} requests per probe, one at a time, "
              "plain HTTP, Host 10.1.2.3:8000, once every worker holds its database connection")
        print("| probe | median | p95 | max | median vs /healthz | queries per probe | new DB connections |")
        print("|---|---|---|---|---|---|---|")
        for path, (median, p95, worst, queries, connections) in rows.items():
            print(f"| {path} | {median * 1000:.1f} ms | {p95 * 1000:.1f} ms | {worst * 1000:.1f} ms | "
                  f"{median / base:.2f}x | {queries:.2f} | {connections} |")
        print("statements the database received during the /readyz requests:")
        for statement, count in seen.most_common():
            print(f"  {count} x {statement}")
    finally:
        proxy.close()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
