"""Derive the catalog that a set of models should have on a connection.

Nothing here is a list of tables or columns: everything comes from the
models (normally a migration state's rendered models) and from the same
naming functions the schema editor uses when it builds them, so that what
``migrate`` creates and what ``verify_schema`` expects cannot drift apart.
One builder class per database vendor: they differ in what the database
names and can tell.
"""

import dataclasses
import re

from django.db.models import AutoField, BigAutoField, CheckConstraint, CompositePrimaryKey, SmallAutoField, UniqueConstraint
from django.db.models import NOT_PROVIDED

from ecomind_core.fields import EnumField, ImmediateForeignKey

from .objects import (
    Catalog, Check, Column, Enum, Exclusion, ForeignKey, Function, Index, PrimaryKey, Table, Trigger, Unique,
    normalise_space, normalise_sql,
)
from ecomind_core.partitions.options import partition_key

from .postgres_defaults import RELKIND, Default, defaults
from .types import normalise

_FUNCTION = re.compile(
    r"CREATE OR REPLACE FUNCTION\s+([^\s(]+)\s*\(.*?\)\s*RETURNS\s+\w+\s+AS\s+\$\$(.*?)\$\$\s*LANGUAGE\s+(\w+)",
    re.DOTALL | re.IGNORECASE,
)
AUTO_FIELDS = (AutoField, BigAutoField, SmallAutoField)


def _unquote(name):
    return str(name).replace('"', "")


def _index_method(index):
    # Django's Index has suffix "idx"; PostgreSQL index classes name their method.
    suffix = getattr(index, "suffix", "idx")
    return "btree" if suffix == "idx" else suffix


def _compile(model, editor, condition=None, expression=None):
    """SQL of a Q ``condition`` or an ``expression`` on ``model``, parameters inlined as the schema editor does."""
    from django.db.models.sql import Query

    query = Query(model=model, alias_cols=False)
    compiler = query.get_compiler(connection=editor.connection)
    if condition is not None:
        sql, params = query.build_where(condition).as_sql(compiler, editor.connection)
    else:
        sql, params = compiler.compile(expression.resolve_expression(query))
    return sql % tuple(editor.quote_value(p) for p in params)


class TableBuilder:
    """One model's :class:`Table`; the vendor classes below fill in what differs."""

    #: Attributes this vendor's catalog cannot tell (left None: not compared).
    unknown_table = {}
    unknown_column = {}

    def __init__(self, model, connection, editor, catalog):
        self.model, self.connection, self.editor, self.catalog = model, connection, editor, catalog
        self.meta = model._meta
        self.table = Table(self.meta.db_table, **self.unknown_table)

    def column_name(self, field_name):
        return self.meta.get_field(field_name).column

    def build(self):
        for field in self.meta.local_concrete_fields:
            self.add_field(field)
        self.add_primary_key()
        self.add_meta_constraints()
        self.add_meta_indexes()
        return self.table

    def add_field(self, field):
        db_type = field.db_type(self.connection)
        if db_type is None:
            return
        self.table.columns.append(self.column(field, normalise(self.connection.vendor, db_type)))
        if field.unique and not field.primary_key:
            self.table.uniques.append(self.unique(None, (field.column,)))
        if field.remote_field and field.db_constraint and self.connection.features.supports_foreign_keys:
            self.table.foreign_keys.append(self.foreign_key(field))
        if self.editor._field_should_be_indexed(self.model, field):
            name = self.editor._create_index_name(self.meta.db_table, [field.column], suffix="")
            self.table.indexes.append(self.index(name, (field.column,)))

    def column(self, field, db_type):
        return Column(field.column, db_type, field.null and not field.primary_key, **self.unknown_column)

    def add_primary_key(self):
        pk = self.meta.pk
        fields = pk.fields if isinstance(pk, CompositePrimaryKey) else [pk]
        self.table.primary_key.append(self.primary_key(tuple(f.column for f in fields)))

    def add_meta_constraints(self):
        for field_names in self.meta.unique_together:
            columns = [self.column_name(f) for f in field_names]
            name = self.editor._create_index_name(self.meta.db_table, columns, suffix="_uniq")
            self.table.uniques.append(self.unique(name, tuple(columns)))
        for constraint in self.meta.constraints:
            if isinstance(constraint, UniqueConstraint):
                self.add_unique_constraint(constraint)
            else:
                self.add_other_constraint(constraint)

    def add_unique_constraint(self, constraint):
        columns = tuple(self.column_name(f) for f in constraint.fields)
        if constraint.condition is None and not constraint.expressions:
            include = tuple(self.column_name(f) for f in constraint.include)
            self.table.uniques.append(self.unique(
                constraint.name, columns, constraint.deferrable is not None, constraint.nulls_distinct is not False, include,
            ))
        else:
            predicate = constraint.condition and _compile(self.model, self.editor, condition=constraint.condition)
            self.table.indexes.append(self.index(constraint.name, columns, unique=True, predicate=predicate))

    def add_other_constraint(self, constraint):
        """CHECK and EXCLUDE constraints: compared on PostgreSQL only."""

    def add_meta_indexes(self):
        for index in self.meta.indexes:
            keys = None if index.expressions else tuple(  # expression indexes are matched by name only
                f"{self.column_name(name)} DESC" if order == "DESC" else self.column_name(name)
                for name, order in index.fields_orders
            )
            predicate = index.condition and _compile(self.model, self.editor, condition=index.condition)
            include = tuple(self.column_name(name) for name in index.include)
            self.table.indexes.append(self.index(
                index.name, keys, predicate=predicate, opclasses=tuple(index.opclasses), include=include,
                method=_index_method(index),
            ))


