"""What every EcoMind command shares, the way django-pgtrigger's commands share one base.

* A bad flag is one line and exit 2 (argparse would print the whole usage
  block first; an operator reading a deploy log needs the one line).
* ``--database`` is checked before anything runs, and (unless a command opts
  out) the database is opened first, so an unreachable server fails before
  any work starts, with one line that names the server and never the password.
* Database errors during the work become one line with exit 2
  (:meth:`DatabaseCommandMixin.database_errors`).
* Exit codes come from :mod:`ecomind_core.management.exit_codes`.
* A command that removes or rewrites data (:attr:`changes_data`) takes
  ``--dry-run`` and ``--no-input``, Django's convention (``flush``,
  ``migrate``): it shows what it will do, then asks (:meth:`confirm`)
  unless ``--no-input`` says not to.
"""

import sys
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections

from ecomind_core.db.redaction import connection_problem, describe, redact
from ecomind_core.management.exit_codes import ExitCode


def cannot_run(message):
    """The error for anything that stops a command before it could do its job (exit 2)."""
    return CommandError(message, returncode=ExitCode.CANNOT_RUN)


def check_database_alias(database):
    if database not in connections:
        raise cannot_run(f"--database {database!r} is not configured; use one of: {', '.join(connections)}.")
    return database


def connect_or_fail(using):
    """Open ``using`` now, so that an unreachable server fails first and cleanly."""
    try:
        connections[using].ensure_connection()
    except (OperationalError, InterfaceError) as exc:
        raise cannot_run(connection_problem(exc, using)) from None


class DatabaseCommandMixin:
    """Mix into a command class (before Django's): the shared plumbing above.

    Subclasses set :attr:`connect_first` to False when they wait for the
    database themselves (``migrate``), and :attr:`postgresql_only` when the
    command means nothing on SQLite.
    """

    connect_first = True
    postgresql_only = False
    #: The command removes or rewrites data: ``--dry-run``, ``--no-input`` and :meth:`confirm`.
    changes_data = False

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message):
            if not parser.called_from_command_line:
                raise CommandError(f"Error: {message}")
            parser.exit(ExitCode.CANNOT_RUN, f"{parser.prog}: error: {message} (see --help)\n")

        parser.error = error
        if self.changes_data:
            parser.add_argument("--dry-run", action="store_true", help="Show what would change; write nothing.")
            parser.add_argument(
                "--no-input", "--noinput", action="store_false", dest="interactive",
                help="Do not ask for confirmation (for jobs and scripts).",
            )
        return parser

    @staticmethod
    def add_database_argument(parser, help="Database alias (default: default)."):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help=help)

    def execute(self, *args, **options):
        self.using = check_database_alias(options.get("database") or DEFAULT_DB_ALIAS)
        self.interactive = options.get("interactive", True)
        self.connection = connections[self.using]
        if self.postgresql_only and self.connection.vendor != "postgresql":
            raise cannot_run(f"{self.command_name()} works on PostgreSQL databases; {describe(self.using)} is not one.")
        if self.connect_first:
            connect_or_fail(self.using)
        return super().execute(*args, **options)

    def command_name(self):
        return self.__module__.rsplit(".", 1)[-1]

    def target(self):
        """The database this run works on, password masked, for messages."""
        return describe(self.using)

    @contextmanager
    def database_errors(self, doing):
        """Any database error inside becomes one line with exit 2, naming ``doing``."""
        try:
            yield
        except DatabaseError as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise cannot_run(redact(f"could not {doing}: {detail}", self.using)) from None

    def confirm(self, question):
        """Ask ``question`` (unless ``--no-input``); anything but "yes" ends the run with exit 2, nothing written."""
        if not self.interactive:
            return
        self.stdout.write(f"{question} Type 'yes' to continue: ", ending="")
        self.stdout.flush()
        if sys.stdin.readline().strip().lower() != "yes":
            raise cannot_run("not confirmed; nothing was written (use --no-input in automation).")

    @staticmethod
    def exit_with(code):
        """Leave with ``code`` after the command has printed its own report."""
        raise SystemExit(int(code))


class DatabaseCommand(DatabaseCommandMixin, BaseCommand):
    """Base class of EcoMind's own commands that work on one database."""

    def add_arguments(self, parser):
        self.add_database_argument(parser)
