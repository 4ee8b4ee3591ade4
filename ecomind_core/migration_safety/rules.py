"""What makes a migration unsafe here: the linters' rules as configured for us, and our own.

Two well-kept linters read the SQL each operation runs
(``rendering.render``): django-migration-linter and squawk. Both were tried
against this project and flag the right operations; this module says which
of their rules do not apply to us, and adds what they cannot know: which
tables the enrichment worker writes (a column it names must never go), and
the expand/contract stages (a drop after the rollout is the contract step,
not an outage).
"""

import re
from dataclasses import dataclass

from django.apps import apps as installed_apps
from django.db.migrations import AddConstraint, AddField, AlterField, RenameField, RenameModel, RunPython, RunSQL
from django.db.models import UniqueConstraint

from ecomind_core.migration_safety.stages import POST_DEPLOY, migration_stage

#: django-migration-linter rules not applied. ADD_UNIQUE also fires on the
#: safe ``ADD CONSTRAINT ... UNIQUE USING INDEX`` after a concurrent build
#: (squawk's disallowed-unique-constraint tells the two apart).
LINTER_EXCLUDED = ("ADD_UNIQUE",)
#: squawk rules not applied, and why.
SQUAWK_EXCLUDED = {
    # migrate sets lock_timeout itself (--lock-timeout, MIGRATION_LOCK_TIMEOUT)
    # and statement_timeout would cut a long CREATE INDEX CONCURRENTLY short.
    "require-lock-timeout": "migrate sets lock_timeout",
    "require-statement-timeout": "migrate sets lock_timeout; builds may be long",
    "require-timeout-settings": "migrate sets lock_timeout",
    # Migrations are transactional, or idempotent where they cannot be (0003's
    # DROP INDEX CONCURRENTLY IF EXISTS before each CREATE INDEX CONCURRENTLY).
    "prefer-robust-stmts": "transactional, or idempotent by construction",
    # The legacy schema's types, kept on purpose (docs/schema.md).
    "prefer-bigint-over-int": "legacy integer columns",
    "prefer-bigint-over-smallint": "legacy integer columns",
    "prefer-identity": "application-made text ids",
    "prefer-text-field": "varchar without a length is text",
    "prefer-timestamptz": "naive UTC timestamps, as the legacy schema has",
}
#: Rules about removing or renaming what the previous release uses: the
#: contract step. After the rollout (a post-deploy migration) nothing uses
#: it any more, unless the enrichment worker writes the table.
CONTRACT_RULES = {
    "DROP_COLUMN", "DROP_TABLE", "RENAME_COLUMN", "RENAME_TABLE",
    "ban-drop-column", "ban-drop-table", "renaming-column", "renaming-table",
}

_TABLE = re.compile(r'\b(?:TABLE|ON|INTO)\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?"?([A-Za-z0-9_]+)"?', re.IGNORECASE)
_DROPS_OR_RENAMES = re.compile(r"\bDROP\s+(?:COLUMN|TABLE)\b|\bRENAME\b", re.IGNORECASE)
#: Statements that change existing rows or copy many: UPDATE, DELETE, INSERT ... SELECT (group 1: the table).
_CHANGES_ROWS = re.compile(r'^\s*(?:UPDATE\s+(?:ONLY\s+)?|DELETE\s+FROM\s+(?:ONLY\s+)?|INSERT\s+INTO\s+)"?([A-Za-z0-9_]+)"?',
                           re.IGNORECASE)