class PostgresTableBuilder(TableBuilder):
    """What ``migrate`` builds on PostgreSQL, including what PostgreSQL records for it unasked (postgres_defaults)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.table.catalog = defaults("table")

    def column(self, field, db_type):
        default = "" if field.db_default is NOT_PROVIDED else normalise_sql(
            _compile(self.model, self.editor, expression=field._db_default_expression))
        identity = "by default" if isinstance(field, AUTO_FIELDS) else ""
        return Column(
            field.column, db_type, field.null and not field.primary_key, None, getattr(field, "db_collation", None) or "",
            default, "", identity, defaults("column"),
        )

    def add_field(self, field):
        super().add_field(field)
        if field.db_type(self.connection) is None:
            return
        if isinstance(field, EnumField):
            self.catalog.enums[field.enum_name] = Enum(field.enum_name, tuple(field.labels))
        check = field.db_parameters(connection=self.connection)["check"]
        if check:
            self.table.checks.append(Check(f"{self.meta.db_table}_{field.column}_check", normalise_sql(check), True,
                                           defaults("check")))
        if (field.db_index or field.unique) and self.editor._create_like_index_sql(self.model, field) is not None:
            opclass = "varchar_pattern_ops" if field.db_type(self.connection).startswith("varchar") else "text_pattern_ops"
            name = self.editor._create_index_name(self.meta.db_table, [field.column], suffix="_like")
            self.table.indexes.append(self.index(name, (field.column,), opclasses=(opclass,)))

    def foreign_key(self, field):
        target = field.target_field
        if isinstance(field, ImmediateForeignKey):
            name, deferred = field.constraint_name(), False
        else:
            name = _unquote(self.editor._fk_constraint_name(self.model, field, "_fk_%(to_table)s_%(to_column)s"))
            deferred = True
        # Django 5.2 never writes ON DELETE: the database default applies.
        return ForeignKey(
            name, (field.column,), target.model._meta.db_table, (target.column,), "NO ACTION", "NO ACTION",
            deferred, deferred, True, self.catalog.schema, "SIMPLE", True, defaults("foreign_key"),
        )

    def unique(self, name, columns, deferrable=False, nulls_distinct=True, include=()):
        return Unique(name, columns, deferrable, nulls_distinct, include, defaults("unique"))

    def primary_key(self, columns):
        # PostgreSQL names a primary key declared in CREATE TABLE <table>_pkey.
        return PrimaryKey(f"{self.meta.db_table}_pkey", columns, False, (), defaults("primary_key"))

    def index(self, name, keys, unique=False, predicate=None, opclasses=(), include=(), method="btree"):
        opclasses = opclasses or ((None,) * len(keys or ()))
        return Index(name, keys, unique, method, normalise_sql(predicate) or "", opclasses, include,
                     (None,) * len(keys or ()), defaults("index"))

    def add_other_constraint(self, constraint):
        if isinstance(constraint, CheckConstraint):
            self.table.checks.append(Check(constraint.name, normalise_sql(
                _compile(self.model, self.editor, condition=constraint.condition)), True, defaults("check")))
        else:  # ExclusionConstraint (django.contrib.postgres): matched by name
            self.table.exclusions.append(Exclusion(constraint.name))

    def build(self):
        table = super().build()
        for trigger in getattr(self.meta, "triggers", []):
            table.triggers.append(self.trigger(trigger))
        key = partition_key(self.meta)
        if key:
            self.partitioned(table, key)
        return table

    def add_primary_key(self):
        super().add_primary_key()
        key = partition_key(self.meta)
        primary_key = self.table.primary_key[0]
        if key and key not in primary_key.columns:  # a partitioned table's primary key includes the partition key
            self.table.primary_key[0] = dataclasses.replace(primary_key, columns=(*primary_key.columns, key))

    @staticmethod
    def partitioned(table, key):
        """Monthly range partitions by ``key`` (ecomind_core/partitions/): which months exist is not a schema matter.

        Which partitions exist changes every month (maintain_partitions,
        retention), so ``children`` is not compared; catalog/partitions.py
        compares each partition there is, as its parent makes it. A
        partitioned table has no access method, and its indexes are
        partitioned indexes.
        """
        table.kind, table.partitioning, table.children, table.access_method = "p", f"RANGE ({key})", None, None
        for index in (*table.primary_key, *table.indexes, *table.uniques):
            index.catalog["pg_class.relkind"] = Default("I", "drop it and recreate it on the partitioned table", RELKIND)

    def trigger(self, trigger):
        """django-pgtrigger's trigger as a migration state holds it (compiled), and the functions it runs."""
        sql = trigger.sql
        kwargs = {**sql.defaults, **sql.kwargs}
        events = " OR ".join(sorted(kwargs["operation"].split(" OR ")))
        condition = re.sub(r"^\s*WHEN\s*", "", kwargs.get("condition", ""), flags=re.IGNORECASE)
        for name, body, language in _FUNCTION.findall(str(sql)):
            qualified = _unquote(name) if "." in name else f"{self.catalog.schema}.{name}"
            self.catalog.functions[qualified] = Function(
                qualified, normalise_space(body), self.meta.db_table, language.lower(), defaults("function"))
        function = f"{self.catalog.schema}.{kwargs['pgid']}"
        return Trigger(kwargs["pgid"], f"{kwargs['when']} {events}", kwargs["level"], "origin",
                       normalise_sql(condition) or "", function, defaults("trigger", drop=self.undeclared(kwargs)))

    @staticmethod
    def undeclared(kwargs):
        """Trigger catalog columns whose value depends on options this builder does not derive (not compared then)."""
        drop = set()
        if kwargs.get("referencing"):
            drop |= {"pg_trigger.tgoldtable", "pg_trigger.tgnewtable"}
        if kwargs.get("timing") or kwargs.get("constraint"):
            drop |= {f"pg_trigger.{c}" for c in ("tgconstrrelid", "tgconstrindid", "tgconstraint", "tgdeferrable",
                                                  "tginitdeferred")}
        if " OF " in kwargs.get("operation", "").upper():
            drop.add("pg_trigger.tgattr")
        return drop


