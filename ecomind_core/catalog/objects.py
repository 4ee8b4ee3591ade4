"""Plain values describing a database catalog, each saying what it compares.

The live readers (``live_postgresql``, ``live_sqlite``) and the derivation
from models (``expected``) both produce these, so ``compare`` can diff them
without knowing any kind: as schemainspect's inspected objects do, each kind
lists its compared attributes (``COMPARED``) and the finding kinds a
difference raises (registered in ``findings.KINDS``). Adding a kind of drift
means: read it, declare its object here, add its rows to the registry.

Each kind also says which catalog columns it is made of (``READS``): a
column is read into one of its attributes, identifies the object (``MATCH``:
its name, its table, its schema), or ``Follows`` from what another object
compares. Every other column of those catalog tables is either on the
allow-list (``allowed.py``) or compared raw (``catalog``) against what
PostgreSQL records for what Django builds (``postgres_defaults.py``): the
default is to compare (docs/verify_schema.md).

Everything is normalised on the way in: type names as PostgreSQL's
``format_type`` spells them, index keys as ``column`` or ``column DESC``,
SQL expressions by ``normalise_sql``. ``None`` means "not known here" (SQLite
cannot tell a foreign key's deferrability): such an attribute is compared
only when both sides know it.
"""

import re
from dataclasses import dataclass, field
from typing import ClassVar

#: A catalog column that identifies the object (name, table, schema): compared by matching.
MATCH = "(matched by)"


@dataclass(frozen=True)
class Follows:
    """A catalog column not compared on this kind of object: another comparison already decides it."""

    reason: str


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
    #: The catalog columns it is read from ("pg_class.relpersistence").
    columns: tuple = ()
    #: A hint template for this attribute (None: the finding kind's).
    hint: str | None = None
    #: Name the attribute in the expected and found values, whatever the finding kind.
    labelled: bool = False

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


def _generic_row(column, default):
    """The Compared row of a catalog column compared raw against PostgreSQL's default."""
    return Compared(
        column, column, default.finding, lambda value, d=default: d.expected if value is d else d.show(value),
        (column,), default.hint, labelled=True,
    )


class CatalogObject:
    """What every kind has: a name, how it is matched, what it compares."""

    #: Finding kinds for an expected object not found, a found one not expected, and a difference.
    MISSING: ClassVar[str | None] = None
    UNEXPECTED: ClassVar[str | None] = None
    CHANGED: ClassVar[str | None] = None
    COMPARED: ClassVar[tuple] = ()
    #: ``{catalog table: {column: attribute name, MATCH or Follows(...)}}``: what it is made of.
    READS: ClassVar[dict] = {}
    #: The ``postgres_defaults`` kind its other catalog columns are compared against (None: not compared raw).
    GENERIC: ClassVar[str | None] = None
    #: The catalog tables whose other columns (``to_jsonb(row)`` minus allowed and ``READS``) are compared raw.
    RAW: ClassVar[tuple] = ()

    #: ``{catalog column: Default}`` (expected) or ``{catalog column: value}`` (live); None: not known (SQLite).
    #: Every dataclass below ends with this field.
    catalog = None

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

    @classmethod
    def columns_of(cls, attribute):
        """The catalog columns an attribute is read from."""
        return tuple(
            f"{table}.{column}" for table, columns in cls.READS.items() for column, how in columns.items()
            if how == attribute
        )

    @classmethod
    def compared_rows(cls):
        """``COMPARED`` with each row's catalog columns filled in from ``READS``."""
        cached = cls.__dict__.get("_compared_rows")
        if cached is None:
            cached = tuple(
                Compared(r.attribute, r.label, r.finding, r.shown, r.columns or cls.columns_of(r.attribute), r.hint,
                         r.labelled)
                for r in cls.COMPARED
            )
            cls._compared_rows = cached
        return cached

    def differences(self, live):
        """``(Compared, expected value, live value)`` for each compared attribute that differs."""
        found = []
        for row in self.compared_rows():
            want, have = getattr(self, row.attribute), getattr(live, row.attribute)
            if want is None or have is None:
                continue
            if want != have:
                found.append((row, want, have))
        if self.catalog is not None and live.catalog is not None:
            for column, default in self.catalog.items():
                if column not in live.catalog:
                    continue  # a server without this column (an older PostgreSQL)
                have = live.catalog[column]
                if not default.accepts(have):
                    found.append((_generic_row(column, default), default, have))
        return found

    def unknown_columns(self, live):
        """``{catalog column: live value}`` read for ``live`` that nothing here compares or allows."""
        if self.catalog is None or live.catalog is None:
            return {}
        return {column: value for column, value in live.catalog.items() if column not in self.catalog}


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




