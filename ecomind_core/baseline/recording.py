"""Record (or remove) a baseline in one transaction: all of it, or nothing.

The baseline first locks the tables it adopts against DDL (``SHARE UPDATE
EXCLUSIVE``: the worker's inserts and upserts go on, every ``ALTER TABLE``,
``CREATE INDEX``, ``CREATE RULE`` or trigger change waits for the commit),
then renames case-only enum labels when asked, proves the catalog again,
records the initial migrations with Django's own ``--fake-initial`` machinery
(``MigrationExecutor.migrate(fake_initial=True)``) and writes one audit row:
nothing can change the tables between the proof and the commit. No row of
data is read or rewritten: renaming an enum label changes only ``pg_enum``,
never the rows that use it.
"""

import datetime
import json

from django.db import transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from psycopg import sql

from ecomind_core import catalog
from ecomind_core.audit.records import BASELINE, BASELINE_UNDO, SYSTEM_ORG
from ecomind_core.db.lock_timeout import ddl_lock_timeout

from .inspection import APP, prove


class BaselineRefused(Exception):
    """The baseline cannot go on; the transaction has been rolled back."""


def _rename_labels(connection, renames):
    with connection.cursor() as cursor:
        for enum, old, new in renames:
            cursor.execute(
                sql.SQL("ALTER TYPE {} RENAME VALUE {} TO {}").format(sql.Identifier(enum), sql.Literal(old), sql.Literal(new))
            )


def _audit(state_apps, using, action, details):
    AuditLog = state_apps.get_model(APP, "AuditLog")
    return AuditLog.objects.using(using).create(
        org_id=SYSTEM_ORG, user_id=None, action=action, resource="database",
        details=details, ts=datetime.datetime.now(datetime.UTC),
    )


def _lock_against_ddl(connection, tables):
    """Hold every ``tables`` against schema changes until the transaction ends; writes go on."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("LOCK TABLE {} IN SHARE UPDATE EXCLUSIVE MODE").format(
                sql.SQL(", ").join(sql.Identifier(table) for table in sorted(tables))
            )
        )


def record_baseline(connection, inspection, *, rename_labels, target_description, actor, lock_timeout=None):
    """Record ``inspection.migrations`` as applied. Returns the audit details.

    ``lock_timeout`` bounds the wait for the table locks (a long transaction
    holding a table): past it, the database error is raised and nothing is written.
    """
    using = connection.alias
    created_recorder_table = not MigrationRecorder(connection).has_table()
    with transaction.atomic(using=using), ddl_lock_timeout(lock_timeout, using=using):
        _lock_against_ddl(connection, inspection.owned_tables)
        if inspection.label_renames:
            if not rename_labels:
                raise BaselineRefused("enum labels differ in case; re-run with --rename-enum-labels")
            _rename_labels(connection, inspection.label_renames)

        executor = MigrationExecutor(connection)
        target = (APP, inspection.target)
        state_apps = catalog.state_at(executor.loader, [target]).apps
        # Prove it again inside the transaction, after any renames and under
        # the lock: nothing may have changed since the inspection.
        findings, _ = prove(connection, executor.loader, inspection.proof_nodes or [target])
        blocking = [f for f in findings if f.severity == catalog.ERROR]
        if blocking:
            raise BaselineRefused(f"the catalog changed since it was inspected ({len(blocking)} differences)")

        run_for_real = []

        def progress(action, migration=None, fake=False):
            if action == "apply_success" and not fake:
                run_for_real.append(migration.name)

        executor.progress_callback = progress
        executor.migrate([target], fake_initial=True)
        if run_for_real:
            # --fake-initial found something missing and ran DDL: not a baseline.
            raise BaselineRefused(f"Django would have run {', '.join(run_for_real)} instead of recording it")

        details = {
            "shape": inspection.shape,
            "alembic_version": inspection.alembic_version,
            "migrations_recorded": [f"{APP}.{name}" for name in inspection.migrations],
            "labels_renamed": [{"type": e, "from": old, "to": new} for e, old, new in inspection.label_renames],
            "created_migration_table": created_recorder_table,
            "target": target_description,
            "by": f"{actor['os_user']}@{actor['host']}",
            "actor": actor,
        }
        _audit(state_apps, using, BASELINE, details)
    return details


def last_baseline(connection):
    """The details of the newest baseline audit row, or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT details::text FROM audit_logs WHERE action = %s AND resource = 'database' ORDER BY ts DESC, id DESC LIMIT 1",
            [BASELINE],
        )
        row = cursor.fetchone()

    return json.loads(row[0]) if row else None


def remove_baseline(connection, details, *, target_description, actor):
    """Remove exactly what the baseline in ``details`` recorded."""
    using = connection.alias
    recorded = [name.split(".", 1)[1] for name in details["migrations_recorded"]]
    with transaction.atomic(using=using):
        recorder = MigrationRecorder(connection)
        executor = MigrationExecutor(connection)
        state_apps = catalog.state_at(executor.loader, [(APP, recorded[-1])]).apps
        recorder.migration_qs.filter(app=APP, name__in=recorded).delete()
        renames = [(r["type"], r["to"], r["from"]) for r in details.get("labels_renamed", [])]
        _rename_labels(connection, renames)
        if details.get("created_migration_table") and not recorder.migration_qs.exists():
            with connection.schema_editor() as editor:
                editor.delete_model(recorder.Migration)
        _audit(state_apps, using, BASELINE_UNDO, {
            "migrations_removed": details["migrations_recorded"],
            "labels_restored": [{"type": e, "from": old, "to": new} for e, old, new in renames],
            "dropped_migration_table": bool(details.get("created_migration_table")) and not recorder.has_table(),
            "target": target_description,
            "by": f"{actor['os_user']}@{actor['host']}",
            "actor": actor,
        })
