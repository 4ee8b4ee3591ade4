"""What production settings and the deploy files do about TLS to the database and the load balancer in front.

* ``check --deploy`` warns when the database is reached across a network
  without its certificate checked (not for loopback, a socket, a sidecar
  proxy on localhost), and when ``TRUSTED_PROXIES`` is not set.
* ``X-Forwarded-For`` from a peer that is not trusted is ignored, with one
  warning per peer naming the setting.
* The Kubernetes and ECS web definitions set ``TRUSTED_PROXIES`` to a
  placeholder the app refuses to start with, say why, reach the database
  with ``verify-full`` and the managed database's CA bundle, and use
  persistent connections; with the placeholder replaced and their secrets
  given, ``check --deploy`` passes.
"""

import logging

import pytest

from ecomind_core.signin import client_address as client_address_module
from ecomind_core.signin.client_address import client_address
from tests.dbtools import ROOT, manage
from tests.own_postgres import TestCA
from tests.test_deploy_files import DEPLOY, env_pairs, load

PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "x" * 20 + "-production-secret-key-0123456789-abcdefghij",
              "ALLOWED_HOSTS": "ecomind.example.com", "TRUSTED_PROXIES": "10.0.0.0/16"}
REMOTE = "postgres://ecomind:not-checked-here@db.internal:5432/ecomind"


@pytest.fixture(scope="module")
def ca_bundle(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca")).certificate


def deploy_check(env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, **env})
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("env", [
    {"DATABASE_URL": REMOTE},
    {"DATABASE_URL": REMOTE + "?sslmode=require"},
    {"DATABASE_URL": REMOTE + "?sslmode=prefer", "PGSSLMODE": "verify-full"},  # the URL's own wins, as libpq does
    {"DATABASE_URL": "postgres://ecomind@10.20.30.40/ecomind", "DATABASE_SSLMODE": "require"},
], ids=["libpq's default", "require", "prefer in the URL", "an address, require"])
def test_a_database_across_a_network_without_its_certificate_checked_is_a_warning(env):
    code, output = deploy_check(env)
    assert code == 1 and "ecomind.W001" in output and "does not check the server's certificate" in output
    assert "DATABASE_SSLMODE=verify-full" in output and "not-checked-here" not in output


@pytest.mark.parametrize("env", [
    {"DATABASE_URL": REMOTE + "?sslmode=verify-full&sslrootcert={ca}"},
    {"DATABASE_URL": REMOTE, "DATABASE_SSLMODE": "verify-full", "DATABASE_SSLROOTCERT_FILE": "{ca}"},
    {"DATABASE_URL": REMOTE, "DATABASE_SSLMODE": "verify-ca", "DATABASE_SSLROOTCERT_FILE": "{ca}"},
    {"DATABASE_URL": REMOTE, "PGSSLMODE": "verify-full", "PGSSLROOTCERT": "{ca}"},
    {"DATABASE_URL": "postgres://ecomind@127.0.0.1:5432/ecomind"},  # a sidecar proxy (Cloud SQL Auth Proxy, ...)
    {"DATABASE_URL": "postgres://ecomind@localhost:6432/ecomind"},
    {"DATABASE_URL": "postgres://ecomind@[::1]:5432/ecomind"},
    {"DATABASE_URL": "postgres://ecomind@/ecomind?host=/var/run/postgresql"},  # a Unix socket
    {"DATABASE_URL": None},  # the embedded SQLite file
], ids=["verify-full in the URL", "DATABASE_SSLMODE verify-full", "verify-ca", "libpq's PGSSLMODE", "127.0.0.1",
        "localhost", "::1", "a socket", "SQLite"])
def test_a_checked_certificate_or_a_local_database_is_quiet(env, ca_bundle):
    env = {name: value.format(ca=ca_bundle) if value else value for name, value in env.items()}
    code, output = deploy_check(env)
    assert code == 0, output


def test_production_settings_without_trusted_proxies_are_a_warning():
    code, output = deploy_check({"DATABASE_URL": None, "TRUSTED_PROXIES": None})
    assert code == 1 and "ecomind.W002" in output and "TRUSTED_PROXIES is not set" in output


def test_development_settings_are_quiet_about_both():
    result = manage("check", "--deploy", env={"DEBUG": "true", "DATABASE_URL": REMOTE, "TRUSTED_PROXIES": None})
    assert "ecomind.W001" not in result.stderr and "ecomind.W002" not in result.stderr


# -- X-Forwarded-For from a peer that is not trusted ---------------------------------------------------------------


@pytest.fixture
def warned(caplog):
    client_address_module._warned_peers.clear()
    with caplog.at_level(logging.WARNING, logger="ecomind_core.signin.client_address"):
        yield lambda: [r.getMessage() for r in caplog.records if r.name == "ecomind_core.signin.client_address"]
    client_address_module._warned_peers.clear()


