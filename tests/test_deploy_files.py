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
import sys
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
#: The scheduled checks (docs/deployment/monitoring.md) and the partitions' upkeep (docs/runbooks/partitioning.md),
#: beside each platform's release flow.
SCHEDULED = {
    "compose": ["docker-compose.yml"],
    "kubernetes": ["kubernetes/verify-schema-cronjob.yaml", "kubernetes/verify-rollups-cronjob.yaml",
                   "kubernetes/maintain-partitions-cronjob.yaml"],
    "ecs": [
        "ecs/verify-schema-task-definition.json", "ecs/verify-schema-rule.json", "ecs/verify-schema-targets.json",
        "ecs/verify-rollups-task-definition.json", "ecs/verify-rollups-rule.json", "ecs/verify-rollups-targets.json",
        "ecs/maintain-partitions-task-definition.json", "ecs/maintain-partitions-rule.json",
        "ecs/maintain-partitions-targets.json",
    ],
}
#: Prometheus' files (tests/test_alert_rules.py checks them with promtool).
MONITORING = ["monitoring/ecomind-alerts.yml", "monitoring/ecomind-alerts.test.yml", "monitoring/prometheus-scrape.yml"]
VERIFY_COMMANDS = [["python", "manage.py", "verify_rollups", "--record"], ["python", "manage.py", "verify_schema", "--record"]]
MAINTAIN_COMMAND = ["python", "manage.py", "maintain_partitions"]
#: Every scheduled command line, by its compose service / CronJob / ECS family suffix.
SCHEDULES = {"verify-schema": VERIFY_COMMANDS[1], "verify-rollups": VERIFY_COMMANDS[0], "maintain-partitions": MAINTAIN_COMMAND}
PROBE_KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
SECRET_NAMES = {"SECRET_KEY", "DATABASE_PASSWORD", "METRICS_TOKEN"}
EVENTBRIDGE_SUFFIXES = ("-rule.json", "-targets.json")
PASSWORD_IN_URL = re.compile(r"\w+://[^/\s:@]+:[^@\s/]+@")


def load(path):
    text = path.read_text()
    if path.suffix == ".json":
        return [json.loads(text)]
    return [doc for doc in yaml.safe_load_all(text) if doc]


def platform_files():
    return {DEPLOY / name for names in PLATFORMS.values() for name in names}


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


ALL_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yml", ".yaml", ".json"})
#: The orchestrators' files (Prometheus' are not deployment descriptions).
FILES = [p for p in ALL_FILES if p.relative_to(DEPLOY).as_posix() not in MONITORING]


def test_every_file_belongs_to_a_platforms_release_flow_or_schedule():
    named = {name for files in (*PLATFORMS.values(), *SCHEDULED.values()) for name in files}
    assert {p.relative_to(DEPLOY).as_posix() for p in ALL_FILES} == named | set(MONITORING)


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
    assert not re.search(r"(?i)\b(secret_key|password|token)\b['\"]?\s*[:=]\s*['\"]?(?!/)[A-Za-z0-9+_-]{12,}", text), "a literal secret"
    if path.name == "Dockerfile":
        return
    pairs = list(env_pairs(load(path)))
    assert pairs or path.name.endswith(EVENTBRIDGE_SUFFIXES)  # a schedule's rule and targets run no container themselves
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
    monitoring = (dbtools.ROOT / "docs" / "deployment" / "monitoring.md").read_text()
    for path in ALL_FILES:
        assert path.relative_to(DEPLOY).as_posix() in (docs if path in platform_files() else monitoring), path
    assert " ".join(PRE_DEPLOY) in docs and " ".join(POST_DEPLOY) in docs


# --- Every file against its platform's own schema, offline ------------------------------------------

VENV_BIN = Path(sys.executable).parent


def kind_of(path):
    """Which platform schema a deploy file answers to."""
    relative = path.relative_to(DEPLOY).as_posix()
    if relative.startswith("kubernetes/"):
        return "kubernetes"
    if relative.endswith("-rule.json"):
        return "PutRule"
    if relative.endswith("-targets.json"):
        return "PutTargets"
    if relative.startswith("ecs/"):
        return "RegisterTaskDefinition"
    if relative == "docker-compose.yml":
        return "compose"
    raise AssertionError(f"no schema known for {relative}")


def botocore_problems(operation, params):
    """botocore's own validation of ``params`` as the input of ``operation`` (its bundled service model)."""
    import botocore.session
    from botocore.validate import ParamValidator

    service = "ecs" if operation == "RegisterTaskDefinition" else "events"
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    return report.generate_report() if report.has_errors() else ""


def platform_check(path, kind=None):
    """(passed, output) of the platform's validator on ``path``, run as an operator runs it."""
    kind = kind or kind_of(path)
    if kind in ("kubernetes", "compose"):
        command = ([str(VENV_BIN / "kubernetes-validate"), "--strict", "--quiet", str(path)] if kind == "kubernetes"
                   else [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)])
        ran = subprocess.run(command, capture_output=True, text=True, timeout=120)
        return ran.returncode == 0, ran.stdout + ran.stderr
    problems = botocore_problems(kind, json.loads(path.read_text()))
    return not problems, problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_file_is_valid_against_its_platforms_schema(path):
    passed, output = platform_check(path)
    assert passed, output


