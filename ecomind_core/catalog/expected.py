"""Derive the catalog that a set of models should have on a connection.

Nothing here is a list of tables or columns: everything comes from the
models (normally a migration state's rendered models) and from the same
naming functions the schema editor uses when it builds them, so that what
``migrate`` creates and what ``verify_schema`` expects cannot drift apart.
"""

import re

from django.db.models import CheckConstraint, CompositePrimaryKey, UniqueConstraint

from ecomind_core.fields import EnumField, ImmediateForeignKey

from .objects import Catalog, Check, Column, ForeignKey, Index, PrimaryKey, Table, Trigger, Unique
from .types import normalise


def _unquote(name):
    return str(name).strip('"')


def _index_method(index):
    # Django's Index has suffix "idx"; PostgreSQL index classes name their method.
    suffix = getattr(index, "suffix", "idx")
    return "btree" if suffix == "idx" else suffix


def _compile_condition(model, condition, editor):
    from django.db.models.sql import Query

    query = Query(model=model, alias_cols=False)
    where = query.build_where(condition)
    compiler = query.get_compiler(connection=editor.connection)
    sql, params = where.as_sql(compiler, editor.connection)
    return sql % tuple(editor.quote_value(p) for p in params)


class _TableBuilder:
    """Builds one model's :class:`Table` on one connection."""

    def __init__(self, model, connection, editor):
        self.model, self.connection, self.editor = model, connection, editor
        self.vendor = connection.vendor
        self.meta = model._meta
        self.table = Table(self.meta.db_table)

    def column_name(self, field_name):
        return self.meta.get_field(field_name).column

    def build(self, enums):
        for field in self.meta.local_concrete_fields:
            self.add_field(field, enums)
        self.add_primary_key()
        self.add_meta_constraints()
        self.add_meta_indexes()
        if self.vendor == "postgresql":
            self.add_triggers()
        return self.table

    def add_triggers(self):
        # django-pgtrigger's triggers, as a migration state holds them
        # (compiled: the name PostgreSQL knows, timing and events).
        for trigger in getattr(self.meta, "triggers", []):
            sql = trigger.sql.kwargs
            events = " OR ".join(sorted(sql["operation"].split(" OR ")))
            self.table.triggers.append(Trigger(sql["pgid"], f"{sql['when']} {events}"))

    def add_field(self, field, enums):
        db_type = field.db_type(self.connection)
        if db_type is None:
            return
        allowed = None
        if isinstance(field, EnumField):
            if self.vendor == "postgresql":
                enums[field.enum_name] = tuple(field.labels)
            else:
                allowed = tuple(field.labels)
        nullable = field.null and not field.primary_key
        collation = getattr(field, "db_collation", None) if self.vendor == "postgresql" else None
        self.table.columns.append(Column(field.column, normalise(self.vendor, db_type), nullable, allowed, collation))
        self.add_field_constraints(field)
        self.add_field_indexes(field)

    def add_field_constraints(self, field):
        if field.unique and not field.primary_key:
            self.table.uniques.append(Unique(None, (field.column,)))
        check = field.db_parameters(connection=self.connection)["check"]
        if check and self.vendor == "postgresql":
            self.table.checks.append(Check(f"{self.meta.db_table}_{field.column}_check", check))
        if field.remote_field and field.db_constraint and self.connection.features.supports_foreign_keys:
            self.table.foreign_keys.append(self.foreign_key(field))

    def foreign_key(self, field):
        target = field.target_field
        if self.vendor != "postgresql":
            # SQLite declares foreign keys inline, unnamed; deferrability is
            # not visible through its pragmas.
            return ForeignKey(None, (field.column,), target.model._meta.db_table, (target.column,), "NO ACTION", None, None)
        if isinstance(field, ImmediateForeignKey):
            name, deferred = field.constraint_name(), False
        else:
            name = _unquote(self.editor._fk_constraint_name(self.model, field, "_fk_%(to_table)s_%(to_column)s"))
            deferred = True
        # Django 5.2 never writes ON DELETE: the database default applies.
        return ForeignKey(name, (field.column,), target.model._meta.db_table, (target.column,), "NO ACTION", deferred, deferred)

    def add_field_indexes(self, field):
        table = self.meta.db_table
        if self.editor._field_should_be_indexed(self.model, field):
            name = self.editor._create_index_name(table, [field.column], suffix="")
            self.table.indexes.append(Index(name, (field.column,), False, self.btree(), None, self.no_opclasses(1)))
        if self.vendor == "postgresql" and (field.db_index or field.unique):
            statement = self.editor._create_like_index_sql(self.model, field)
            if statement is not None:
                opclass = "varchar_pattern_ops" if field.db_type(self.connection).startswith("varchar") else "text_pattern_ops"
                name = self.editor._create_index_name(table, [field.column], suffix="_like")
                self.table.indexes.append(Index(name, (field.column,), False, "btree", None, (opclass,)))

    def btree(self):
        return "btree" if self.vendor == "postgresql" else None

    def no_opclasses(self, count):
        return (None,) * count if self.vendor == "postgresql" else ()

    def add_primary_key(self):
        pk = self.meta.pk
        fields = pk.fields if isinstance(pk, CompositePrimaryKey) else [pk]
        # PostgreSQL names a primary key declared in CREATE TABLE <table>_pkey.
        name = f"{self.meta.db_table}_pkey" if self.vendor == "postgresql" else None
        self.table.primary_key = PrimaryKey(name, tuple(f.column for f in fields))

    def add_meta_constraints(self):
        for field_names in self.meta.unique_together:
            columns = [self.column_name(f) for f in field_names]
            name = self.editor._create_index_name(self.meta.db_table, columns, suffix="_uniq")
            self.table.uniques.append(Unique(name, tuple(columns)))
        for constraint in self.meta.constraints:
            if isinstance(constraint, UniqueConstraint):
                columns = tuple(self.column_name(f) for f in constraint.fields)
                if constraint.condition is None and not constraint.expressions and not constraint.include:
                    self.table.uniques.append(Unique(
                        constraint.name, columns, constraint.deferrable is not None, constraint.nulls_distinct is not False,
                    ))
                else:
                    predicate = constraint.condition and _compile_condition(self.model, constraint.condition, self.editor)
                    include = tuple(self.column_name(f) for f in constraint.include)
                    self.table.indexes.append(Index(
                        constraint.name, columns, True, self.btree(), predicate, self.no_opclasses(len(columns)), include,
                    ))
            elif isinstance(constraint, CheckConstraint):
                if self.vendor == "postgresql":
                    self.table.checks.append(Check(constraint.name, _compile_condition(self.model, constraint.condition, self.editor)))
            elif self.vendor == "postgresql":
                # ExclusionConstraint (django.contrib.postgres): matched by name.
                self.table.exclusions.append(Check(constraint.name, ""))

    def add_meta_indexes(self):
        for index in self.meta.indexes:
            if index.expressions:
                keys = None  # expression indexes are matched by name only
            else:
                keys = tuple(
                    f"{self.column_name(name)} DESC" if order == "DESC" else self.column_name(name)
                    for name, order in index.fields_orders
                )
            predicate = index.condition and _compile_condition(self.model, index.condition, self.editor)
            opclasses = tuple(index.opclasses) or self.no_opclasses(len(keys or ()))
            method = _index_method(index) if self.vendor == "postgresql" else None
            include = tuple(self.column_name(name) for name in index.include)
            self.table.indexes.append(Index(index.name, keys, False, method, predicate or None, opclasses, include))


def expected_catalog(apps, connection):
    """The catalog the managed models of ``apps`` should have on ``connection``."""
    catalog = Catalog(vendor=connection.vendor)
    editor = connection.schema_editor(collect_sql=True)
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy or meta.swapped:
            continue
        catalog.tables[meta.db_table] = _TableBuilder(model, connection, editor).build(catalog.enums)
    return catalog


_CAST = re.compile(r"::[a-z_ ]+(\[\])?")


def normalise_sql(text):
    """Loose form of an SQL predicate for comparison: no quotes, casts, parentheses or spaces."""
    if text is None:
        return None
    return re.sub(r"[\s()\"]", "", _CAST.sub("", text.lower()))