class SQLiteTableBuilder(TableBuilder):
    unknown_table = dict(persistence=None, partitioning=None, parents=None, children=None, row_security=None,
                         forced_row_security=None, kind=None, access_method=None)
    unknown_column = dict(collation=None, default=None, generated=None, identity=None)

    def column(self, field, db_type):
        column = super().column(field, db_type)
        if isinstance(field, EnumField):
            # SQLite has no enum types: EnumField is a CHECK (col IN (...)) there.
            return Column(column.name, column.type, column.nullable, tuple(field.labels), **self.unknown_column)
        return column

    def foreign_key(self, field):
        # SQLite declares foreign keys inline, unnamed; deferrability is
        # not visible through its pragmas.
        target = field.target_field
        return ForeignKey(None, (field.column,), target.model._meta.db_table, (target.column,), "NO ACTION",
                          None, None, None, None, None, None, None)

    def unique(self, name, columns, deferrable=None, nulls_distinct=None, include=None):
        return Unique(name, columns, None, None, None)

    def primary_key(self, columns):
        return PrimaryKey(None, columns, None, None)

    def index(self, name, keys, unique=False, predicate=None, opclasses=(), include=(), method=None):
        return Index(name, keys, unique, None, normalise_sql(predicate) or "", None, include, None)


BUILDERS = {"postgresql": PostgresTableBuilder, "sqlite": SQLiteTableBuilder}


def expected_catalog(apps, connection):
    """The catalog the managed models of ``apps`` should have on ``connection``."""
    catalog = Catalog(vendor=connection.vendor, schema=getattr(connection, "schema_name", None))
    builder = BUILDERS[connection.vendor]
    editor = connection.schema_editor(collect_sql=True)
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy or meta.swapped:
            continue
        catalog.tables[meta.db_table] = builder(model, connection, editor, catalog).build()
    return catalog
