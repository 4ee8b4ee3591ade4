"""Schema editor that builds what ecomind_core.fields declare.

* Enum types: created before the first table that uses them, dropped with the
  last column that uses them, labels added when choices grow.
* Foreign keys of :class:`ImmediateForeignKey`: PostgreSQL's name, NOT DEFERRABLE.
* No ``_like`` pattern index for fields with ``pattern_ops_index = False``.
* Concurrent builds and ``VALIDATE CONSTRAINT`` outside a transaction run with
  ``lock_timeout`` off and their waits reported (ecomind_core/db/concurrent.py).
"""

from django.db import NotSupportedError
from django.db.backends.base.schema import BaseDatabaseSchemaEditor, logger
from django.db.backends.postgresql import schema

from ecomind_core.db.concurrent import run_concurrently, waits_without_blocking
from ecomind_core.fields import EnumField, ImmediateForeignKey


def _enum_fields(model):
    return [field for field in model._meta.local_fields if isinstance(field, EnumField)]


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    sql_create_enum = "CREATE TYPE %(name)s AS ENUM (%(labels)s)"
    sql_add_enum_label = "ALTER TYPE %(name)s ADD VALUE IF NOT EXISTS %(label)s AFTER %(after)s"
    sql_delete_enum = "DROP TYPE IF EXISTS %(name)s"

    def execute(self, sql, params=()):
        if self.collect_sql and self.connection.connection is None:
            # Rendering a migration's SQL with no server (check_migrations):
            # Django's PostgreSQL editor would merge parameters through a
            # live connection; the base editor inlines them with quote_value.
            return BaseDatabaseSchemaEditor.execute(self, sql, params)
        if not self.collect_sql and waits_without_blocking(sql) and self.connection.get_autocommit():
            # A concurrent build or VALIDATE outside a transaction: it blocks
            # no one while it waits, so the short lock_timeout does not apply.
            self._log_statement(sql, params)
            return run_concurrently(self.connection, str(sql), params or None)
        return super().execute(sql, params)

    def _log_statement(self, sql, params):
        # What Django's execute() logs, for the statements that bypass it.
        logger.debug("%s; (params %r)", sql, params, extra={"params": params, "sql": sql})

    # -- enum types ------------------------------------------------------
    def _enum_labels_in_db(self, enum_name):
        """Labels of an existing enum type in order, or None if it is absent."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = to_regtype(%s) ORDER BY e.enumsortorder",
                [self.quote_name(enum_name)],
            )
            labels = [row[0] for row in cursor.fetchall()]
            if labels:
                return labels
            cursor.execute("SELECT to_regtype(%s) IS NOT NULL", [self.quote_name(enum_name)])
            return [] if cursor.fetchone()[0] else None

    def _create_enum(self, field):
        if not self.collect_sql:
            existing = self._enum_labels_in_db(field.enum_name)
            if existing == field.labels:
                return  # another table already uses this type
            if existing is not None:
                raise NotSupportedError(
                    f"Enum type {field.enum_name} exists with labels {existing}, "
                    f"but {field.model.__name__}.{field.name} needs {field.labels}."
                )
        labels = ", ".join(self.quote_value(label) for label in field.labels)
        self.execute(self.sql_create_enum % {"name": self.quote_name(field.enum_name), "labels": labels})

    def _drop_enum_if_unused(self, field):
        if not self.collect_sql:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                    "WHERE a.atttypid = to_regtype(%s) AND NOT a.attisdropped AND c.relkind IN ('r', 'p')",
                    [self.quote_name(field.enum_name)],
                )
                if cursor.fetchone()[0]:
                    return
        self.execute(self.sql_delete_enum % {"name": self.quote_name(field.enum_name)})

    def _add_enum_labels(self, old_field, new_field):
        old, new = old_field.labels, new_field.labels
        if new[: len(old)] != old:
            raise NotSupportedError(
                f"{new_field.model.__name__}.{new_field.name}: enum type {new_field.enum_name} can only "
                f"gain labels at the end ({old} -> {new}); write a RunSQL migration for renames or removals."
            )
        for after, label in zip(new[len(old) - 1:], new[len(old):]):
            self.execute(
                self.sql_add_enum_label
                % {"name": self.quote_name(new_field.enum_name), "label": self.quote_value(label), "after": self.quote_value(after)}
            )

    def create_model(self, model):
        for field in _enum_fields(model):
            self._create_enum(field)
        super().create_model(model)

    def delete_model(self, model):
        super().delete_model(model)
        for field in _enum_fields(model):
            self._drop_enum_if_unused(field)

    def add_field(self, model, field):
        if isinstance(field, EnumField):
            self._create_enum(field)
        super().add_field(model, field)

    def remove_field(self, model, field):
        super().remove_field(model, field)
        if isinstance(field, EnumField):
            self._drop_enum_if_unused(field)

    def alter_field(self, model, old_field, new_field, strict=False):
        old_enum, new_enum = isinstance(old_field, EnumField), isinstance(new_field, EnumField)
        if old_enum and new_enum and old_field.enum_name == new_field.enum_name:
            if old_field.labels != new_field.labels:
                self._add_enum_labels(old_field, new_field)
        elif new_enum:
            self._create_enum(new_field)
        super().alter_field(model, old_field, new_field, strict)
        if old_enum and not (new_enum and old_field.enum_name == new_field.enum_name):
            self._drop_enum_if_unused(old_field)

    # -- foreign keys and pattern indexes --------------------------------
    def _create_fk_sql(self, model, field, suffix):
        if not isinstance(field, ImmediateForeignKey):
            return super()._create_fk_sql(model, field, suffix)
        statement = super()._create_fk_sql(model, field, suffix)
        statement.parts["name"] = self.quote_name(field.constraint_name())
        statement.parts["deferrable"] = ""
        return statement

    def _create_like_index_sql(self, model, field):
        # A text key, and a foreign key to one, is matched by equality only.
        target = getattr(field, "target_field", None)
        if getattr(field, "pattern_ops_index", True) is False or getattr(target, "pattern_ops_index", True) is False:
            return None
        return super()._create_like_index_sql(model, field)


