"""Compare an expected catalog with a live one, object by object, into findings.

The rule for severity: differences on tables the project owns (its models'
tables) are errors; anything it does not own (other apps' tables, tables no
model describes such as the legacy ``alembic_version``, enum types no owned
column uses) is a warning.
"""

from .expected import normalise_sql
from .findings import ERROR, WARNING, Finding

#: Tables that belong to the tooling rather than to any model.
BOOKKEEPING_TABLES = {"django_migrations"}


def _show(value):
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return value


class _Comparison:
    def __init__(self, expected, live, owned_tables):
        self.expected, self.live, self.owned = expected, live, set(owned_tables)
        self.findings = []

    def add(self, kind, obj, expected, actual, hint, table):
        severity = ERROR if table in self.owned else WARNING
        self.findings.append(Finding(kind, obj, _show(expected), _show(actual), severity, hint, table))

    # -- tables ----------------------------------------------------------
    def run(self):
        for name, table in self.expected.tables.items():
            live = self.live.tables.get(name)
            if live is None:
                self.add("table_missing", name, "present", "absent", "run `manage.py migrate`, or restore the table", name)
            else:
                self.compare_table(table, live)
        for name in sorted(set(self.live.tables) - set(self.expected.tables) - BOOKKEEPING_TABLES):
            self.findings.append(Finding(
                "table_unowned", name, "absent", "present", WARNING,
                "not described by any model of this project; left untouched", name,
            ))
        self.compare_enums()
        return self.findings

    def compare_table(self, expected, live):
        self.compare_columns(expected, live)
        self.compare_primary_key(expected, live)
        self.compare_named(expected.name, "foreign_key", expected.foreign_keys, live.foreign_keys, self.foreign_key_differences)
        self.compare_named(expected.name, "unique", expected.uniques, live.uniques, self.unique_differences)
        self.compare_named(expected.name, "check", expected.checks, live.checks, self.check_differences)
        self.compare_named(expected.name, "exclusion", expected.exclusions, live.exclusions, lambda want, have: [])
        self.compare_named(expected.name, "index", expected.indexes, live.indexes, self.index_differences)
        self.compare_named(expected.name, "trigger", expected.triggers, live.triggers, self.trigger_differences,
                           fix="`manage.py pgtrigger install` recreates and enables django-pgtrigger's triggers")

    # -- columns ---------------------------------------------------------
    def compare_columns(self, expected, live):
        t = expected.name
        for column in expected.columns:
            found = live.column(column.name)
            obj = f"{t}.{column.name}"
            if found is None:
                self.add("column_missing", obj, column.type, "absent", "run `manage.py migrate`, or add the column back", t)
                continue
            if found.type != column.type:
                self.add("column_type", obj, column.type, found.type,
                         f"ALTER TABLE {t} ALTER COLUMN {column.name} TYPE {column.type}", t)
            if found.nullable != column.nullable:
                fix = "DROP NOT NULL" if column.nullable else "SET NOT NULL"
                self.add("column_nullability", obj, "NULL" if column.nullable else "NOT NULL",
                         "NULL" if found.nullable else "NOT NULL", f"ALTER TABLE {t} ALTER COLUMN {column.name} {fix}", t)
            if found.collation != column.collation:
                collate = f'"{column.collation}"' if column.collation else 'pg_catalog."default"'
                self.add("column_collation", obj, column.collation or "the type's default", found.collation or "the type's default",
                         f"ALTER TABLE {t} ALTER COLUMN {column.name} TYPE {column.type} COLLATE {collate}", t)
            if column.allowed_values is not None and found.allowed_values != column.allowed_values:
                self.add("column_allowed_values", obj, column.allowed_values, found.allowed_values or "any value",
                         "the table's CHECK constraint differs: rebuild it with `manage.py migrate`", t)
        expected_names = [c.name for c in expected.columns]
        for column in live.columns:
            if column.name not in expected_names:
                self.add("column_unexpected", f"{t}.{column.name}", "absent", column.type,
                         "no model field describes this column: add one in a migration, or drop it", t)
        if self.live.vendor == "sqlite":
            return  # SQLite rebuilds a table to alter a column and puts it last
        common_live = [c.name for c in live.columns if c.name in expected_names]
        common_expected = [n for n in expected_names if n in common_live]
        if common_live != common_expected:
            self.add("column_order", t, tuple(common_expected), tuple(common_live),
                     "columns are in another order than the migrations create them; recreate the table to fix", t)

    def compare_primary_key(self, expected, live):
        t = expected.name
        want, have = expected.primary_key, live.primary_key
        if have is None:
            self.add("primary_key_missing", t, want.columns, "absent", f"ALTER TABLE {t} ADD PRIMARY KEY ({', '.join(want.columns)})", t)
        elif have.columns != want.columns or (want.name and have.name != want.name) or have.deferrable != want.deferrable:
            def show(pk):
                return f"{pk.name or ''} ({', '.join(pk.columns)}){' DEFERRABLE' if pk.deferrable else ''}".strip()

            self.add("primary_key_changed", want.name or t, show(want), show(have),
                     "recreate the primary key as the migrations define it", t)

    # -- named objects (constraints and indexes) -------------------------
    def compare_named(self, table, what, expected_items, live_items, differences, fix=None):
        live_by_name = {item.name: item for item in live_items if item.name}
        unmatched_live = list(live_items)
        for item in expected_items:
            found = live_by_name.get(item.name) if item.name else None
            if found is None and item.name is None:
                # Django leaves some names to the path that creates them:
                # match those by their columns.
                found = next((x for x in unmatched_live if x.columns == item.columns), None)
            label = item.name or f"{what} on ({_show(item.columns)})"
            if found is None:
                self.add(f"{what}_missing", label, self.describe(item), "absent",
                         fix or "run `manage.py migrate`, or recreate it as the migrations define it", table)
                continue
            unmatched_live = [x for x in unmatched_live if x is not found]
            for attribute, want, have in differences(item, found):
                self.add(f"{what}_changed", label, f"{attribute}: {_show(want)}", f"{attribute}: {_show(have)}",
                         fix or "drop it and recreate it as the migrations define it", table)
        for found in unmatched_live:
            self.add(f"{what}_unexpected", found.name or what, "absent", self.describe(found),
                     "no model or migration defines it: add it to a model, or drop it", table)

    @staticmethod
    def describe(item):
        keys = (getattr(item, "keys", None) or getattr(item, "columns", None)
                or getattr(item, "definition", None) or getattr(item, "fires", ""))
        return f"({_show(keys)})" if isinstance(keys, tuple) else keys

    @staticmethod
    def foreign_key_differences(want, have):
        pairs = [
            ("columns", want.columns, have.columns),
            ("references", (want.target_table, *want.target_columns), (have.target_table, *have.target_columns)),
            ("on delete", want.on_delete, have.on_delete),
            ("on update", want.on_update, have.on_update),
            ("validated", want.validated, have.validated),
        ]
        if want.deferrable is not None and have.deferrable is not None:
            pairs.append(("deferrable", want.deferrable, have.deferrable))
            pairs.append(("initially deferred", want.initially_deferred, have.initially_deferred))
        return [p for p in pairs if p[1] != p[2]]

    @staticmethod
    def unique_differences(want, have):
        pairs = [
            ("columns", want.columns, have.columns),
            ("nulls distinct", want.nulls_distinct, have.nulls_distinct),
        ]
        if want.deferrable is not None and have.deferrable is not None:
            pairs.append(("deferrable", want.deferrable, have.deferrable))
        return [p for p in pairs if p[1] != p[2]]

    @staticmethod
    def check_differences(want, have):
        pairs = [("validated", want.validated, have.validated)]
        if normalise_sql(want.definition) not in normalise_sql(have.definition):
            pairs.append(("definition", want.definition, have.definition))
        return [p for p in pairs if p[1] != p[2]]

    @staticmethod
    def trigger_differences(want, have):
        pairs = [("fires", want.fires, have.fires), ("enabled", want.enabled, have.enabled)]
        return [p for p in pairs if p[1] != p[2]]

    @staticmethod
    def index_differences(want, have):
        pairs = [("unique", want.unique, have.unique)]
        if want.keys is not None:
            pairs.append(("columns", want.keys, have.keys))
        if want.method is not None:
            pairs.append(("method", want.method, have.method))
            pairs.append(("operator classes", tuple(want.opclasses) or (None,) * len(have.opclasses), have.opclasses))
            pairs.append(("collations", tuple(want.collations) or (None,) * len(have.collations), have.collations))
            pairs.append(("valid", want.valid, have.valid))
        pairs.append(("include", want.include, have.include))
        pairs.append(("predicate", normalise_sql(want.predicate), normalise_sql(have.predicate)))
        return [p for p in pairs if p[1] != p[2]]

    # -- enum types --------------------------------------------------------
    def compare_enums(self):
        users = {}
        for table in self.expected.tables.values():
            for column in table.columns:
                if column.type in self.expected.enums:
                    users.setdefault(column.type, table.name)
        for name, labels in self.expected.enums.items():
            table = users.get(name)
            found = self.live.enums.get(name)
            if found is None:
                self.add("enum_missing", name, labels, "absent", "run `manage.py migrate`, or recreate the type", table)
            elif tuple(found) != tuple(labels):
                self.add("enum_labels", name, labels, found, self.enum_hint(name, labels, found), table)
        for name in sorted(set(self.live.enums) - set(self.expected.enums)):
            self.findings.append(Finding("enum_unowned", name, "absent", _show(tuple(self.live.enums[name])), WARNING,
                                         "no model field uses this type; left untouched", None))

    @staticmethod
    def enum_hint(name, labels, found):
        if [label.lower() for label in found] == list(labels):
            return "labels differ only in case: `manage.py baseline --rename-enum-labels` renames them in place"
        return f"ALTER TYPE {name} RENAME VALUE / ADD VALUE to make the labels {', '.join(labels)}"


def compare(expected, live, owned_tables):
    """Findings for every difference between ``expected`` and ``live``."""
    return _Comparison(expected, live, owned_tables).run()
