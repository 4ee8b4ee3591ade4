"""The period both roll-up commands take: ``--since`` and ``--until``, UTC days, inclusive."""

import argparse
import datetime

from ecomind_core.management.base import cannot_run


def calendar_day(text):
    """An argparse type: a bad date is the parser's one-line usage error (exit 2)."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def add_period_arguments(parser):
    parser.add_argument("--since", type=calendar_day, metavar="YYYY-MM-DD", help="First UTC day (default: the first day with data).")
    parser.add_argument("--until", type=calendar_day, metavar="YYYY-MM-DD", help="Last UTC day, included (default: the last day with data).")


def check_period(since, until):
    if since and until and since > until:
        raise cannot_run(f"--since {since} is after --until {until}: give the earlier day first.")
