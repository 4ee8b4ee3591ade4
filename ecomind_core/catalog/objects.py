"""Plain values describing a database catalog, each saying what it compares.

The live readers (``live_postgresql``, ``live_sqlite``) and the derivation
from models (``expected``) both produce these, so ``compare`` can diff them
without knowing any kind: as schemainspect's inspected objects do, each kind
lists its compared attributes (``COMPARED``) and the finding kinds a
difference raises (registered in ``findings.KINDS``). Adding a kind of drift
means: read it, declare its object here, add its rows to the registry.

Everything is normalised on the way in: type names as PostgreSQL's
``format_type`` spells them, index keys as ``column`` or ``column DESC``,
SQL expressions by ``normalise_sql``. ``None`` means "not known here" (SQLite
cannot tell a foreign key's deferrability): such an attribute is compared
only when both sides know it.
"""

import re
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Compared:
    """One attribute a kind compares, and the finding a difference raises."""

    attribute: str
    #: How the report names the attribute ("on delete").
    label: str
    #: The finding kind (``findings.KINDS``); None: the kind's ``CHANGED``.
    finding: str | None = None
    #: How a value reads in the report; None: ``show``.
    shown: object = None

    def show(self, value):
        return self.shown(value) if self.shown else show(value)


def compared(*specs):
    """``Compared`` rows from ``"attribute"`` or ``("attribute", "label", "finding", shown)`` specs."""
    rows = []
    for spec in specs:
        spec = (spec,) if isinstance(spec, str) else spec
        attribute, label, finding, shown = (*spec, None, None, None)[:4]
        rows.append(Compared(attribute, label or attribute.replace("_", " "), finding, shown))
    return tuple(rows)


class CatalogObject:
    """What every kind has: a name, how it is matched, what it compares."""

    #: Finding kinds for an expected object not found, a found one not expected, and a difference.
    MISSING: ClassVar[str | None] = None
    UNEXPECTED: ClassVar[str | None] = None
    CHANGED: ClassVar[str | None] = None
    COMPARED: ClassVar[tuple] = ()

    def match_keys(self):
        """What an expected object is looked for by, first choice first: its name."""
        return (self.name,)

    def found_by(self):
        """What a live object can be found by."""
        return self.match_keys()

    def missing_label(self, table):
        return self.label(table)

    def label(self, table):
        """How findings name it."""
        return self.name

    def describe(self):
        """Its defining attributes in a few words, for a missing or unexpected finding."""
        return self.name

    def differences(self, live):
        """``(Compared, expected value, live value)`` for each compared attribute that differs."""
        found = []
        for row in self.COMPARED:
            want, have = getattr(self, row.attribute), getattr(live, row.attribute)
            if want is None or have is None:
                continue
            if want != have:
                found.append((row, want, have))
        return found


def show(value):
    """A value as the report prints it."""
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value is None or value == "" else value


def normalise_space(text):
    """Text with every run of whitespace made one space (function bodies, rule definitions)."""
    return " ".join((text or "").split())


_CAST = re.compile(r"::[a-z_ ]+(\(\d+(,\d+)?\))?(\[\])?")


def normalise_sql(text):
    """Loose form of an SQL expression for comparison: no quotes, casts, parentheses or spaces."""
    if text is None:
        return None
    return re.sub(r"[\s()\"]", "", _CAST.sub("", text.lower()))


@dataclass(frozen=True)
class Column(CatalogObject):
    name: str
    type: str
    nullable: bool
    #: Values a SQLite ``CHECK (col IN (...))`` allows (EnumField on SQLite).
    allowed_values: tuple | None = None
    #: A collation other than the type's default (PostgreSQL), else "".
    collation: str | None = ""
    #: The column's default expression (normalised), "" for none.
    default: str | None = ""
    #: "stored" for a generated column, "" for none.
    generated: str | None = ""
    #: "always" or "by default" for an identity column, "" for none.
    identity: str | None = ""

    MISSING, UNEXPECTED = "column_missing", "column_unexpected"
    COMPARED = compared(
        ("type", "type", "column_type"),
        ("nullable", "nullable", "column_nullability", lambda nullable: "NULL" if nullable else "NOT NULL"),
        ("collation", "collation", "column_collation"),
        ("allowed_values", "allowed values", "column_allowed_values"),
        ("default", "default", "column_default"),
        ("generated", "generated", "column_generated"),
        ("identity", "identity", "column_identity"),
    )

    def label(self, table):
        return f"{table}.{self.name}"

    def describe(self):
        return self.type


