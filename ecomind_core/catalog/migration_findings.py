"""Findings about the migration state: unapplied, unknown and unmigrated changes.

The loader comes from ``migration_safety.graph``; this module only turns
what it says into findings for the catalog report.
"""

from django.apps import apps as installed_apps
from django.db import DatabaseError
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from ecomind_core.migration_safety.graph import applied_migrations, state_at
from ecomind_core.migration_safety.stages import split_unapplied

from .findings import ERROR, finding


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


def _severity(app_label):
    # Every installed application's migrations build tables that are checked as errors
    # (catalog.migrated_tables): an unapplied one is as much drift as a missing table.
    return ERROR


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


def findings_at(loader, nodes):
    """``verify_schema --at``: which migrations are applied against the ``nodes`` that should be."""
    if loader.applied_migrations is None:
        return []
    applied, wanted = set(loader.applied_migrations), set(nodes)
    findings = [
        finding("migration_unapplied", f"{app}.{name}", "applied", "not applied", severity=_severity(app))
        for app, name in sorted(wanted - applied)
    ]
    findings += [
        finding("migration_beyond_target", f"{app}.{name}", "not applied", "applied", severity=_severity(app))
        for app, name in sorted((applied - wanted) & set(loader.graph.nodes))
    ]
    return findings
