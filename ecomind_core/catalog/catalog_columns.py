"""Every column of every catalog table an owned object is made of, and what becomes of it.

Each column is compared (read into an object's attribute, or identifying
the object, per ``objects.KINDS_OF_OBJECT``' ``READS``; or compared raw
against ``postgres_defaults``) or allowed (``allowed.ALLOWED``, with its
reason). ``tests/test_catalog_coverage.py`` reads the column lists from the
running server and fails on a column that is neither; the live reader takes
the raw ones as ``to_jsonb(row) - skipped(...)``, so a column the server has
and this release does not know reaches the comparison too
(``catalog_column_unreviewed``).
"""

from .allowed import ALLOWED
from .objects import KINDS_OF_OBJECT, MATCH, Follows
from .postgres_defaults import DEFAULTS

#: The catalog tables whose every column is accounted for.
CATALOG_TABLES = tuple(ALLOWED)


def read_columns(kind):
    """``{catalog table: {column}}`` that ``kind`` reads into attributes, matches by or leaves to another."""
    return {table: set(columns) for table, columns in kind.READS.items()}


def skipped(kind, table):
    """The columns of ``table`` not compared raw for ``kind``: allowed, or read another way."""
    return sorted(set(ALLOWED[table]) | set(kind.READS.get(table, {})))


def raw_columns(kind, table):
    """The columns of ``table`` that ``kind`` compares raw, with their expected values (``postgres_defaults``)."""
    prefix = f"{table}."
    return {column[len(prefix):]: default for column, default in DEFAULTS.get(kind.GENERIC, {}).items()
            if column.startswith(prefix)}


def coverage():
    """``{catalog table: {column: how}}``: every column this release accounts for, and how.

    ``how`` is "allowed: <reason>", "compared: <Kind>.<attribute>", "matched: <Kind>" or
    "compared raw: <kind> (postgres_defaults)". A column only ``Follows`` from
    another comparison counts only if that other comparison exists.
    """
    accounted = {table: {} for table in CATALOG_TABLES}
    for table, reasons in ALLOWED.items():
        for column, reason in reasons.items():
            accounted[table].setdefault(column, []).append(f"allowed: {reason}")
    for kind in KINDS_OF_OBJECT:
        for table, columns in kind.READS.items():
            for column, how in columns.items():
                if isinstance(how, Follows):
                    continue
                what = f"matched: {kind.__name__}" if how == MATCH else f"compared: {kind.__name__}.{how}"
                accounted[table].setdefault(column, []).append(what)
        for qualified in DEFAULTS.get(kind.GENERIC, {}):
            table, column = qualified.split(".", 1)
            accounted[table].setdefault(column, []).append(f"compared raw: {kind.GENERIC} (postgres_defaults)")
    return accounted


def followed():
    """``[(kind, catalog table, column, reason)]``: columns a kind leaves to another comparison."""
    return [
        (kind.__name__, table, column, how.reason)
        for kind in KINDS_OF_OBJECT for table, columns in kind.READS.items() for column, how in columns.items()
        if isinstance(how, Follows)
    ]
