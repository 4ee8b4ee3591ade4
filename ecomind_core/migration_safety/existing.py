"""What the catalog already holds, for safe operations that run again: found objects, and their definitions.

A non-atomic migration is recorded as applied only when every operation has
finished, so after a failure (or a kill) it runs again from the first
operation. Each safe operation therefore looks here first: an object of
the intended definition that is VALID is kept as it is; an INVALID or
half-made one is finished or rebuilt; one of another definition is an error
that names both (:class:`DefinitionConflict`).

"The intended definition" is compared the way PostgreSQL itself prints it:
the intended index or CHECK is built on an empty temporary copy of the
table's columns (a *sandbox*, in a transaction that is rolled back) and
printed with ``pg_get_indexdef``/``pg_get_constraintdef``, so expressions,
operator classes, collations and conditions compare exactly, however
Django and PostgreSQL spell them. Names are looked up as PostgreSQL stores
them: cast to ``name``, which truncates to 63 bytes as ``CREATE`` did.

When the schema editor only collects SQL (``sqlmigrate``, ``check_migrations``),
nothing is looked up: the operation shows every statement it would run on
a database that has none of it.
"""

from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, transaction

#: The temporary tables a sandbox uses (per session, dropped with the rollback).
SANDBOX = "ecomind_safe_op_sandbox"
SANDBOX_COLUMN = "ecomind_safe_op_sandbox_column"


class DefinitionConflict(DatabaseError):
    """An object of the intended name exists with another definition: nothing is changed.

    A ``DatabaseError``, so that ``migrate`` reports it in one line like any failed statement.
    """

    def __init__(self, kind, name, table, existing, intended):
        super().__init__(
            f"{kind} {name} on {table} already exists with another definition: the database has "
            f"{existing!r}, this migration wants {intended!r}. Nothing was changed; drop or rename the existing "
            f"{kind} after review, or give the migration's {kind} another name"
        )


@dataclass(frozen=True)
class FoundIndex:
    oid: int
    table: str
    valid: bool
    unique: bool
    definition: str
    #: The relation of this name is not an index at all (a table, a sequence...).
    kind: str = "i"

    @property
    def shape(self):
        """What makes two indexes the same: unique or not, and everything after ``USING``."""
        return self.unique, self.definition.split(" USING ", 1)[-1]


@dataclass(frozen=True)
class FoundConstraint:
    oid: int
    #: ``c`` check, ``f`` foreign key, ``u`` unique, ``p`` primary key, ...
    kind: str
    validated: bool
    definition: str
    #: The index behind a unique constraint (0 for others).
    index_oid: int


@dataclass(frozen=True)
class FoundColumn:
    type: str
    not_null: bool


def looks_up(schema_editor):
    """False when only collecting SQL: no database to look at."""
    return not schema_editor.collect_sql


def _one(schema_editor, sql, params):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def index(schema_editor, table, name):
    """The relation called ``name`` in the schema, as a :class:`FoundIndex`, or None.

    ``table`` (quoted) is the table it must be on; an index of that name on
    another table (or a relation that is no index) has ``table`` set to what it is.
    """
    row = _one(schema_editor, """
        SELECT c.oid, c.relkind, CASE WHEN i.indrelid = to_regclass(%s) THEN %s ELSE coalesce(i.indrelid::regclass::text, '') END,
               coalesce(i.indisvalid AND i.indisready, false), coalesce(i.indisunique, false),
               coalesce(pg_get_indexdef(c.oid), 'a relation of kind ' || c.relkind::text)
        FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
        WHERE c.relname = %s::name AND c.relnamespace = to_regnamespace(current_schema())
    """, [table, table, name])
    if row is None:
        return None
    oid, kind, on_table, valid, unique, definition = row
    return FoundIndex(oid, on_table, valid, unique, definition, kind)


def constraint(schema_editor, table, name):
    """Constraint ``name`` of ``table`` (quoted), or None."""
    row = _one(schema_editor, """
        SELECT oid, contype, convalidated, pg_get_constraintdef(oid), conindid FROM pg_constraint
        WHERE conrelid = to_regclass(%s) AND conname = %s::name
    """, [table, name])
    return FoundConstraint(*row) if row else None


def column(schema_editor, table, name):
    row = _one(schema_editor, """
        SELECT format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
        WHERE attrelid = to_regclass(%s) AND attname = %s::name AND attnum > 0 AND NOT attisdropped
    """, [table, name])
    return FoundColumn(*row) if row else None


def index_definition(schema_editor, oid):
    return _one(schema_editor, "SELECT pg_get_indexdef(%s::oid)", [oid])[0]


def without_not_valid(definition):
    return definition.removesuffix(" NOT VALID")


@contextmanager
def sandbox(schema_editor, table):
    """A cursor and an empty temporary copy of ``table``'s columns, all rolled back at the end."""
    connection = schema_editor.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {SANDBOX} (LIKE {table})")
        yield cursor, SANDBOX
        transaction.set_rollback(True, using=connection.alias)


def intended_index(schema_editor, table, create_sql):
    """``(unique, after USING)`` of the index Django's ``create_sql`` (a ``CREATE INDEX`` on ``table``) builds."""
    quoted = schema_editor.quote_name(table)
    with sandbox(schema_editor, quoted) as (cursor, copy):
        on_copy = str(create_sql).replace(" CONCURRENTLY", "", 1).replace(f" ON {quoted}", f" ON {copy}", 1)
        cursor.execute(on_copy)
        cursor.execute("SELECT indisunique, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass",
                       [f"pg_temp.{copy}"])
        unique, definition = cursor.fetchone()
    return unique, definition.split(" USING ", 1)[-1]


def intended_constraint(schema_editor, table, definition):
    """A ``CHECK (...)`` or ``UNIQUE (...)`` ``definition`` on ``table`` (quoted) as PostgreSQL prints it."""
    with sandbox(schema_editor, table) as (cursor, copy):
        cursor.execute(f"ALTER TABLE {copy} ADD CONSTRAINT ecomind_intended {definition}")
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass",
                       [f"pg_temp.{copy}"])
        return cursor.fetchone()[0]


def intended_column_type(schema_editor, db_type):
    """``db_type`` (Django's spelling, ``varchar(12)``) as PostgreSQL prints it (``character varying(12)``)."""
    connection = schema_editor.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {SANDBOX_COLUMN} (value {db_type})")
        cursor.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass "
                       "AND attname = 'value'", [f"pg_temp.{SANDBOX_COLUMN}"])
        found = cursor.fetchone()[0]
        transaction.set_rollback(True, using=connection.alias)
    return found


def intended_foreign_key(schema_editor, column_name, target_table, target_column, deferrable):
    """A foreign key's definition as ``pg_get_constraintdef`` prints it."""
    row = _one(schema_editor, "SELECT format('FOREIGN KEY (%%s) REFERENCES %%s(%%s)', quote_ident(%s), "
                              "to_regclass(%s)::text, quote_ident(%s))",
               [column_name, schema_editor.quote_name(target_table), target_column])
    return row[0] + (" DEFERRABLE INITIALLY DEFERRED" if deferrable else "")
