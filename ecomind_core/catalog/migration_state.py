"""What the migrations say: the expected project state, and how far the
database has come along them. Read-only: Django's recorder is only read.
"""

from django.apps import apps as installed_apps
from django.db import DatabaseError
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from ecomind_core.migration_stages import split_unapplied

from .findings import ERROR, WARNING, finding

OWNED_APPS = ("ecomind_core",)


#: Whether the recorder's table exists, by one lookup (Django's recorder lists
#: every table of the schema to find out, which grows with the database).
RECORDER_TABLE_EXISTS = {
    "postgresql": "SELECT to_regclass(%s) IS NOT NULL",
    "sqlite": "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s)",
}


def applied_migrations(connection):
    """``{(app, name): record}`` from ``django_migrations`` ({} when it does not exist)."""
    recorder = MigrationRecorder(connection)
    table = recorder.Migration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(RECORDER_TABLE_EXISTS[connection.vendor],
                       [connection.ops.quote_name(table) if connection.vendor == "postgresql" else table])
        if not cursor.fetchone()[0]:
            return {}
    return {(record.app, record.name): record for record in recorder.migration_qs}


def load(connection):
    """A loader that knows the migrations on disk; applied ones if readable.

    Returns ``(loader, problem)``: ``problem`` is a Finding when
    ``django_migrations`` exists but cannot be read (a catalog-only role).
    (The project has no squashed migrations; the graph is the one on disk.)
    """
    loader = MigrationLoader(None, ignore_no_migrations=True)
    try:
        loader.applied_migrations = applied_migrations(connection)
        return loader, None
    except DatabaseError as exc:
        loader.applied_migrations = None  # unknown, not "none applied"
        problem = finding("migration_state_unreadable", "django_migrations", "readable", " ".join(str(exc).split()))
        return loader, problem


def state_at(loader, nodes=None):
    """The project state after ``nodes`` (default: every migration on disk)."""
    return loader.project_state(nodes or loader.graph.leaf_nodes(), at_end=True)


def expected_nodes(loader):
    """The migrations the database should reflect now: all of them, unless only post-deploy ones are pending.

    Between ``migrate --pre-deploy`` and the post-deploy ``migrate``, the
    database rightly still has what the post-deploy migrations will drop:
    it is checked against the migrations applied so far.
    """
    if loader.applied_migrations is None:
        return None
    before, after = split_unapplied(loader)
    if after and not before:
        return sorted(loader.applied_migrations)
    return None


def owned_tables(state_apps):
    return {
        model._meta.db_table
        for model in state_apps.get_models(include_auto_created=True)
        if model._meta.app_label in OWNED_APPS and model._meta.managed and not model._meta.proxy
    }


def _severity(app_label):
    return ERROR if app_label in OWNED_APPS else WARNING


def migration_findings(connection, loader):
    """Unapplied migrations, recorded-but-missing ones, and unmigrated model changes."""
    findings = []
    if loader.applied_migrations is not None:
        before, after = split_unapplied(loader)
        only_post_deploy = after and not before
        for app_label, name in before + after:
            if only_post_deploy:
                findings.append(finding(
                    "migration_post_deploy_pending", f"{app_label}.{name}", "applied after the rollout", "not applied yet",
                ))
            else:
                findings.append(finding(
                    "migration_unapplied", f"{app_label}.{name}", "applied", "not applied", severity=_severity(app_label),
                ))
        for app_label, name in sorted(set(loader.applied_migrations) - set(loader.graph.nodes)):
            if app_label in loader.migrated_apps:
                findings.append(finding(
                    "migration_unknown", f"{app_label}.{name}", "on disk", "recorded in django_migrations only",
                    severity=_severity(app_label),
                ))
    changes = MigrationAutodetector(state_at(loader), ProjectState.from_apps(installed_apps)).changes(graph=loader.graph)
    for app_label, migrations in sorted(changes.items()):
        operations = "; ".join(op.describe() for m in migrations for op in m.operations)
        findings.append(finding(
            "models_unmigrated", app_label, "models match the migrations", operations, severity=_severity(app_label),
        ))
    return findings