def test_forwarded_for_from_an_untrusted_peer_is_one_warning_per_peer_naming_the_setting(rf, settings, warned):
    settings.TRUSTED_PROXIES = ["10.0.0.0/16"]
    for peer, forwarded in (("192.0.2.10", "203.0.113.5"), ("192.0.2.10", "198.51.100.7"), ("192.0.2.11", "203.0.113.5"),
                            ("10.0.0.2", "203.0.113.5"), ("192.0.2.12", None)):
        headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
        client_address(rf.get("/", REMOTE_ADDR=peer, **headers))
    messages = warned()
    assert len(messages) == 2, messages  # 192.0.2.10 once, 192.0.2.11 once; the trusted proxy and a plain client never
    assert all("TRUSTED_PROXIES" in message and "X-Forwarded-For" in message for message in messages)
    assert "192.0.2.10" in messages[0] and "192.0.2.11" in messages[1]


@pytest.mark.django_db
def test_a_sign_in_through_an_unlisted_balancer_says_so_once(client, settings, warned, django_user_model):
    settings.TRUSTED_PROXIES = []
    django_user_model.objects.create_user("alice", password="Corr3ct-horse-Staff", is_staff=True)
    for _ in range(3):
        client.post("/admin/login/", {"username": "alice", "password": "wr0ng"}, REMOTE_ADDR="10.0.0.9",
                    HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert len(warned()) == 1 and "10.0.0.9" in warned()[0]


# -- the deploy files ----------------------------------------------------------------------------------------------


WEB = {"kubernetes": "kubernetes/deployment.yaml", "ecs": "ecs/web-task-definition.json"}


def web_environment(platform):
    """The web container's literal variables (None: from a secret store), its ConfigMap's included."""
    docs = load(DEPLOY / WEB[platform])
    config_maps = [doc["data"] for doc in docs if doc.get("kind") == "ConfigMap"]
    return {**{k: v for data in config_maps for k, v in data.items()}, **dict(env_pairs(docs))}


@pytest.mark.parametrize("platform", WEB)
def test_the_web_definition_sets_trusted_proxies_to_a_placeholder_and_says_why(platform):
    placeholder = web_environment(platform)["TRUSTED_PROXIES"]
    assert placeholder.startswith("REPLACE")
    text = (DEPLOY / WEB[platform]).read_text()
    why = text[:text.index(placeholder)] if platform == "kubernetes" else placeholder  # JSON has no comments
    assert "X-Forwarded-For" in why[-600:] and "lock" in why[-600:]
    result = manage("check", env={**PRODUCTION, "TRUSTED_PROXIES": placeholder, "DATABASE_URL": None})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "TRUSTED_PROXIES still holds the deploy file's placeholder" in result.stderr


@pytest.mark.parametrize("platform", WEB)
def test_the_web_definition_uses_verify_full_with_the_ca_bundle_and_persistent_connections(platform):
    env = web_environment(platform)
    if platform == "kubernetes":
        assert env["DATABASE_SSLMODE"] == "verify-full"
        [deployment, _] = load(DEPLOY / WEB[platform])
        pod = deployment["spec"]["template"]["spec"]
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert env["DATABASE_SSLROOTCERT_FILE"].startswith(mounts["database-ca"] + "/")
        assert volumes["database-ca"]["configMap"]["name"] == "ecomind-database-ca"
        # The database URL as a mounted file (updated in place by the kubelet), not an env var (fixed at start).
        assert env["DATABASE_URL_FILE"].startswith(mounts["database-secret"] + "/") and "DATABASE_URL" not in env
        assert volumes["database-secret"]["secret"]["secretName"] == "ecomind-database"
        assert "subPath" not in str(pod)  # a subPath mount is never updated
    else:
        assert env["DATABASE_URL"].endswith("?sslmode=verify-full") and env["DATABASE_SSLROOTCERT"] is None
    assert env["CONN_MAX_AGE"] == "60" and env["CONN_HEALTH_CHECKS"] == "true"


@pytest.mark.parametrize("platform", WEB)
def test_the_web_definition_passes_check_deploy_once_its_placeholder_is_replaced(platform, tmp_path, ca_bundle):
    env = {name: value for name, value in web_environment(platform).items() if value is not None}
    env = {**env, "TRUSTED_PROXIES": "10.0.0.0/16", "SECRET_KEY": PRODUCTION["SECRET_KEY"]}
    if platform == "kubernetes":  # what the mounted Secret and ConfigMap hold
        (tmp_path / "url").write_text("postgres://ecomind:from-the-secret@ecomind-db.example.internal:5432/ecomind")
        env.update(DATABASE_URL_FILE=str(tmp_path / "url"), DATABASE_SSLROOTCERT_FILE=str(ca_bundle))
    else:  # what Secrets Manager and the SSM parameter hold
        env.update(DATABASE_PASSWORD="from-the-secret", DATABASE_SSLROOTCERT=ca_bundle.read_text())
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={"DATABASE_URL": None, **env})
    assert result.returncode == 0, result.stdout + result.stderr
    without_tls = {**env, "DATABASE_SSLMODE": "prefer"} if platform == "kubernetes" else {
        **env, "DATABASE_URL": env["DATABASE_URL"].replace("verify-full", "prefer")}
    assert "ecomind.W001" in manage("check", "--deploy", env={"DATABASE_URL": None, **without_tls}).stderr


def test_the_deployment_docs_say_what_each_file_needs():
    text = (ROOT / "docs" / "deployment" / "README.md").read_text()
    for needed in ("TRUSTED_PROXIES", "ecomind-database-ca", "verify-full", "REPLACE", "check --deploy"):
        assert needed in text, needed
