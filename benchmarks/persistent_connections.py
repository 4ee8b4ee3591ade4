"""What persistent database connections save per request under the WSGI server, measured in one run.

    .venv/bin/python benchmarks/persistent_connections.py [--requests 400] [--clients 3]

Two gunicorn servers as deploy/Dockerfile starts them (3 workers, production
settings) serve the same migrated database side by side: one with
``CONN_MAX_AGE=0`` (a new connection for every request: Django's default)
and one with ``CONN_MAX_AGE=60`` and ``CONN_HEALTH_CHECKS=true`` (ours: a
``SELECT 1`` before a connection is reused). Every request is the admin's
index page for a signed-in staff member, as the load balancer forwards it
(three queries: session, user, and the session's expiry moved on).

Two databases, each a separate scenario:

* **production-like**: a PostgreSQL server of the benchmark's own
  (tests/own_postgres.py) that asks for a password (``scram-sha-256``) over
  TLS checked with ``verify-full`` against its own CA, as deploy/ sets up a
  managed database (only the network's round trips are missing: it is on
  127.0.0.1);
* **local trust**: the machine's cluster (``ECOMIND_BENCH_PG``, default
  postgres://postgres@127.0.0.1:5432), no password, no TLS: the cheapest
  connection there is, so the smallest saving.

Latency: one request at a time, the two servers in alternating blocks of 20
(median, p95). Throughput: ``--clients`` clients at once for a few seconds
per server, twice each in turns (the better of the two). Prints each, and
the ratio of persistent to per-request. Not part of the test suite; about
two minutes.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import dbtools  # noqa: E402
from tests.behind_the_balancer import Browser, create_staff  # noqa: E402
from tests.dbtools import manage  # noqa: E402
from tests.own_postgres import TestCA, own_postgres  # noqa: E402
from tests.production_server import production_env, production_server  # noqa: E402

PAGE = "/admin/"
BLOCK = 20
SETTINGS = {"per request (CONN_MAX_AGE=0)": {"CONN_MAX_AGE": "0"},
            "persistent (CONN_MAX_AGE=60, health checks)": {"CONN_MAX_AGE": "60", "CONN_HEALTH_CHECKS": "true"}}
PASSWORD = "Bench-Passw0rd-scram"


def timed(browser):
    started = time.perf_counter()
    status, _ = browser.request("GET", PAGE)
    if status != 200:
        raise SystemExit(f"{PAGE} answered {status}")
    return (time.perf_counter() - started) * 1000


def latency(browsers, requests):
    times = {label: [] for label in browsers}
    labels = list(browsers)
    for block in range(requests // BLOCK):
        for label in labels if block % 2 == 0 else reversed(labels):
            times[label] += [timed(browsers[label]) for _ in range(BLOCK)]
    return times


def throughput(ports, clients, seconds=4.0):
    def one_run(port):
        browsers = [Browser(port) for _ in range(clients)]
        for browser in browsers:
            browser.sign_in()
        done, stop = [0] * clients, time.monotonic() + seconds

        def client(index):
            while time.monotonic() < stop:
                timed(browsers[index])
                done[index] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(done) / (time.monotonic() - started)

    best = dict.fromkeys(ports, 0.0)
    for _ in range(2):
        for label, port in ports.items():
            best[label] = max(best[label], one_run(port))
    return best


def scenario(title, env, args, logs):
    created = create_staff(env)
    if created.returncode != 0:
        raise SystemExit(created.stderr)
    with ExitStack() as stack:
        ports = {}
        for label, extra in SETTINGS.items():
            web_env = production_env(env["DATABASE_URL"], **{k: v for k, v in env.items() if k != "DATABASE_URL"},
                                     ADMIN_REQUIRE_2FA="false", **extra)
            log = Path(logs) / f"{title.split()[0]}-{extra['CONN_MAX_AGE']}.log"
            ports[label] = stack.enter_context(production_server(web_env, log)).port
        browsers = {label: Browser(port) for label, port in ports.items()}
        for browser in browsers.values():
            browser.sign_in()
            for _ in range(30):  # every worker booted and warm
                timed(browser)
        times = latency(browsers, args.requests)
        rates = throughput(ports, args.clients)
    print(f"\n{title}: {PAGE} signed in, {args.requests} requests per server one at a time; "
          f"{args.clients} clients at once for throughput")
    print(f"| connections | median | p95 | mean | requests/s ({args.clients} clients) |")
    print("|---|---|---|---|---|")
    for label, samples in times.items():
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"| {label} | {statistics.median(samples):.2f} ms | {p95:.2f} ms | {statistics.fmean(samples):.2f} ms "
              f"| {rates[label]:.0f} |")
    per_request, persistent = (statistics.median(samples) for samples in times.values())
    rate_per_request, rate_persistent = rates.values()
    print(f"persistent vs per request: median {persistent / per_request:.2f}x "
          f"({per_request - persistent:.2f} ms saved per request), requests/s {rate_persistent / rate_per_request:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per server for latency (default 400)")
    parser.add_argument("--clients", type=int, default=3, help="clients at once for throughput (default 3)")
    args = parser.parse_args()
    logs = tempfile.mkdtemp(prefix="bench-connections-")

    with tempfile.TemporaryDirectory() as directory:
        ca = TestCA(Path(directory) / "ca")
        with own_postgres(ssl=ca.server_certificate("db", hosts=["127.0.0.1"])) as server:
            server.create_role(PASSWORD)
            password_file = Path(directory) / "password"
            password_file.write_text(PASSWORD)
            env = {"DATABASE_URL": server.url(sslmode="verify-full", sslrootcert=ca.certificate),
                   "DATABASE_PASSWORD_FILE": str(password_file)}
            migrated = manage("migrate", "--no-input", "-v0", env=env)
            if migrated.returncode != 0:
                raise SystemExit(migrated.stderr)
            scenario("production-like (scram-sha-256 password, TLS verify-full)", env, args, logs)

    os.environ.setdefault("ECOMIND_TEST_PG", os.environ.get("ECOMIND_BENCH_PG", dbtools.SERVER))
    name = dbtools.create_database("bench_connections")
    try:
        env = {"DATABASE_URL": dbtools.url(name)}
        migrated = manage("migrate", "--no-input", "-v0", env=env)
        if migrated.returncode != 0:
            raise SystemExit(migrated.stderr)
        scenario("local trust (no password, no TLS)", env, args, logs)
    finally:
        dbtools.drop_database(name)
    print(f"\nserver logs: {logs}")


if __name__ == "__main__":
    main()