@dataclass(frozen=True)
class PrimaryKey(CatalogObject):
    #: None where the database does not name primary keys (SQLite).
    name: str | None
    columns: tuple
    deferrable: bool | None = False
    #: Non-key INCLUDE columns of the index behind it.
    include: tuple | None = ()

    MISSING, CHANGED, UNEXPECTED = "primary_key_missing", "primary_key_changed", "primary_key_unexpected"
    COMPARED = compared("name", "columns", "deferrable", "include")

    def match_keys(self):
        return ("primary key",)  # a table has one: a renamed key is a changed key

    def label(self, table):
        return self.name or table

    def missing_label(self, table):
        return table

    def describe(self):
        return f"({show(self.columns)})"


@dataclass(frozen=True)
class ForeignKey(CatalogObject):
    name: str | None
    columns: tuple
    target_table: str
    target_columns: tuple
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    deferrable: bool | None = False
    initially_deferred: bool | None = False
    #: False for a constraint added NOT VALID (existing rows never checked).
    validated: bool | None = True
    #: The referenced table's schema (None where unknown: SQLite).
    target_schema: str | None = None
    #: SIMPLE, FULL or PARTIAL.
    match: str | None = "SIMPLE"
    #: False when the triggers that enforce it are disabled (``DISABLE TRIGGER ALL``).
    enforced: bool | None = True

    MISSING, CHANGED, UNEXPECTED = "foreign_key_missing", "foreign_key_changed", "foreign_key_unexpected"
    COMPARED = compared(
        "columns", ("references", "references"), "target_schema", "on_delete", "on_update", "match",
        "deferrable", "initially_deferred", "validated", "enforced",
    )

    @property
    def references(self):
        return (self.target_table, *self.target_columns)

    def match_keys(self):
        # Unnamed (SQLite): by columns.
        return (self.name,) if self.name else (("foreign key", self.columns),)

    def describe(self):
        return f"({show(self.columns)}) -> {self.target_table} ({show(self.target_columns)})"


@dataclass(frozen=True)
class Unique(CatalogObject):
    #: None when Django leaves the name to the path that creates it
    #: (field-level ``unique=True``): such constraints match by columns.
    name: str | None
    columns: tuple
    deferrable: bool | None = False
    nulls_distinct: bool | None = True
    include: tuple | None = ()

    MISSING, CHANGED, UNEXPECTED = "unique_missing", "unique_changed", "unique_unexpected"
    COMPARED = compared("columns", "deferrable", "nulls_distinct", "include")

    def match_keys(self):
        # Django leaves the name of a field's unique=True to the path that
        # creates it: an unnamed expected one is looked for by its columns.
        return (self.name,) if self.name else (("unique", self.columns),)

    def found_by(self):
        return (self.name, ("unique", self.columns))

    def label(self, table):
        return self.name or f"unique on ({show(self.columns)})"

    def describe(self):
        return f"({show(self.columns)})"


@dataclass(frozen=True)
class Check(CatalogObject):
    name: str
    #: The condition, normalised (``normalise_sql``), compared exactly.
    definition: str
    validated: bool | None = True

    MISSING, CHANGED, UNEXPECTED = "check_missing", "check_changed", "check_unexpected"
    COMPARED = compared("definition", "validated")

    def describe(self):
        return self.definition


@dataclass(frozen=True)
class Exclusion(CatalogObject):
    """An EXCLUDE constraint; matched by name (no model here declares one)."""

    name: str
    definition: str = ""

    MISSING, UNEXPECTED = "exclusion_missing", "exclusion_unexpected"

    def describe(self):
        return self.definition or self.name


@dataclass(frozen=True)
class Index(CatalogObject):
    name: str
    #: Key columns (or expressions) in order, ``"ts DESC"`` for descending;
    #: None for a model's expression index (matched by name only).
    keys: tuple | None
    unique: bool
    method: str | None
    predicate: str | None = ""
    #: Non-default operator classes per key (None where default).
    opclasses: tuple | None = ()
    #: Non-key INCLUDE columns.
    include: tuple = ()
    #: False for an index left INVALID (a failed CREATE INDEX CONCURRENTLY).
    valid: bool | None = True
    #: Per key, a collation other than its column's (None where the same).
    collations: tuple | None = ()

    MISSING, CHANGED, UNEXPECTED = "index_missing", "index_changed", "index_unexpected"
    COMPARED = compared(
        "unique", ("keys", "columns"), "method", ("opclasses", "operator classes"), ("collations", "collations"),
        "valid", "include", "predicate",
    )

    def describe(self):
        return f"({show(self.keys)})" if self.keys else self.name


