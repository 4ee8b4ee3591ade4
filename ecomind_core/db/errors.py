"""Recognise PostgreSQL errors by SQLSTATE through Django's wrapping."""

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout (or NOWAIT) hit
DEADLOCK_DETECTED = "40P01"
DUPLICATE_TABLE = "42P07"


def sqlstate(exc):
    """The SQLSTATE of ``exc`` or of the driver error it wraps, else None."""
    while exc is not None:
        code = getattr(exc, "sqlstate", None)
        if code:
            return code
        exc = exc.__cause__
    return None
