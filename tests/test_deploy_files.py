"""Every deployment file parses, runs the documented command, and holds no secret."""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests import dbtools
from tests.dbtools import manage

DEPLOY = dbtools.ROOT / "deploy"
DOCUMENTED = ["python", "manage.py", "migrate", "--no-input"]
SECRET_NAMES = {"SECRET_KEY", "DATABASE_PASSWORD"}
PASSWORD_IN_URL = re.compile(r"\w+://[^/\s:@]+:[^@\s/]+@")


def load(path):
    text = path.read_text()
    if path.suffix == ".json":
        return [json.loads(text)]
    return [doc for doc in yaml.safe_load_all(text) if doc]


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def migrate_commands(docs):
    return [
        node["command"] for doc in docs for node in walk(doc)
        if isinstance(node.get("command"), list) and node["command"][:3] == DOCUMENTED[:3]
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


def test_every_pattern_has_a_file():
    names = {p.relative_to(DEPLOY).as_posix() for p in FILES}
    assert {"docker-compose.yml", "kubernetes/migrate-job.yaml", "kubernetes/deployment-init-container.yaml",
            "ecs/migrate-task-definition.json"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_runs_the_documented_migrate_command(path, scratch_db):
    commands = migrate_commands(load(path))
    assert commands, f"{path.name} runs no migrate"
    for command in commands:
        assert command[:4] == DOCUMENTED
        result = manage(*command[2:], database=scratch_db)
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


def test_compose_app_waits_for_the_one_shot_migrate():
    [compose] = load(DEPLOY / "docker-compose.yml")
    services = compose["services"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["restart"] == "no"
    assert all(Path(secret["file"]).parts[0] == "secrets" for secret in compose["secrets"].values())
