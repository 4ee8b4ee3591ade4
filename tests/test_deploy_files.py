"""Every deployment file parses, follows the release flow, runs its commands, and holds no secret.

The release flow (docs/deployment/migrations.md): a pre-deploy job
(``migrate --pre-deploy``), the rollout of the web server (the image's
command, probed on /healthz and /readyz), then a post-deploy job
(``migrate``). Each platform's files are checked for that shape, then run in
that order against a real, empty database: the migrate commands as written,
the web server with the file's own command, and its probes as the platform
calls them.
"""

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests import dbtools
from tests.dbtools import manage
from tests.production_server import dockerfile_command, local_command, production_env, production_server

DEPLOY = dbtools.ROOT / "deploy"
MIGRATE = ["python", "manage.py", "migrate"]
PRE_DEPLOY = ["python", "manage.py", "migrate", "--pre-deploy", "--no-input"]
POST_DEPLOY = ["python", "manage.py", "migrate", "--no-input"]
PLATFORMS = {
    "compose": ["docker-compose.yml"],
    "kubernetes": [
        "kubernetes/migrate-pre-deploy-job.yaml", "kubernetes/deployment.yaml", "kubernetes/migrate-post-deploy-job.yaml",
    ],
    "ecs": [
        "ecs/migrate-pre-deploy-task-definition.json", "ecs/web-task-definition.json",
        "ecs/migrate-post-deploy-task-definition.json",
    ],
}
PROBE_KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
SECRET_NAMES = {"SECRET_KEY", "DATABASE_PASSWORD"}
PASSWORD_IN_URL = re.compile(r"\w+://[^/\s:@]+:[^@\s/]+@")


def load(path):
    text = path.read_text()
    if path.suffix == ".json":
        return [json.loads(text)]
    return [doc for doc in yaml.safe_load_all(text) if doc]


def platform_docs(platform):
    return [doc for name in PLATFORMS[platform] for doc in load(DEPLOY / name)]


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def commands(docs, program):
    return [
        node["command"] for doc in docs for node in walk(doc)
        if isinstance(node.get("command"), list) and node["command"][: len(program)] == program
    ]


def health_check_commands(docs):
    """The web server's compose ``healthcheck.test`` / ECS ``healthCheck.command``, without the leading CMD."""
    checks = []
    for doc in docs:
        for node in walk(doc):
            if node.get("command", [None])[0] != "gunicorn":
                continue
            for key in ("healthcheck", "healthCheck"):
                if isinstance(node.get(key), dict):
                    check = node[key].get("test") or node[key].get("command")
                    assert check[0] == "CMD", check  # exec form: no shell in between
                    checks.append(check[1:])
    return checks


def http_probes(docs):
    """Kubernetes probes: ``{kind: probe}`` of each container that has any."""
    return [
        {kind: node[kind] for kind in PROBE_KINDS if kind in node}
        for doc in docs for node in walk(doc) if any(kind in node for kind in PROBE_KINDS)
    ]


def env_pairs(docs):
    """(name, literal value or None when it comes from a secret store) for every variable."""
    for doc in docs:
        for node in walk(doc):
            env = node.get("environment") or node.get("env")
            if isinstance(env, dict):
                yield from env.items()
            elif isinstance(env, list):
                for item in env:
                    if isinstance(item, dict) and "name" in item:
                        yield item["name"], item.get("value")
            for item in node.get("secrets", []) if isinstance(node.get("secrets"), list) else []:
                if isinstance(item, dict) and "valueFrom" in item:
                    yield item["name"], None


FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yml", ".yaml", ".json"})


def test_every_file_belongs_to_a_platforms_release_flow():
    assert {p.relative_to(DEPLOY).as_posix() for p in FILES} == {name for names in PLATFORMS.values() for name in names}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_platform_has_one_pre_deploy_job_the_web_server_and_one_post_deploy_job(platform):
    docs = platform_docs(platform)
    migrations = commands(docs, MIGRATE)
    assert [c[:5] for c in migrations if "--pre-deploy" in c] == [PRE_DEPLOY]
    assert [c[:4] for c in migrations if "--pre-deploy" not in c] == [POST_DEPLOY]
    assert commands(docs, ["gunicorn"]) == [dockerfile_command()]  # the web server runs as the image does


