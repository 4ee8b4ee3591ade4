"""A real Prometheus (Debian's package) scrapes the real server, and its rules fire on what it scraped.

gunicorn runs as deploy/Dockerfile starts it (3 workers, production
settings, gunicorn.conf.py from the working directory), with the token from a
file as the deploy files mount it. Prometheus listens on 127.0.0.1 only,
scrapes every second with the bearer token from a file, and loads
deploy/monitoring/ecomind-alerts.yml. Skipped where prometheus is not
installed, except under CI (scripts/ensure-prometheus installs it).
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
from contextlib import contextmanager

import pytest
import yaml

from tests import dbtools
from tests.dbtools import manage
from tests.production_server import POD_HOST, PUBLIC_HOST, production_env, production_server

PROMETHEUS = shutil.which("prometheus")
TOKEN = "scrape-test-token-7a1c9e3b5d"
RULES = dbtools.ROOT / "deploy" / "monitoring" / "ecomind-alerts.yml"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port, path, host=POD_HOST, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@contextmanager
def prometheus(tmp_path, target_port, token_file):
    if not PROMETHEUS:
        if os.environ.get("CI"):
            pytest.fail("prometheus must be installed under CI (scripts/ensure-prometheus)")
        pytest.skip("prometheus not installed: run scripts/ensure-prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{
            "job_name": "ecomind", "metrics_path": "/metrics", "scrape_timeout": "1s",
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
            "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}],
        }],
    }))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "w")
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "/-/ready", host=f"127.0.0.1:{port}")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text()
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def api(port, path, **params):
    status, body = request(port, f"/api/v1/{path}?{urllib.parse.urlencode(params)}", host=f"127.0.0.1:{port}")
    assert status == 200, body
    return json.loads(body)["data"]


def eventually(read, deadline=30):
    """``read()``'s first truthy answer within ``deadline`` seconds."""
    until = time.monotonic() + deadline
    while True:
        answer = read()
        if answer or time.monotonic() > until:
            return answer
        time.sleep(0.5)


def query(port, promql):
    """``{labels-as-tuple: value}`` of an instant query."""
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in api(port, "query", query=promql)["result"]}


def test_prometheus_scrapes_the_schema_verdict_and_the_drift_alert_fires(migrated_db, tmp_path):
    dbtools.execute(migrated_db, "DROP INDEX ix_events_enriched_ts")
    assert manage("verify_schema", "--record", database=migrated_db).returncode == 1  # drift, recorded
    token_file = tmp_path / "metrics_token"
    token_file.write_text(TOKEN + "\n")
    env = production_env(dbtools.url(migrated_db), METRICS_TOKEN_FILE=str(token_file), PROMETHEUS_MULTIPROC_DIR=None)
    with production_server(env, tmp_path / "web.log") as server:
        # Plain HTTP, a pod's IP as Host, production settings: answered, not redirected or refused.
        assert request(server.port, "/metrics")[0] == 401
        status, body = request(server.port, "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "ecomind_schema_errors 1.0" in body
        assert request(server.port, "/admin/login/")[0] == 400  # the admin still refuses a pod's IP
        # Staff open the login page through the load balancer: timed, whichever worker answers.
        for _ in range(6):
            assert request(server.port, "/admin/login/", host=PUBLIC_HOST, headers={"X-Forwarded-Proto": "https"})[0] == 200

        with prometheus(tmp_path, server.port, token_file) as port:
            assert eventually(lambda: query(port, 'up{job="ecomind"} == 1'))
            verdict = eventually(lambda: query(port, "ecomind_schema_errors"))
            assert list(verdict.values()) == [1.0]
            assert list(query(port, 'ecomind_verification_recorded{check="schema"}').values()) == [1.0]
            assert list(query(port, "ecomind_schema_verdict_age_seconds < 600").values())
            assert list(query(port, "ecomind_database_up").values()) == [1.0]
            # Six requests over three workers, summed by prometheus-client's multiprocess mode.
            assert list(query(port, 'sum(ecomind_admin_request_duration_seconds_count{page="login",method="GET"})').values()) == [6.0]

            firing = eventually(lambda: [a for a in api(port, "alerts")["alerts"]
                                         if a["labels"]["alertname"] == "EcoMindSchemaDrift" and a["state"] == "firing"])
            assert firing and firing[0]["annotations"]["runbook_url"] == "docs/deployment/monitoring.md#ecomindschemadrift"

            # The drift mended and verified again: the next scrapes say 0 and the alert resolves.
            dbtools.execute(migrated_db, "CREATE INDEX ix_events_enriched_ts ON events_enriched (ts)")
            assert manage("verify_schema", "--record", database=migrated_db).returncode == 0
            assert eventually(lambda: query(port, "ecomind_schema_errors == 0"))
            assert eventually(lambda: not [a for a in api(port, "alerts")["alerts"]
                                           if a["labels"]["alertname"] == "EcoMindSchemaDrift"])


def test_an_unreachable_database_is_a_metric_not_a_failed_scrape(tmp_path):
    """Prometheus keeps the target up and the alert rules see ecomind_database_up 0."""
    env = production_env("postgres://ecomind:s3cret-pw@127.0.0.1:1/ecomind", METRICS_TOKEN=TOKEN)
    with production_server(env, tmp_path / "web.log") as server:
        started = time.monotonic()
        status, body = request(server.port, "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "ecomind_database_up 0.0" in body and time.monotonic() - started < 5
        assert request(server.port, "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
        log = (tmp_path / "web.log").read_text()
        assert "metrics: cannot read" in log and "127.0.0.1:1" in log  # why, once per worker
        assert "s3cret-pw" not in body and "s3cret-pw" not in log


def test_no_token_configured_is_a_404_on_the_real_server(tmp_path, migrated_db):
    env = production_env(dbtools.url(migrated_db), METRICS_TOKEN=None, METRICS_TOKEN_FILE=None)
    with production_server(env, tmp_path / "web.log") as server:
        assert request(server.port, "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 404