def _catalog_field():
    # Compared like any attribute, left out of the hash (a dict is not hashable).
    return field(default=None, hash=False)


_THE_TABLES = Follows("an index's persistence and owner are its table's (compared there)")
_CONSTRAINT_INDEX = Follows(
    "PostgreSQL builds a constraint's index from the constraint: unique, a b-tree on the plain key columns, ascending, "
    "with their default operator classes and collations, over the whole table (ALTER TABLE ... USING INDEX refuses "
    "any other); its name is the constraint's")
_FROM_THE_CONSTRAINT_TYPE = Follows("set by the constraint's type (pg_constraint.contype)")
_FROM_DEFERRABLE = Follows("the inverse of pg_constraint.condeferrable (compared)")

#: The pg_class row of an index: what every index and constraint index reads the same way.
_INDEX_CLASS = {"relnamespace": MATCH, "relowner": _THE_TABLES, "relpersistence": _THE_TABLES}


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
    catalog: dict | None = _catalog_field()

    MISSING, UNEXPECTED, CHANGED = "column_missing", "column_unexpected", "column_changed"
    COMPARED = compared(
        ("type", "type", "column_type"),
        ("nullable", "nullable", "column_nullability", lambda nullable: "NULL" if nullable else "NOT NULL"),
        ("collation", "collation", "column_collation"),
        ("allowed_values", "allowed values", "column_allowed_values"),
        ("default", "default", "column_default"),
        ("generated", "generated", "column_generated"),
        ("identity", "identity", "column_identity"),
    )
    READS = {
        "pg_attribute": {
            "attrelid": MATCH, "attname": MATCH, "attisdropped": MATCH, "atttypid": "type", "atttypmod": "type",
            "attnotnull": "nullable", "attcollation": "collation", "attidentity": "identity", "attgenerated": "generated",
        },
        "pg_attrdef": {"adrelid": MATCH, "adnum": MATCH, "adbin": "default"},
    }
    GENERIC, RAW = "column", ("pg_attribute", "pg_attrdef")

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
    catalog: dict | None = _catalog_field()

    MISSING, CHANGED, UNEXPECTED = "primary_key_missing", "primary_key_changed", "primary_key_unexpected"
    COMPARED = compared("name", "columns", "deferrable", "include")
    READS = {
        "pg_constraint": {
            "conname": "name", "conrelid": MATCH, "contype": MATCH, "conkey": "columns",
            "condeferrable": "deferrable", "condeferred": "deferrable",
        },
        "pg_index": {
            "indrelid": MATCH, "indkey": "include", "indnatts": "include", "indnkeyatts": "include",
            "indisunique": _FROM_THE_CONSTRAINT_TYPE, "indisprimary": _FROM_THE_CONSTRAINT_TYPE,
            "indisexclusion": _FROM_THE_CONSTRAINT_TYPE, "indimmediate": _FROM_DEFERRABLE,
            "indoption": _CONSTRAINT_INDEX, "indclass": _CONSTRAINT_INDEX, "indcollation": _CONSTRAINT_INDEX,
            "indexprs": _CONSTRAINT_INDEX, "indpred": _CONSTRAINT_INDEX,
        },
        "pg_class": {**_INDEX_CLASS, "relname": _CONSTRAINT_INDEX, "relam": _CONSTRAINT_INDEX},
    }
    GENERIC, RAW = "primary_key", ("pg_constraint", "pg_index", "pg_class")

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
    #: With the columns ``SET NULL (col)`` / ``SET DEFAULT (col)`` name, if any.
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
    catalog: dict | None = _catalog_field()

    MISSING, CHANGED, UNEXPECTED = "foreign_key_missing", "foreign_key_changed", "foreign_key_unexpected"
    COMPARED = compared(
        "columns", ("references", "references"), "target_schema", "on_delete", "on_update", "match",
        "deferrable", "initially_deferred", "validated", "enforced",
    )
    READS = {
        "pg_constraint": {
            "conname": MATCH, "conrelid": MATCH, "contype": MATCH, "conkey": "columns", "confrelid": "references",
            "confkey": "references", "confdeltype": "on_delete", "confdelsetcols": "on_delete",
            "confupdtype": "on_update", "confmatchtype": "match", "condeferrable": "deferrable",
            "condeferred": "initially_deferred", "convalidated": "validated",
        },
        # Its internal triggers (on both tables) enforce it.
        "pg_trigger": {"tgconstraint": MATCH, "tgenabled": "enforced"},
    }
    GENERIC, RAW = "foreign_key", ("pg_constraint",)

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
    catalog: dict | None = _catalog_field()

    MISSING, CHANGED, UNEXPECTED = "unique_missing", "unique_changed", "unique_unexpected"
    COMPARED = compared("columns", "deferrable", "nulls_distinct", "include")
    READS = {
        "pg_constraint": {**PrimaryKey.READS["pg_constraint"], "conname": MATCH},
        "pg_index": {**PrimaryKey.READS["pg_index"], "indnullsnotdistinct": "nulls_distinct"},
        "pg_class": PrimaryKey.READS["pg_class"],
    }
    GENERIC, RAW = "unique", ("pg_constraint", "pg_index", "pg_class")

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
    catalog: dict | None = _catalog_field()

    MISSING, CHANGED, UNEXPECTED = "check_missing", "check_changed", "check_unexpected"
    COMPARED = compared("definition", "validated")
    READS = {
        "pg_constraint": {
            "conname": MATCH, "conrelid": MATCH, "contype": MATCH, "conbin": "definition", "convalidated": "validated",
            "conkey": Follows("the columns its condition names (the condition is compared)"),
        },
    }
    GENERIC, RAW = "check", ("pg_constraint",)

    def describe(self):
        return self.definition


