"""Which migrations must be applied before a release serves, and which wait until after.

Expand/contract: a migration is *pre-deploy* when the release still running
keeps working after it (adding a table, a nullable column, an index), and
*post-deploy* when it would break that release (dropping or renaming what it
reads or writes). ``migrate --pre-deploy`` applies the pre-deploy ones before
the rollout; plain ``migrate`` after the rollout applies the rest. A
migration may say its stage itself: ``stage = "post_deploy"``.
"""

from django.db.migrations import DeleteModel, RemoveField, RenameField, RenameModel

PRE_DEPLOY, POST_DEPLOY = "pre_deploy", "post_deploy"
#: Operations that break the release still running, whose code names what they remove.
CONTRACTING_OPERATIONS = (DeleteModel, RemoveField, RenameField, RenameModel)


def migration_stage(migration):
    """``PRE_DEPLOY`` or ``POST_DEPLOY`` for one migration."""
    declared = getattr(migration, "stage", None)
    if declared is not None:
        return str(getattr(declared, "value", declared))
    if any(isinstance(operation, CONTRACTING_OPERATIONS) for operation in migration.operations):
        return POST_DEPLOY
    return PRE_DEPLOY


def unapplied_before_serving(loader):
    """Unapplied migrations this release needs before it serves, in order: ``[(app, name), ...]``.

    Every unapplied pre-deploy migration, except one that depends on an
    unapplied post-deploy migration (it waits for that one).
    """
    needed, deferred = [], set()
    for target in loader.graph.leaf_nodes():
        for node in loader.graph.forwards_plan(target):
            if node in loader.applied_migrations or node in needed or node in deferred:
                continue
            parents = {parent.key for parent in loader.graph.node_map[node].parents}
            if migration_stage(loader.graph.nodes[node]) == POST_DEPLOY or parents & deferred:
                deferred.add(node)
            else:
                needed.append(node)
    return needed
