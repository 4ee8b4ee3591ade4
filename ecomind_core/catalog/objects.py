"""Plain values describing a database catalog, whatever produced them.

The live readers (``live_postgresql``, ``live_sqlite``) and the derivation
from models (``expected``) both produce these, so ``compare`` can diff them
field by field. Everything is normalised on the way in: type names as
PostgreSQL's ``format_type`` spells them, index keys as ``column`` or
``column DESC``.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    #: Values a SQLite ``CHECK (col IN (...))`` allows (EnumField on SQLite).
    allowed_values: tuple | None = None
    #: A collation other than the type's default (PostgreSQL), else None.
    collation: str | None = None


@dataclass(frozen=True)
class PrimaryKey:
    #: None where the database does not name primary keys (SQLite).
    name: str | None
    columns: tuple
    deferrable: bool = False


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    columns: tuple
    target_table: str
    target_columns: tuple
    on_delete: str
    deferrable: bool
    initially_deferred: bool
    on_update: str = "NO ACTION"
    #: False for a constraint added NOT VALID (existing rows never checked).
    validated: bool = True


@dataclass(frozen=True)
class Unique:
    #: None when Django leaves the name to the path that creates it
    #: (field-level ``unique=True``): such constraints match by columns.
    name: str | None
    columns: tuple
    deferrable: bool | None = False
    nulls_distinct: bool = True


@dataclass(frozen=True)
class Check:
    """A CHECK constraint, or (in ``Table.exclusions``) an EXCLUDE constraint."""

    name: str | None
    definition: str
    validated: bool = True


@dataclass(frozen=True)
class Index:
    name: str
    #: Key columns (or expressions) in order, ``"ts DESC"`` for descending.
    keys: tuple
    unique: bool
    method: str
    predicate: str | None = None
    #: Non-default operator classes per key (None where default).
    opclasses: tuple = ()
    #: Non-key INCLUDE columns.
    include: tuple = ()
    #: False for an index left INVALID (a failed CREATE INDEX CONCURRENTLY).
    valid: bool = True
    #: Per key, a collation other than its column's (None where the same).
    collations: tuple = ()


@dataclass(frozen=True)
class Trigger:
    """A row trigger (django-pgtrigger declares them on models)."""

    name: str
    #: e.g. ``BEFORE DELETE OR UPDATE``: timing and events, events sorted.
    fires: str
    enabled: bool = True


@dataclass
class Table:
    name: str
    columns: list = field(default_factory=list)
    primary_key: PrimaryKey | None = None
    foreign_keys: list = field(default_factory=list)
    uniques: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    exclusions: list = field(default_factory=list)
    indexes: list = field(default_factory=list)
    triggers: list = field(default_factory=list)

    def column(self, name):
        return next((c for c in self.columns if c.name == name), None)


@dataclass
class Catalog:
    vendor: str
    tables: dict = field(default_factory=dict)
    #: Enum type name -> labels in order (PostgreSQL).
    enums: dict = field(default_factory=dict)