@dataclass(frozen=True)
class Exclusion(CatalogObject):
    """An EXCLUDE constraint; matched by name (no model here declares one)."""

    name: str
    definition: str = ""
    catalog: dict | None = _catalog_field()

    MISSING, UNEXPECTED = "exclusion_missing", "exclusion_unexpected"
    READS = {
        "pg_constraint": {"conname": MATCH, "conrelid": MATCH, "contype": MATCH, "conexclop": "definition"},
    }

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
    #: Per key, a collation other than its column's (None where the same).
    collations: tuple | None = ()
    catalog: dict | None = _catalog_field()

    MISSING, CHANGED, UNEXPECTED = "index_missing", "index_changed", "index_unexpected"
    COMPARED = compared(
        "unique", ("keys", "columns"), "method", ("opclasses", "operator classes"), ("collations", "collations"),
        "include", "predicate",
    )
    READS = {
        "pg_index": {
            "indrelid": MATCH, "indisunique": "unique", "indkey": "keys", "indexprs": "keys", "indoption": "keys",
            "indnkeyatts": "keys", "indnatts": "include", "indclass": "opclasses", "indcollation": "collations",
            "indpred": "predicate",
        },
        "pg_class": {**_INDEX_CLASS, "relname": MATCH, "relam": "method"},
    }
    GENERIC, RAW = "index", ("pg_index", "pg_class")

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
    catalog: dict | None = _catalog_field()

    MISSING, CHANGED, UNEXPECTED = "trigger_missing", "trigger_changed", "trigger_unexpected"
    COMPARED = compared("fires", "level", "enabled", "condition", "function")
    READS = {
        "pg_trigger": {
            "tgrelid": MATCH, "tgname": MATCH, "tgisinternal": MATCH, "tgtype": "fires", "tgenabled": "enabled",
            "tgqual": "condition", "tgfoid": "function",
        },
    }
    GENERIC, RAW = "trigger", ("pg_trigger",)

    def describe(self):
        return f"{self.fires} FOR EACH {self.level}"


