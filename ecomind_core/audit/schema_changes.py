"""Audit rows for schema changes: who changed the production schema, when, and from which state to which.

``migrate`` and ``rollback`` write one row per migration they apply or
unapply (``schema.migrate`` / ``schema.rollback``), including a migration
that failed (written after its rollback); ``baseline`` writes its own
(``schema.baseline``, ``schema.baseline_undo``); ``migrate --allow-drift``
writes ``schema.drift_allowed`` with the findings it went past. Each row
says who ran it: the OS user, the host (a pod's name on Kubernetes), and a
job id where the platform sets one.

Rows are written as each migration ends, in a transaction of their own, so
a run killed later keeps the rows of what it finished. A migration that runs
before ``audit_logs`` exists (the first ``migrate`` of a new database) is
written as soon as the table is there, at the latest when the run ends.
Writing a row never holds the run up: it waits at most
:data:`WRITE_LOCK_TIMEOUT` for ``audit_logs`` (a long transaction may hold
it, the very one a failed migration waited for); a row that cannot be
written then (or a rollback that dropped ``audit_logs`` itself) is printed
by the command instead, so the job's log keeps it.
"""

import datetime
import getpass
import json
import os
import socket
import time
import uuid

from django.db import DatabaseError, InterfaceError, connections, transaction

from ecomind_core.audit.records import BASELINE, BASELINE_UNDO, SYSTEM_ORG
from ecomind_core.db.tables import table_exists
from ecomind_core.models import AuditLog

MIGRATE, ROLLBACK = "schema.migrate", "schema.rollback"
DRIFT_ALLOWED = "schema.drift_allowed"
#: Every schema action: the audit log's "Schema changes" filter.
ACTIONS = (MIGRATE, ROLLBACK, BASELINE, BASELINE_UNDO, DRIFT_ALLOWED)
RESOURCE = "database"
#: The longest an audit row waits for audit_logs' lock.
WRITE_LOCK_TIMEOUT = "1s"
#: Where platforms name the job a process runs in, first found wins. ECOMIND_JOB_ID is ours, for any
#: platform (the Kubernetes jobs set it from the job-name label); the others are set by CI systems.
JOB_ID_VARIABLES = ("ECOMIND_JOB_ID", "GITHUB_RUN_ID", "CI_JOB_ID", "BUILD_ID", "ECS_CONTAINER_METADATA_URI_V4")


def actor():
    """Who runs this process: OS user, host, and the platform's job id (None where none is set)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    job = next(((name, os.environ[name]) for name in JOB_ID_VARIABLES if os.environ.get(name)), None)
    return {"os_user": user, "host": socket.gethostname(), "job_id": f"{job[0]}={job[1]}" if job else None}


class SchemaChangeLog:
    """One run's audit rows, written as each migration ends (or kept until ``audit_logs`` exists)."""

    def __init__(self, using, action, command):
        self.using, self.action = using, action
        self.common = {"run": uuid.uuid4().hex[:12], "command": command, "actor": actor()}
        self.pending, self.written, self.started = [], 0, None

    def start(self, action):
        """A migration starts: applied (``MIGRATE``) or unapplied (``ROLLBACK``)."""
        self.action, self.started = action, time.monotonic()

    def finished(self, migration, stage, outcome, **details):
        """Record ``migration`` (``app.name``) as ``outcome`` ("applied", "unapplied", "faked", "failed")."""
        duration = round((time.monotonic() - self.started) * 1000) if self.started else None
        self.started = None
        self.pending.append({
            "action": self.action, "migration": migration, "stage": stage, "outcome": outcome,
            "duration_ms": duration, **details, **self.common,
        })
        self.try_flush()

    def note(self, action, **details):
        """A row of another schema action in this run (``DRIFT_ALLOWED``)."""
        self.pending.append({"action": action, **details, **self.common})
        self.try_flush()

    def try_flush(self):
        """``flush``, keeping the rows for later if it cannot: a migration never fails for its audit row."""
        try:
            self.flush()
        except (DatabaseError, InterfaceError):
            pass

    def flush(self):
        """Write what is pending if ``audit_logs`` exists (waiting at most WRITE_LOCK_TIMEOUT for it)."""
        connection = connections[self.using]
        if not self.pending or not table_exists(connection, AuditLog._meta.db_table):
            return
        now = datetime.datetime.now(datetime.UTC)
        rows = [
            AuditLog(org_id=SYSTEM_ORG, action=details["action"], resource=RESOURCE,
                     details={k: v for k, v in details.items() if k != "action"}, ts=now)
            for details in self.pending
        ]
        with transaction.atomic(using=self.using):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{WRITE_LOCK_TIMEOUT}'")
            AuditLog.objects.using(self.using).bulk_create(rows)
        self.written += len(rows)
        self.pending = []

    def unwritten(self):
        """The rows that could not be written, one JSON text each (for the command to print)."""
        return [json.dumps(details, sort_keys=True, default=str) for details in self.pending]
