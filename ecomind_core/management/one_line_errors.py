"""Command-line mistakes as one line, like every other error of these commands.

argparse prints the whole usage block before the error; an operator reading
a deploy log needs the one line that says what was wrong.
"""

from django.core.management.base import CommandError

#: Exit code for a bad flag or argument (argparse's own).
USAGE_ERROR = 2


class OneLineUsageErrors:
    """Mix into a BaseCommand: a bad flag exits 2 with one line naming it."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message):
            if not parser.called_from_command_line:
                raise CommandError(f"Error: {message}")
            parser.exit(USAGE_ERROR, f"{parser.prog}: error: {message} (see --help)\n")

        parser.error = error
        return parser