@pytest.mark.parametrize("platform", PLATFORMS)
def test_release_flow_runs_against_a_real_database(platform, scratch_db, tmp_path):
    docs = platform_docs(platform)
    [pre] = [c for c in commands(docs, MIGRATE) if "--pre-deploy" in c]
    [post] = [c for c in commands(docs, MIGRATE) if "--pre-deploy" not in c]
    [web] = commands(docs, ["gunicorn"])
    assert http_probes(docs) or health_check_commands(docs), "the web server is never probed"

    result = manage(*pre[2:], database=scratch_db)
    assert result.returncode == 0, result.stderr
    with production_server(production_env(dbtools.url(scratch_db)), tmp_path / "web.log", command=web) as server:
        for probes in http_probes(docs):
            for kind, probe in probes.items():
                assert server.get(probe["httpGet"]["path"]).status == 200, kind
        for check in health_check_commands(docs):
            ran = subprocess.run(local_command(check, port=server.port), cwd=dbtools.ROOT, capture_output=True, text=True, timeout=30)
            assert ran.returncode == 0, ran.stderr
    result = manage(*post[2:], database=scratch_db)
    assert result.returncode == 0, result.stderr
    assert manage("verify_schema", database=scratch_db).returncode == 0


@pytest.mark.parametrize("path", [*FILES, DEPLOY / "Dockerfile"], ids=lambda p: p.name)
def test_file_holds_no_secret_literal(path):
    text = path.read_text()
    assert not PASSWORD_IN_URL.search(text), "a URL with a password"
    # A value (not a /path to a secret file) right after a secret's name.
    assert not re.search(r"(?i)\b(secret_key|password)\b['\"]?\s*[:=]\s*['\"]?(?!/)[A-Za-z0-9+_-]{12,}", text), "a literal secret"
    if path.name == "Dockerfile":
        return
    pairs = list(env_pairs(load(path)))
    assert pairs
    for name, value in pairs:
        if name in SECRET_NAMES:
            assert value is None, f"{name} is a literal"
        if name == "DATABASE_URL" and value:
            assert urlsplit(value).password is None


def test_compose_runs_pre_deploy_app_post_deploy_in_order():
    [compose] = load(DEPLOY / "docker-compose.yml")
    services = compose["services"]
    assert services["migrate-pre"]["command"][:5] == PRE_DEPLOY
    assert services["app"]["depends_on"]["migrate-pre"]["condition"] == "service_completed_successfully"
    assert health_check_commands([services["app"]]) == [["python", "-m", "ecomind_core.probes.call", "readyz"]]
    assert services["migrate-post"]["command"][:4] == POST_DEPLOY
    assert services["migrate-post"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert services["migrate-pre"]["restart"] == services["migrate-post"]["restart"] == "no"
    assert all(Path(secret["file"]).parts[0] == "secrets" for secret in compose["secrets"].values())


def test_kubernetes_probes_the_new_paths_over_plain_http():
    [deployment, _config] = load(DEPLOY / "kubernetes" / "deployment.yaml")
    [web] = deployment["spec"]["template"]["spec"]["containers"]
    assert "initContainers" not in deployment["spec"]["template"]["spec"]  # the Jobs migrate, not every pod
    assert {kind: web[kind]["httpGet"]["path"] for kind in PROBE_KINDS} == {
        "startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz",
    }
    ports = {port["name"]: port["containerPort"] for port in web["ports"]}
    for kind in PROBE_KINDS:
        get = web[kind]["httpGet"]
        assert "httpHeaders" not in get and get.get("scheme", "HTTP") == "HTTP"
        assert ports.get(get["port"], get["port"]) == 8000
    assert web["readinessProbe"]["timeoutSeconds"] > 2  # /readyz answers within 2 s
    # Old pods serve until new ones are ready: a rollout before the pre-deploy Job waits.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_ecs_health_check_is_liveness():
    """ECS replaces a task whose container check fails: it must not depend on the database."""
    [task] = load(DEPLOY / "ecs" / "web-task-definition.json")
    assert health_check_commands([task]) == [["python", "-m", "ecomind_core.probes.call", "healthz"]]


def test_the_docs_describe_every_file():
    docs = (dbtools.ROOT / "docs" / "deployment" / "migrations.md").read_text()
    for path in FILES:
        assert path.relative_to(DEPLOY).as_posix() in docs, path
    assert " ".join(PRE_DEPLOY) in docs and " ".join(POST_DEPLOY) in docs
