"""Django's migration graph, read for the other modules: the project state
at a node, and how far a database has come along the graph.

Read-only: Django's recorder is only read.
"""

from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.recorder import MigrationRecorder

from ecomind_core.db.tables import table_exists
from ecomind_core.migration_safety.stages import split_unapplied

#: The apps whose tables EcoMind owns (errors in verify_schema, not warnings).
OWNED_APPS = ("ecomind_core",)


def applied_migrations(connection):
    """``{(app, name): record}`` from ``django_migrations`` ({} when it does not exist)."""
    recorder = MigrationRecorder(connection)
    if not table_exists(connection, recorder.Migration._meta.db_table):
        return {}
    return {(record.app, record.name): record for record in recorder.migration_qs}


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


def parse_target(loader, text):
    """``"APP.MIGRATION"`` (a unique prefix will do) or ``"APP.zero"`` as ``(app, name)``, name None for zero.

    Raises ValueError with a message for the operator.
    """
    app, _, name = (text or "").partition(".")
    if not name or app not in loader.migrated_apps:
        raise ValueError(f"{text!r}: name a migration as APP.MIGRATION (e.g. {OWNED_APPS[0]}.0004), or APP.zero")
    if name == "zero":
        return app, None
    try:
        return app, loader.get_migration_by_prefix(app, name).name
    except AmbiguityError:
        raise ValueError(f"{text!r} matches more than one migration of {app}: give more of its name") from None
    except KeyError:
        raise ValueError(f"{text!r}: {app} has no migration {name!r} (`manage.py showmigrations {app}`)") from None


def nodes_at(graph, target):
    """Every migration on disk that stays applied when ``target`` (``(app, name)``, name None: zero) is
    the newest applied of its app: what ``rollback --to`` leaves, for ``verify_schema --at``."""
    app, name = target
    later = {node for node in graph.nodes if node[0] == app and (name is None or (
        node != target and target in graph.forwards_plan(node)))}
    gone = set().union(*(graph.backwards_plan(node) for node in later))
    return sorted(set(graph.nodes) - gone)


def owned_tables(state_apps):
    """The tables of :data:`OWNED_APPS`' managed models in a migration state."""
    return {
        model._meta.db_table
        for model in state_apps.get_models(include_auto_created=True)
        if model._meta.app_label in OWNED_APPS and model._meta.managed and not model._meta.proxy
    }
