"""Carry on after a lost connection: to read the catalog or write an audit row once a migration failed.

When a migration's backend is terminated (a failover, ``pg_terminate_backend``),
Django's connection object still holds the dead session; every later query
fails. Closing it makes the next query open a new one.
"""

from django.db import DatabaseError, InterfaceError


def reopen_if_lost(connection):
    """Close ``connection`` if its session is gone, so that the next query connects again."""
    if connection.connection is None or connection.in_atomic_block:
        return
    try:
        usable = connection.is_usable()
    except (DatabaseError, InterfaceError):
        usable = False
    if not usable:
        connection.close()