@dataclass(frozen=True)
class Rule(CatalogObject):
    """A rewrite rule (``CREATE RULE``): no model declares one."""

    name: str
    definition: str
    catalog: dict | None = _catalog_field()

    UNEXPECTED = "rule_unexpected"
    READS = {
        "pg_rewrite": {
            "rulename": MATCH, "ev_class": MATCH, "ev_type": "definition", "ev_enabled": "definition",
            "is_instead": "definition", "ev_qual": "definition", "ev_action": "definition",
        },
    }

    def describe(self):
        return self.definition


@dataclass(frozen=True)
class Policy(Rule):
    """A row-level security policy: no model declares one."""

    UNEXPECTED = "policy_unexpected"
    READS = {
        "pg_policy": {
            "polname": MATCH, "polrelid": MATCH, "polcmd": "definition", "polpermissive": "definition",
            "polroles": "definition", "polqual": "definition", "polwithcheck": "definition",
        },
    }


@dataclass(frozen=True)
class Publication(CatalogObject):
    """A logical replication publication that publishes a table: no model declares one.

    Publishing changes what a write does in one way: with ``UPDATE`` or
    ``DELETE`` published, PostgreSQL refuses those statements (and the
    worker's ``INSERT ... ON CONFLICT DO UPDATE``) on a table whose replica
    identity the publication cannot send: none, a row filter on other
    columns, a column list without them. That is an error
    (``publication_blocks_writes``); publishing alone is the operator's
    choice (change data capture) and a warning.
    """

    name: str
    #: "FOR TABLE", "FOR ALL TABLES" or "FOR TABLES IN SCHEMA <schema>".
    scope: str
    #: Published actions: insert, update, delete, truncate.
    actions: tuple
    #: Its row filter for this table (as PostgreSQL prints it), "" for none.
    row_filter: str = ""
    #: Its column list for this table, () for every column.
    columns: tuple = ()
    #: Why writes to the table fail while it is published, "" if they do not (live only).
    blocks_writes: str = ""
    catalog: dict | None = _catalog_field()

    UNEXPECTED = "publication_unexpected"
    READS = {
        "pg_publication": {
            "pubname": MATCH, "puballtables": "scope", "pubinsert": "actions", "pubupdate": "actions",
            "pubdelete": "actions", "pubtruncate": "actions",
        },
        "pg_publication_rel": {"prpubid": MATCH, "prrelid": MATCH, "prqual": "row_filter", "prattrs": "columns"},
        "pg_publication_namespace": {"pnpubid": MATCH, "pnnspid": "scope"},
    }

    def label(self, table):
        return f"{self.name} ({table})"

    def describe(self):
        parts = [f"{self.scope}, publishing {show(self.actions)}"]
        if self.row_filter:
            parts.append(f"WHERE {self.row_filter}")
        if self.columns:
            parts.append(f"columns ({show(self.columns)})")
        return "; ".join(parts)


@dataclass(frozen=True)
class Function(CatalogObject):
    """A function a declared trigger runs; its body is compared (whitespace aside)."""

    name: str
    body: str
    #: The table whose declared trigger depends on it (expected side only; not compared).
    table: str | None = None
    #: Its language (None: not known).
    language: str | None = "plpgsql"
    catalog: dict | None = _catalog_field()

    MISSING, CHANGED = "function_missing", "function_changed"
    COMPARED = compared("body", "language")
    READS = {
        "pg_proc": {"proname": MATCH, "pronamespace": MATCH, "prosrc": "body", "prolang": "language"},
    }
    GENERIC, RAW = "function", ("pg_proc",)

    def describe(self):
        return f"{self.name}()"


