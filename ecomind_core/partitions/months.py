"""Monthly bounds (UTC, as ``ts`` is stored) and the partitions' names."""

import datetime


def month_start(moment):
    """00:00 on the first day of ``moment``'s month, naive (``ts`` is ``timestamp without time zone``, UTC)."""
    return datetime.datetime(moment.year, moment.month, 1)


def add_months(start, count):
    years, month = divmod(start.month - 1 + count, 12)
    return datetime.datetime(start.year + years, month + 1, 1)


def now_utc():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def partition_name(table, start):
    """``events_enriched_p202701``: the partition holding ``start``'s month."""
    return f"{table}_p{start:%Y%m}"


def legacy_name(table):
    """The table as it was before the conversion, now the partition of everything before the first month."""
    return f"{table}_legacy"


def literal(moment):
    """A bound as SQL, the way PostgreSQL prints it back in a partition bound."""
    return f"'{moment:%Y-%m-%d %H:%M:%S}'"
