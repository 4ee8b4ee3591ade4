#!/usr/bin/env python
"""Django's command-line utility, with set-up and configuration errors shown as one line."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomind.settings")
    from ecomind_core.management.exit_codes import ExitCode  # plain Python: always importable

    try:
        from django.core.management import execute_from_command_line

        from ecomind.config import ConfigError
    except ModuleNotFoundError as exc:
        # Most often the system Python instead of the project's virtualenv.
        sys.stderr.write(
            f"error: {exc.name} is not installed for {sys.executable}; run scripts/run-app or scripts/test "
            "once (they create .venv), then use .venv/bin/python manage.py ...\n"
        )
        sys.exit(ExitCode.CANNOT_RUN)

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        # A wrong environment is the operator's to fix: no traceback, and the
        # message (built in ecomind/config.py) never holds a password.
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(ExitCode.CANNOT_RUN)


if __name__ == "__main__":
    main()
