"""The database router for a read replica: the admin's reads of the big read-only tables go to ``replica``.

Django's documented mechanism for replicas (``DATABASE_ROUTERS``), set by
ecomind/settings.py only when ``DATABASE_REPLICA_URL`` is. Rules:

* reads of the replicated models (``replicated.py``) go to the replica,
  except inside a transaction open on the primary: what that transaction
  wrote (an audit row, say) is on the primary only, and a transaction must
  read one snapshot, not two;
* every other read, every write and every migration stays on the primary;
  a row read from the replica is saved to the primary (Django would
  otherwise write it back where it came from, a read-only standby).

Code that names its database (``using=``, ``connections[alias]``, the
management commands' ``--database``) is never routed: Django consults
routers only when no database is named.
"""

from django.db import DEFAULT_DB_ALIAS, connections

from .replicated import reads_from_replica

#: The alias ecomind/settings.py gives DATABASE_REPLICA_URL.
REPLICA = "replica"
#: Two aliases of the same data: objects from either may be related.
SAME_DATA = {DEFAULT_DB_ALIAS, REPLICA}


def replica_configured():
    return REPLICA in connections.settings


class AdminReadsToReplica:
    def db_for_read(self, model, **hints):
        if not replica_configured():
            return None
        if not reads_from_replica(model) or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            # Said explicitly: with no router's answer Django reads where a related
            # instance came from, which could be the replica.
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS if replica_configured() else None

    def allow_relation(self, obj1, obj2, **hints):
        if replica_configured() and {obj1._state.db, obj2._state.db} <= SAME_DATA:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica gets its schema by replication; migrations run on the primary only.
        if not replica_configured():
            return None
        return db == DEFAULT_DB_ALIAS
