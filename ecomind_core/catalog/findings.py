"""Findings, and the registry of every kind of finding with its severity and hint.

The severity rule: a difference on a table that a migration of any installed
application builds (EcoMind's eight, and Django's, django-axes' and
django-otp's, on which staff sign-in rests) is an error; on anything no
migration describes (tables such as the legacy ``alembic_version``, enum
types no column uses) it is a warning. A kind may fix its severity instead:
harmful settings are errors wherever they are set; a table's owner, a
publication that does not block writes, risky and unknown settings are
only ever warnings.

Hints are templates over the finding: ``{table}``, ``{name}`` (the object's
own name), ``{expected}``, ``{actual}``, ``{schema}``.
"""

from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    kind: str
    #: What it is about: ``table``, ``table.column``, an index or constraint name...
    object: str
    expected: object
    actual: object
    severity: str
    hint: str
    #: The table it belongs to, for grouping the report (None: database-wide).
    table: str | None = None
    #: The catalog column(s) that differ ("pg_index.indisready"), when one attribute differs.
    catalog_column: str | None = None

    def as_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class Kind:
    name: str
    #: A template over the finding's fields, or a function of them.
    hint: object
    #: None: by the severity rule above; else always this.
    severity: str | None = None

    def severity_for(self, table, owned_tables):
        if self.severity is not None:
            return self.severity
        return ERROR if table in owned_tables else WARNING


_RECREATE = "drop it and recreate it as the migrations define it"
_MIGRATE = "run `manage.py migrate`, or recreate it as the migrations define it"
_ADD_OR_DROP = "no model or migration defines it: add it to a model, or drop it"

