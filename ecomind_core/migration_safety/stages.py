"""Which migrations must be applied before a release serves, and which wait until after.

Expand/contract, as django-syzygy stages it: a migration is *pre-deploy*
when the release still running keeps working after it (a new table, a
nullable column, an index), and *post-deploy* when it would break that
release (dropping or renaming what it reads or writes). ``migrate
--pre-deploy`` applies the pre-deploy ones before the rollout; plain
``migrate`` after the rollout applies the rest.

A migration's stage is syzygy's: declared (``stage = Stage.POST_DEPLOY``),
or inferred from its operations (``RemoveField`` and ``DeleteModel`` are
post-deploy; renames say their stage through syzygy's ``RenameField`` /
``RenameModel``, which ``makemigrations`` writes and ``check_migrations``
insists on).
"""

from syzygy.constants import Stage
from syzygy.exceptions import AmbiguousStage
from syzygy.plan import get_migration_stage

PRE_DEPLOY, POST_DEPLOY = Stage.PRE_DEPLOY, Stage.POST_DEPLOY


def migration_stage(migration):
    """``PRE_DEPLOY`` or ``POST_DEPLOY``; a migration of mixed stages counts as post-deploy."""
    try:
        return get_migration_stage(migration) or PRE_DEPLOY
    except AmbiguousStage:
        return POST_DEPLOY


def stage_name(migration):
    """``"pre_deploy"`` or ``"post_deploy"``: the stage as audit rows and metrics label it."""
    return "post_deploy" if migration_stage(migration) == POST_DEPLOY else "pre_deploy"


def unapplied_plan(loader):
    """Unapplied migrations in the order ``migrate`` applies them: ``[(app, name), ...]``."""
    plan = []
    for target in loader.graph.leaf_nodes():
        for node in loader.graph.forwards_plan(target):
            if node not in loader.applied_migrations and node not in plan:
                plan.append(node)
    return plan


def split_unapplied(loader):
    """``(before_serving, after_rollout)``: the unapplied migrations by when they run.

    Before serving: every unapplied pre-deploy migration, as syzygy's
    ``migrate --pre-deploy`` applies them. A pre-deploy migration that
    depends on an unapplied post-deploy one cannot be staged (``migrate
    --pre-deploy`` refuses the plan, ``check_migrations`` flags it): it
    still counts as needed before serving, so readiness stays false rather
    than a release serving without it.
    """
    before, after = [], []
    for node in unapplied_plan(loader):
        if migration_stage(loader.graph.nodes[node]) == POST_DEPLOY:
            after.append(node)
        else:
            before.append(node)
    return before, after


def unapplied_before_serving(loader):
    """Unapplied migrations this release needs before it serves, in order."""
    return split_unapplied(loader)[0]