@dataclass(frozen=True)
class Enum(CatalogObject):
    name: str
    labels: tuple
    catalog: dict | None = _catalog_field()

    MISSING, UNEXPECTED = "enum_missing", "enum_unowned"
    COMPARED = compared(("labels", "labels", "enum_labels"))
    READS = {"pg_enum": {"enumtypid": MATCH, "enumlabel": "labels", "enumsortorder": "labels"}}

    def describe(self):
        return show(self.labels)


@dataclass(frozen=True)
class Setting(CatalogObject):
    """A setting made for sessions of this database (``ALTER DATABASE`` / ``ALTER ROLE ... SET``), and where."""

    name: str
    #: Where: "this session", "database ecomind", "role app", "role app in database ecomind".
    source: str
    value: str
    catalog: dict | None = _catalog_field()

    READS = {"pg_db_role_setting": {"setdatabase": MATCH, "setrole": MATCH, "setconfig": "value"}}

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
    #: Publications that publish it (none expected).
    publications: list = field(default_factory=list)
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
    #: pg_class.relkind: "r" an ordinary table, "p" a partitioned one (None: not known). A model built
    #: partitioned sets "p" and ``partitioning``; its partitions are reported through ``children``
    #: (never as tables nobody owns: live_postgresql), and its indexes' relkind is "I".
    kind: str | None = "r"
    #: The table access method (None: not known).
    access_method: str | None = "heap"
    catalog: dict | None = field(default=None)

    MISSING, UNEXPECTED, CHANGED = "table_missing", "table_unowned", "table_changed"
    COMPARED = compared(
        ("kind", "kind", "table_kind", lambda kind: RELKIND_WORDS.get(kind, kind)),
        ("persistence", "persistence", "table_persistence"),
        ("partitioning", "partitioned by", "table_partitioning"),
        ("parents", "inherits from", "table_inheritance"),
        ("children", "inherited by", "table_inheritance"),
        ("row_security", "row-level security", "table_row_security"),
        ("forced_row_security", "forced row-level security", "table_row_security"),
        ("access_method", "access method", "table_access_method"),
    )
    READS = {
        "pg_class": {
            "relname": MATCH, "relnamespace": MATCH, "relkind": "kind", "relpersistence": "persistence",
            "relrowsecurity": "row_security", "relforcerowsecurity": "forced_row_security", "relowner": "owner",
            "relam": "access_method",
        },
        "pg_inherits": {"inhrelid": "parents", "inhparent": "children", "inhdetachpending": "parents"},
        "pg_partitioned_table": {
            "partrelid": MATCH, "partstrat": "partitioning", "partnatts": "partitioning", "partattrs": "partitioning",
            "partclass": "partitioning", "partcollation": "partitioning", "partexprs": "partitioning",
        },
    }
    GENERIC, RAW = "table", ("pg_class",)
    #: The collections of objects a table holds, in report order.
    PARTS = ("columns", "primary_key", "foreign_keys", "uniques", "checks", "exclusions", "indexes", "triggers",
             "rules", "policies", "publications")

    def column(self, name):
        return next((c for c in self.columns if c.name == name), None)

    def describe(self):
        return "table"


RELKIND_WORDS = {"r": "ordinary table", "p": "partitioned table"}

#: Every kind of object the catalog is made of (the coverage test reads their ``READS``).
KINDS_OF_OBJECT = (Table, Column, PrimaryKey, ForeignKey, Unique, Check, Exclusion, Index, Trigger, Rule, Policy,
                   Publication, Function, Enum, Setting)


@dataclass
class Catalog:
    vendor: str
    #: The schema read (PostgreSQL) or None (SQLite).
    schema: str | None = None
    tables: dict = field(default_factory=dict)
    enums: dict = field(default_factory=dict)
    #: Functions that declared triggers run, by name.
    functions: dict = field(default_factory=dict)
    #: Settings made for sessions of this database, where set (live only).
    settings: list = field(default_factory=list)
    #: ``schema.table`` of same-named tables found first on the search path (live only).
    shadowing: list = field(default_factory=list)
    #: Names of tables in the schema that the reader did not read (no model describes them).
    other_tables: list = field(default_factory=list)
