"""Turn database failures into one-line command errors with documented codes."""

from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from ecomind_core.db.target import connection_problem, redact

#: Exit code: the command could not check (unreachable server, bad credentials...).
COULD_NOT_CHECK = 2


def connect_or_fail(using):
    """Open ``using`` now, so that an unreachable server fails first and cleanly."""
    try:
        connections[using].ensure_connection()
    except (OperationalError, InterfaceError) as exc:
        raise CommandError(connection_problem(exc, using), returncode=COULD_NOT_CHECK) from None


@contextmanager
def database_errors_as_command_errors(using, doing):
    """Any database error inside becomes ``CommandError`` (exit 2) naming ``doing``."""
    try:
        yield
    except DatabaseError as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise CommandError(redact(f"could not {doing}: {detail}", using), returncode=COULD_NOT_CHECK) from None