KINDS = {kind.name: kind for kind in (
    # tables
    Kind("table_missing", "run `manage.py migrate`, or restore the table"),
    Kind("table_unowned", "not described by any model of this project; left untouched", WARNING),
    Kind("table_persistence", "ALTER TABLE {table} SET LOGGED (an unlogged table is emptied by a crash)"),
    Kind("table_partitioning", "recreate {table} as a plain table and move its rows back"),
    Kind("table_inheritance", "ALTER TABLE ... NO INHERIT / DETACH PARTITION: rows of another table show in {table}"),
    Kind("table_row_security", "ALTER TABLE {table} DISABLE ROW LEVEL SECURITY (and NO FORCE ROW LEVEL SECURITY)"),
    Kind("table_owner", "ALTER TABLE {table} OWNER TO {expected}, so one role owns every EcoMind table", WARNING),
    Kind("table_shadowed", "drop or rename {name}: clients that do not name the schema reach it instead of {schema}.{table}"),
    Kind("table_kind", "recreate {table} as the migrations define it and move its rows back"),
    Kind("table_access_method", "ALTER TABLE {table} SET ACCESS METHOD {expected}"),
    Kind("table_changed", "recreate {table} as the migrations define it"),
    Kind("publication_unexpected", "a publication publishes it; writes still work (its replica identity can be sent): "
                            "left to the operator", WARNING),
    Kind("publication_blocks_writes", "ALTER PUBLICATION {publication} DROP TABLE {table}, or publish the replica "
                                      "identity's columns (docs/verify_schema.md)"),
    Kind("table_unrecorded", "a migration not yet recorded would create it, and `migrate` would fail: drop or "
                             "rename the table, or record that migration first (docs/runbooks/baselining.md)"),
    # columns
    Kind("column_missing", "run `manage.py migrate`, or add the column back"),
    Kind("column_unexpected", "no model field describes this column: add one in a migration, or drop it"),
    Kind("column_type", "ALTER TABLE {table} ALTER COLUMN {name} TYPE {expected}"),
    Kind("column_nullability", lambda f: "ALTER TABLE {table} ALTER COLUMN {name} {change}".format(
        change="SET NOT NULL" if f["expected"] == "NOT NULL" else "DROP NOT NULL", **f)),
    Kind("column_collation", "ALTER TABLE {table} ALTER COLUMN {name} TYPE ... COLLATE as expected"),
    Kind("column_allowed_values", "the table's CHECK constraint differs: rebuild it with `manage.py migrate`"),
    Kind("column_default", "ALTER TABLE {table} ALTER COLUMN {name} SET DEFAULT / DROP DEFAULT as the models say"),
    Kind("column_generated", "a generated column refuses the values clients write: recreate {table}.{name} as a plain column"),
    Kind("column_identity", "ALTER TABLE {table} ALTER COLUMN {name} ADD / DROP IDENTITY as the models say"),
    Kind("column_changed", "recreate {table}.{name} as the migrations define it"),
    # partitions (ecomind_core/catalog/partitions.py)
    Kind("partition_trigger_missing", "`manage.py maintain_partitions` gives partition {name} its table's trigger {trigger}: "
                                      "statements naming the partition itself skip the table's statement-level triggers"),
    Kind("partition_unexpected", "ALTER TABLE {table} DETACH PARTITION {name}: a table attached by hand, whose rows show "
                                 "in {table} (ours are whole months, and the legacy partition)"),
    Kind("partition_default", "detach the default partition {name} and move its rows into monthly partitions: it forbids "
                              "DETACH ... CONCURRENTLY, so retention stops (docs/runbooks/partitioning.md)"),
    # constraints and indexes
    Kind("primary_key_missing", "ALTER TABLE {table} ADD PRIMARY KEY {expected}"),
    Kind("primary_key_changed", "recreate the primary key as the migrations define it"),
    Kind("primary_key_unexpected", _ADD_OR_DROP),
    Kind("foreign_key_missing", _MIGRATE),
    Kind("foreign_key_changed", _RECREATE),
    Kind("foreign_key_unexpected", _ADD_OR_DROP),
    Kind("unique_missing", _MIGRATE),
    Kind("unique_changed", _RECREATE),
    Kind("unique_unexpected", _ADD_OR_DROP),
    Kind("check_missing", _MIGRATE),
    Kind("check_changed", _RECREATE),
    Kind("check_unexpected", _ADD_OR_DROP),
    Kind("exclusion_missing", _MIGRATE),
    Kind("exclusion_unexpected", _ADD_OR_DROP),
    Kind("index_missing", _MIGRATE),
    Kind("index_changed", _RECREATE),
    Kind("index_unexpected", _ADD_OR_DROP),
    # behaviour: triggers, their functions, rules, row-level security, settings
    Kind("trigger_missing", "`manage.py pgtrigger install` recreates django-pgtrigger's triggers"),
    Kind("trigger_changed", "`manage.py pgtrigger install` recreates django-pgtrigger's triggers as declared "
                            "(ALTER TABLE {table} ENABLE TRIGGER {name} if only disabled)"),
    Kind("trigger_unexpected", _ADD_OR_DROP),
    Kind("function_missing", "`manage.py pgtrigger install` recreates the functions of django-pgtrigger's triggers"),
    Kind("function_changed", "the function was replaced by hand: `manage.py pgtrigger install` restores it"),
    Kind("rule_unexpected", "a rule rewrites what clients ask for: DROP RULE {name} ON {table}"),
    Kind("policy_unexpected", "DROP POLICY {name} ON {table} (a policy hides rows from roles it does not match)"),
    Kind("setting_replication_role", "no trigger and no foreign key fires under it: RESET session_replication_role "
                                     "where it is set (ALTER DATABASE / ALTER ROLE ... RESET)", ERROR),
    Kind("setting_harmful", "RESET it where it is set (ALTER DATABASE / ALTER ROLE ... RESET)", ERROR),
    Kind("setting_risky", "RESET it where it is set if that is not meant", WARNING),
    Kind("setting_unreviewed", "check what it does, then RESET it or add it to the allow-list", WARNING),
    # the catalog itself
    Kind("catalog_column_unreviewed", "this PostgreSQL records something this release does not compare: run the release "
                                   "that knows it, or decide it (allowed.py or postgres_defaults.py, "
                                   "docs/verify_schema.md)", ERROR),
    # enum types
    Kind("enum_missing", "run `manage.py migrate`, or recreate the type"),
    Kind("enum_labels", "ALTER TYPE {name} RENAME VALUE / ADD VALUE to make the labels {expected}"),
    Kind("enum_unowned", "no model field uses this type; left untouched", WARNING),
    # migrations
    Kind("migration_unapplied", "run `manage.py migrate`"),
    Kind("migration_post_deploy_pending", "after the rollout, run `manage.py migrate` (the post-deploy step)", WARNING),
    Kind("migration_unknown", "the database is ahead of this code: deploy the release that has this migration"),
    Kind("migration_beyond_target", "applied, but after the migration asked for (--at): `manage.py rollback --to` it"),
    Kind("migration_state_unreadable", "grant SELECT on django_migrations to this role to check which migrations are applied",
         WARNING),
    Kind("models_unmigrated", "run `manage.py makemigrations` and commit the migration"),
)}

#: Kinds about objects nothing of this project describes: summarised in text reports.
UNOWNED_KINDS = ("table_unowned", "enum_unowned")


def finding(kind_name, obj, expected, actual, *, table=None, owned_tables=(), severity=None, hint=None,
            catalog_column=None, **names):
    """A Finding of a registered kind; the hint is filled from the registry's template unless given."""
    kind = KINDS[kind_name]
    fill = {"table": table, "name": obj, "expected": expected, "actual": actual, **names}
    if hint is None:
        hint = kind.hint(fill) if callable(kind.hint) else kind.hint.format(**fill)
    return Finding(kind_name, obj, expected, actual, severity or kind.severity_for(table, owned_tables), hint, table,
                   catalog_column)


def has_errors(findings, strict=False):
    return any(f.severity == ERROR or strict for f in findings)