@pytest.mark.parametrize("path", [
    DEPLOY / "kubernetes/verify-schema-cronjob.yaml", DEPLOY / "ecs/verify-schema-task-definition.json",
    DEPLOY / "ecs/verify-schema-rule.json", DEPLOY / "ecs/verify-schema-targets.json", DEPLOY / "docker-compose.yml",
], ids=kind_of)
def test_each_validator_refuses_a_misspelt_field(path, tmp_path):
    """The checks above have teeth: one unknown field (a typo an orchestrator would ignore or refuse) fails."""
    broken = tmp_path / path.name
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        (data["containerDefinitions"][0] if "containerDefinitions" in data else data["Targets"][0] if "Targets" in data else data)["Commmand"] = "x"
        broken.write_text(json.dumps(data))
    else:
        docs = load(path)
        if kind_of(path) == "compose":
            docs[0]["services"]["verify-schema"]["restart_policy"] = "no"
        else:
            docs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["comand"] = ["x"]
        broken.write_text(yaml.safe_dump_all(docs))
    passed, output = platform_check(broken, kind_of(path))
    assert not passed, output


# --- The scheduled checks: the same command lines, image and secrets as the migrate jobs ------------

def scheduled_docs(platform):
    return [doc for name in SCHEDULED[platform] for doc in load(DEPLOY / name)]


def containers_running(docs, program):
    """Each container (or compose service) whose command starts with ``program``."""
    return [node for doc in docs for node in walk(doc)
            if isinstance(node.get("command"), list) and node["command"][: len(program)] == program]


def without_command(container):
    return {key: value for key, value in container.items() if key not in ("command", "name")}


@pytest.mark.parametrize("platform", SCHEDULED)
def test_every_platform_schedules_both_checks_with_the_same_command_lines(platform):
    docs = scheduled_docs(platform)
    scheduled = sorted(c["command"] for c in containers_running(docs, ["python", "manage.py"])
                       if c["command"][2].startswith("verify_"))
    assert scheduled == VERIFY_COMMANDS
    assert [c["command"] for c in containers_running(docs, MAINTAIN_COMMAND)] == [MAINTAIN_COMMAND]


@pytest.mark.parametrize("platform", SCHEDULED)
def test_scheduled_checks_run_as_the_migrate_jobs_do(platform):
    """Same image (or build), same environment, same secrets: only the command differs."""
    [migrate, *_] = containers_running(platform_docs(platform), MIGRATE)
    checks = [c for c in containers_running(scheduled_docs(platform), ["python", "manage.py"])
              if c["command"] in SCHEDULES.values()]
    assert len(checks) == len(SCHEDULES)
    for check in checks:
        shared = without_command(migrate)
        mine = without_command(check)
        if platform == "compose":
            mine.pop("profiles")  # they start from cron, never with `up`
        if platform == "ecs":  # each task logs under its own prefix
            for container in (shared, mine):
                container["logConfiguration"] = {**container["logConfiguration"], "options": {
                    k: v for k, v in container["logConfiguration"]["options"].items() if k != "awslogs-stream-prefix"}}
        assert mine == shared, check["command"]


def test_kubernetes_cronjobs_mount_the_secrets_of_the_migrate_job_and_never_overlap():
    [job] = load(DEPLOY / "kubernetes" / "migrate-pre-deploy-job.yaml")
    for name in SCHEDULED["kubernetes"]:
        [cron] = load(DEPLOY / name)
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["volumes"] == job["spec"]["template"]["spec"]["volumes"]
        assert pod["securityContext"] == job["spec"]["template"]["spec"]["securityContext"]
        assert pod["restartPolicy"] == "Never" and cron["spec"]["concurrencyPolicy"] == "Forbid"
        [rule] = cron["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
        # Exit 1 is a verdict (recorded) or a refusal: retrying finds it again. Exit 2 (could not run) is retried.
        assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [1]


def cron_fields(expression):
    """(minute, hour) of a crontab line or an EventBridge ``cron(...)`` expression."""
    return tuple(expression.removeprefix("cron(").removesuffix(")").split()[:2])


def test_the_schedules_agree_across_platforms():
    compose_header = (DEPLOY / "docker-compose.yml").read_text()
    for check in SCHEDULES:
        [cron] = load(DEPLOY / "kubernetes" / f"{check}-cronjob.yaml")
        [rule] = load(DEPLOY / "ecs" / f"{check}-rule.json")
        [targets] = load(DEPLOY / "ecs" / f"{check}-targets.json")
        [task] = load(DEPLOY / "ecs" / f"{check}-task-definition.json")
        assert cron_fields(cron["spec"]["schedule"]) == cron_fields(rule["ScheduleExpression"])
        assert cron["spec"]["timeZone"] == "Etc/UTC"  # EventBridge's cron() is UTC
        assert targets["Rule"] == rule["Name"]
        [target] = targets["Targets"]
        assert target["EcsParameters"]["TaskDefinitionArn"].rsplit("/", 1)[1] == task["family"]
        minute, hour = cron_fields(cron["spec"]["schedule"])
        assert re.search(rf"^#\s+{re.escape(minute)} {re.escape(hour)} \* \* \*\s+docker compose .* --profile \w+ run --rm {check}$",
                         compose_header, re.M), f"the compose file's crontab line for {check}"


@pytest.mark.parametrize("command", VERIFY_COMMANDS, ids=lambda c: c[2])
def test_scheduled_command_runs_and_records_its_verdict(command, migrated_db):
    """The command line of every platform's schedule, as the job runs it, on a migrated database."""
    result = manage(*command[2:], database=migrated_db)
    assert result.returncode == 0, result.stdout + result.stderr
    action = "schema.verify" if command[2] == "verify_schema" else "rollups.verify"
    [[count]] = dbtools.execute(migrated_db, "SELECT count(*) FROM audit_logs WHERE action = %s", [action])
    assert count == 1


def test_scheduled_maintenance_runs_as_the_job_runs_it(migrated_db):
    """The partitions' upkeep, the command line of every platform's schedule, on a migrated database."""
    result = manage(*MAINTAIN_COMMAND[2:], database=migrated_db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "months after the current one" in result.stdout and "Traceback" not in result.stderr