_SELECT = re.compile(r"\bSELECT\b", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    #: ``app.migration``.
    migration: str
    #: The operation's index in ``operations`` and what it does.
    operation: int
    description: str
    rule: str
    #: Whose rule: "django-migration-linter", "squawk" or "ecomind".
    source: str
    message: str


def worker_tables():
    """Tables the enrichment worker writes with plain SQL, naming every column (models say so)."""
    return {
        model._meta.db_table for model in installed_apps.get_models() if getattr(model, "written_by_worker", False)
    }


def statement_table(statement):
    match = _TABLE.search(statement)
    return match[1] if match else None


def own_rules(key, migration, rendered):
    """EcoMind's rules: the worker's columns, stages, reversibility, atomicity."""
    name = f"{key[0]}.{key[1]}"
    problems = []

    def problem(operation, rule, message):
        problems.append(Problem(name, operation.index, operation.operation.describe(), rule, "ecomind", message))

    worker = worker_tables()
    for operation in rendered:
        op = operation.operation
        for statement in operation.statements:
            if statement_table(statement) in worker and _DROPS_OR_RENAMES.search(statement):
                problem(operation, "worker-column-removed",
                        f"the enrichment worker names every column of {statement_table(statement)} in its INSERT: "
                        "dropping or renaming one breaks it, before or after the rollout")
                break
        if isinstance(op, (RenameField, RenameModel)) and getattr(op, "stage", None) is None:
            problem(operation, "stage-undeclared",
                    "a rename breaks the release still running: use syzygy.operations.RenameField/RenameModel "
                    "with stage=Stage.POST_DEPLOY (what makemigrations writes), or add a field and backfill it")
        if not op.reversible or _irreversible_code(op):
            problem(operation, "irreversible", "every migration must be reversible: give it a reverse")
        if _in_transaction(migration, op) and any(rows_changed_in(statement) in worker for statement in operation.statements):
            problem(operation, "backfill-in-transaction",
                    "it changes rows of a table the enrichment worker writes inside the migration's transaction: every "
                    "row it touches stays locked until the commit and the worker's upserts wait for all of it; use "
                    "ecomind_core.migration_safety.backfill.BatchedBackfill in a non-atomic migration (docs/deployment/migrations.md)")
        if operation.partitioned and _locks_a_partitioned_table(op):
            problem(operation, "partitioned-table-lock",
                    "PostgreSQL cannot add this to a partitioned table without a lock held for a scan of every partition "
                    "(no UNIQUE ... USING INDEX, no NOT VALID foreign key there): events and audit rows take neither; "
                    "if it must be, review it with its lock's length (docs/runbooks/partitioning.md)")
        if getattr(op, "requires_non_atomic", False) and migration.atomic:
            problem(operation, "needs-non-atomic",
                    "its statements must commit one by one to hold no lock for long: set atomic = False on the migration")
    return problems


def _locks_a_partitioned_table(op):
    """A unique constraint or a foreign key: on a partitioned table, neither can be added without a long lock."""
    if isinstance(op, AddConstraint):
        return isinstance(op.constraint, UniqueConstraint)
    if isinstance(op, (AddField, AlterField)):
        return bool(op.field.remote_field) or op.field.unique
    return False


def _in_transaction(migration, op):
    """Whether ``op`` runs inside a transaction that lasts until the migration (or the operation) ends.

    On PostgreSQL an atomic migration is one transaction whatever its
    operations say; in a non-atomic one only an operation forced atomic
    (``RunPython(atomic=True)``) gets a transaction of its own.
    """
    return bool(migration.atomic or getattr(op, "atomic", False) is True)


def _irreversible_code(op):
    if isinstance(op, RunPython):
        return op.reverse_code is None
    if isinstance(op, RunSQL):
        return op.reverse_sql is None
    return False


def rows_changed_in(statement):
    """The table whose rows ``statement`` changes (UPDATE, DELETE, INSERT ... SELECT), else None."""
    match = _CHANGES_ROWS.match(statement)
    if match is None or (statement.lstrip()[:6].upper() == "INSERT" and not _SELECT.search(statement)):
        return None
    return match[1]


def is_contract_step(migration, problem, statement):
    """A removal after the rollout, on a table the worker does not write: allowed."""
    return (
        problem.rule in CONTRACT_RULES
        and migration_stage(migration) == POST_DEPLOY
        and statement_table(statement or "") not in worker_tables()
    )
