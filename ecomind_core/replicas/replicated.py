"""Which models' reads may be served by a replica, derived from the models themselves.

A replica lags the primary by a moment. Its reads are safe only for tables
that the web application never changes and then reads back: the ones the
enrichment worker alone writes (``written_by_worker``: events_enriched and
the four daily tables) and the append-only audit trail (the ``APPEND_ONLY``
trigger: audit_logs). These are also the big tables the admin shows
read-only. Everything else (orgs, users, staff accounts, sessions, two-factor
devices, lockouts, the admin's own log, django_migrations) is read where it is
written. A new model joins the replicated set by carrying one of those two
marks, never by being named here.
"""

import functools


@functools.cache
def reads_from_replica(model):
    """True when reads of ``model`` may be served by the replica."""
    # Imported here: the router is loaded by Django's first query, which may
    # come before the app registry is ready (e.g. in a check).
    from ecomind_core.models import APPEND_ONLY

    if model._meta.app_label != "ecomind_core":
        return False
    return bool(getattr(model, "written_by_worker", False)) or APPEND_ONLY in getattr(model._meta, "triggers", ())
