"""Run the production server as the image does, and call it as orchestrators do.

The command is a deploy file's (deploy/Dockerfile's CMD by default): gunicorn
from this virtualenv, bound to 127.0.0.1 on a port the kernel picks. The
environment is production's: DEBUG off, the HTTPS redirect on, and
``ALLOWED_HOSTS`` the public name only. Requests are plain HTTP with the
``Host`` a kubelet or ECS agent sends: the container's IP and port.
"""

import http.client
import json
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests import dbtools

PUBLIC_HOST = "ecomind.example.com"
POD_HOST = "10.1.2.3:8000"  # a pod's IP: never in ALLOWED_HOSTS
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def dockerfile_command():
    """deploy/Dockerfile's CMD (exec form)."""
    for line in (dbtools.ROOT / "deploy" / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return json.loads(line.removeprefix("CMD "))
    raise AssertionError("deploy/Dockerfile has no CMD")


def local_command(command, port=None):
    """A deploy file's command run from this checkout: its python/gunicorn, and a local bind."""
    programs = {"python": sys.executable, "gunicorn": str(Path(sys.executable).parent / "gunicorn")}
    local = [programs.get(command[0], command[0]), *command[1:]]
    if "--bind" in local:
        local[local.index("--bind") + 1] = "127.0.0.1:0"
    if port is not None:  # a probe-calling health check: point it at the test server
        local += ["--port", str(port)]
    return local


def production_env(database_url, **extra):
    """What a production container gets, with ``extra`` (None removes a variable)."""
    return dbtools.manage_env({
        "DEBUG": "false", "SECRET_KEY": "tests-only-production-key", "ALLOWED_HOSTS": PUBLIC_HOST,
        "SECURE_SSL_REDIRECT": None, "DATABASE_URL": database_url, **extra,
    })


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    port: int
    log: Path

    def get(self, path, host=POD_HOST, method="GET", timeout=10):
        """One plain-HTTP request, as a probe sends it (no X-Forwarded-Proto)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        started = time.monotonic()
        try:
            connection.request(method, path, headers={"Host": host})
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        return Response(response.status, dict(response.getheaders()), body, time.monotonic() - started)


@contextmanager
def production_server(env, log, command=None, startup=60):
    """Start the server; yield a :class:`Server` once it answers ``/healthz``; stop it."""
    with open(log, "w") as output:
        process = subprocess.Popen(
            local_command(command or dockerfile_command()), cwd=dbtools.ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_until_serving(process, Path(log), startup)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(process, log, startup):
    deadline = time.monotonic() + startup
    server = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        found = LISTENING.search(log.read_text())
        if found and server is None:
            server = Server(int(found.group(1)), log)
        if server is not None:
            try:
                if server.get("/healthz", timeout=5).status == 200:
                    return server
            except OSError:
                pass  # no worker has booted yet
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer /healthz within {startup}s:\n{log.read_text()}")
