"""Run a command on many altered clones of one database, fast and for real.

A command runs as ``manage.py`` runs it (exit code from SystemExit or
CommandError.returncode), on one ``--database`` alias per clone, in one
long-lived process: Django's start-up would otherwise be most of the cost.
Clones are made a few at a time in threads (see the drift tests).
"""

import json
import subprocess
import sys
import threading
import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

from tests import dbtools


@dataclass(frozen=True)
class Drift:
    sql: str
    #: The finding kind that must name the drift; None: a harmless change, no finding at all.
    kind: str | None = None
    object: str | None = None
    severity: str = "error"
    #: Other tables the drift legitimately reaches (a cascade, an object moved between tables).
    also: tuple = ()
    #: False: the alteration needs what only a migrated database has (the append-only trigger).
    on_legacy: bool = True
    #: True: on the legacy side, a legacy database on which Django's, axes' and otp's migrations
    #: were applied before (the alteration is on one of their tables).
    legacy_with_apps: bool = False
    #: On a migrated database, where events_enriched and audit_logs are partitioned, the same harm
    #: done the way it can be done there (to a partition, or with the partition key), and what it names.
    partitioned_sql: str | None = None
    partitioned_object: str | None = None
    partitioned_kind: str | None = None

    def on_partitioned(self):
        """This drift as made on a migrated (partitioned) database."""
        if self.partitioned_sql is None:
            return self
        return dataclasses.replace(self, sql=self.partitioned_sql, object=self.partitioned_object or self.object,
                                   kind=self.partitioned_kind or self.kind)


RUNNER = """
import io, json, sys
import django
django.setup()
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

for line in sys.stdin:
    request = json.loads(line)
    connections.settings["drift"] = {**connections.settings["default"], "NAME": request["database"]}
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*request["command"], "--database", "drift", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    finally:
        connections["drift"].close()
        del connections["drift"]
    print(json.dumps({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}), flush=True)
"""

VERIFY_JSON = ("verify_schema", "--format", "json")


class Runner:
    """One long-lived Django process running commands on databases named per call."""

    def __init__(self, template):
        env = dbtools.manage_env({"DJANGO_SETTINGS_MODULE": "ecomind.settings"}, template)
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUNNER], cwd=dbtools.ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        self.lock = threading.Lock()

    def run(self, dbname, command=VERIFY_JSON):
        with self.lock:
            self.process.stdin.write(json.dumps({"database": dbname, "command": list(command)}) + "\n")
            self.process.stdin.flush()
            reply = self.process.stdout.readline()
        assert reply, "the runner process died"
        return SimpleNamespace(**json.loads(reply))

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


def check(template, runner, drift, command=VERIFY_JSON, observe=None):
    """Apply ``drift`` to a clone of ``template`` and run ``command`` on it.

    ``observe(clone)``, if given, is called before and after the command;
    its two results come back as ``before`` and ``after``.
    """
    clone = dbtools.clone_database(template, prefix="drift")
    try:
        dbtools.execute(clone, drift.sql)
        before = observe(clone) if observe else None
        result = runner.run(clone, command)
        result.before, result.after = before, observe(clone) if observe else None
        return result
    finally:
        dbtools.drop_database(clone)
