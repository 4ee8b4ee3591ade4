#!/usr/bin/env python
"""Django's command-line utility, with configuration errors shown as one line."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomind.settings")
    from django.core.management import execute_from_command_line

    from ecomind.config import CONFIG_EXIT_CODE, ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        # A wrong environment is the operator's to fix: no traceback, and the
        # message (built in ecomind/config.py) never holds a password.
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(CONFIG_EXIT_CODE)


if __name__ == "__main__":
    main()