@dataclass(frozen=True)
class Trigger(CatalogObject):
    """A trigger (django-pgtrigger declares them on models)."""

    name: str
    #: e.g. ``BEFORE DELETE OR UPDATE``: timing and events, events sorted.
    fires: str
    #: ROW or STATEMENT.
    level: str = "ROW"
    #: When it fires: "origin" (the default), "replica", "always" or "disabled".
    enabled: str = "origin"
    #: Its ``WHEN`` condition, normalised; "" for none.
    condition: str = ""
    #: The function it executes.
    function: str = ""

    MISSING, CHANGED, UNEXPECTED = "trigger_missing", "trigger_changed", "trigger_unexpected"
    COMPARED = compared("fires", "level", "enabled", "condition", "function")

    def describe(self):
        return f"{self.fires} FOR EACH {self.level}"


@dataclass(frozen=True)
class Rule(CatalogObject):
    """A rewrite rule (``CREATE RULE``): no model declares one."""

    name: str
    definition: str

    UNEXPECTED = "rule_unexpected"

    def describe(self):
        return self.definition


@dataclass(frozen=True)
class Policy(Rule):
    """A row-level security policy: no model declares one."""

    UNEXPECTED = "policy_unexpected"


@dataclass(frozen=True)
class Function(CatalogObject):
    """A function a declared trigger runs; its body is compared (whitespace aside)."""

    name: str
    body: str
    #: The table whose declared trigger depends on it (expected side only; not compared).
    table: str | None = None

    MISSING, CHANGED = "function_missing", "function_changed"
    COMPARED = compared("body")

    def describe(self):
        return f"{self.name}()"


@dataclass(frozen=True)
class Enum(CatalogObject):
    name: str
    labels: tuple

    MISSING, UNEXPECTED = "enum_missing", "enum_unowned"
    COMPARED = compared(("labels", "labels", "enum_labels"))

    def describe(self):
        return show(self.labels)


@dataclass(frozen=True)
class Setting(CatalogObject):
    """A server setting that changes what triggers and constraints do, and where it is set."""

    name: str
    #: Where: "this session", "database ecomind", "role app", "role app in database ecomind".
    source: str
    value: str

    def match_keys(self):
        return ((self.name, self.source),)

    def label(self, table):
        return f"{self.name} ({self.source})"


@dataclass
class Table(CatalogObject):
    name: str
    columns: list = field(default_factory=list)
    primary_key: list = field(default_factory=list)  # none or one PrimaryKey
    foreign_keys: list = field(default_factory=list)
    uniques: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    exclusions: list = field(default_factory=list)
    indexes: list = field(default_factory=list)
    triggers: list = field(default_factory=list)
    rules: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    #: "permanent" or "unlogged" (None: not known, SQLite).
    persistence: str | None = "permanent"
    #: The partition key ("RANGE (ts)") of a partitioned table, "" for a plain one.
    partitioning: str | None = ""
    #: Tables it inherits from, or is a partition of.
    parents: tuple | None = ()
    #: Tables that inherit from it, or are its partitions.
    children: tuple | None = ()
    row_security: bool | None = False
    forced_row_security: bool | None = False
    #: The owning role (compared between the owned tables only: a warning).
    owner: str | None = None

    MISSING, UNEXPECTED = "table_missing", "table_unowned"
    COMPARED = compared(
        ("persistence", "persistence", "table_persistence"),
        ("partitioning", "partitioned by", "table_partitioning"),
        ("parents", "inherits from", "table_inheritance"),
        ("children", "inherited by", "table_inheritance"),
        ("row_security", "row-level security", "table_row_security"),
        ("forced_row_security", "forced row-level security", "table_row_security"),
    )
    #: The collections of objects a table holds, in report order.
    PARTS = ("columns", "primary_key", "foreign_keys", "uniques", "checks", "exclusions", "indexes", "triggers",
             "rules", "policies")

    def column(self, name):
        return next((c for c in self.columns if c.name == name), None)

    def describe(self):
        return "table"


@dataclass
class Catalog:
    vendor: str
    #: The schema read (PostgreSQL) or None (SQLite).
    schema: str | None = None
    tables: dict = field(default_factory=dict)
    enums: dict = field(default_factory=dict)
    #: Functions that declared triggers run, by name.
    functions: dict = field(default_factory=dict)
    #: Settings that switch triggers or constraints off, where set (live only).
    settings: list = field(default_factory=list)
    #: ``schema.table`` of same-named tables found first on the search path (live only).
    shadowing: list = field(default_factory=list)
    #: Names of tables in the schema that the reader did not read (no model describes them).
    other_tables: list = field(default_factory=list)
