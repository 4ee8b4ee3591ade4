"""The autodetector ``makemigrations`` uses: django-syzygy's staging, plus the safe operation forms.

On a table that already exists, what Django would write as a plain (and,
on hundreds of millions of rows, blocking) operation becomes its safe form
from ``ecomind_core.migration_safety.operations``; tables created in the same run
keep Django's plain operations (an empty table locks nobody). Renames are
post-deploy. A new NOT NULL column without a database default is refused
with the fix: the enrichment worker's INSERT does not name new columns, so
the database itself must fill them.
"""

from django.db.migrations import operations
from django.db.migrations.autodetector import MigrationAutodetector as DjangoAutodetector
from django.db.models import CheckConstraint, ForeignKey, UniqueConstraint
from django.db.models.fields import NOT_PROVIDED
from syzygy.autodetector import MigrationAutodetector as SyzygyAutodetector
from syzygy.constants import Stage
from syzygy.operations import RenameField, RenameModel
from syzygy.plan import get_operation_stage

from ecomind_core.migration_safety import operations as safe


class UnsafeModelChange(Exception):
    """A model change that has no safe migration; the message says what to declare instead."""


class SafeAutodetector(SyzygyAutodetector):
    def existing(self, app_label, model_name):
        return (app_label, model_name.lower()) in self.from_state.models

    def add_operation(self, app_label, operation, dependencies=None, beginning=False):
        if isinstance(operation, (operations.RenameField, operations.RenameModel)):
            # A rename breaks the release still running: after the rollout.
            # (syzygy would ask, and quit without an answer.)
            staged = (RenameField if isinstance(operation, operations.RenameField) else RenameModel).for_stage(
                operation, Stage.POST_DEPLOY)
            return DjangoAutodetector.add_operation(self, app_label, staged, dependencies, beginning)
        safe_form = self.safe_form(app_label, operation)
        if safe_form is not operation:
            # Already in its safe, staged form: syzygy has nothing to add (it
            # would turn a SetNotNullThroughCheck back into a plain AlterField).
            return DjangoAutodetector.add_operation(self, app_label, safe_form, dependencies, beginning)
        return super().add_operation(app_label, operation, dependencies, beginning)

    def safe_form(self, app_label, operation):
        """The safe operation for ``operation`` on an existing table, or ``operation`` itself."""
        model_name = getattr(operation, "model_name", None)
        if model_name is None or not self.existing(app_label, model_name):
            return operation
        if type(operation) is operations.AddIndex:
            return safe.AddIndexConcurrentlyIfPostgres(model_name=model_name, index=operation.index)
        if type(operation) is operations.RemoveIndex:
            return safe.RemoveIndexConcurrentlyIfPostgres(model_name=model_name, name=operation.name)
        if type(operation) is operations.AddConstraint:
            constraint = operation.constraint
            if isinstance(constraint, CheckConstraint):
                return safe.AddCheckConstraintNotValid(model_name=model_name, constraint=constraint)
            if isinstance(constraint, UniqueConstraint) and self.plain_unique(constraint):
                return safe.AddUniqueConstraintConcurrently(model_name=model_name, constraint=constraint)
        if type(operation) is operations.AddField and isinstance(operation.field, ForeignKey) and operation.field.null:
            return safe.AddForeignKeyNotValid(model_name=model_name, name=operation.name, field=operation.field,
                                              preserve_default=operation.preserve_default)
        if isinstance(operation, operations.AlterField) and self.only_made_not_null(app_label, operation):
            return safe.SetNotNullThroughCheck(model_name=model_name, name=operation.name, field=operation.field,
                                               preserve_default=operation.preserve_default)
        return operation

    @staticmethod
    def plain_unique(constraint):
        return (constraint.fields and constraint.condition is None and not constraint.expressions
                and not constraint.include and constraint.deferrable is None and constraint.nulls_distinct is None)

    def only_made_not_null(self, app_label, operation):
        """The column changes from NULL to NOT NULL and nothing else of it changes in the database."""
        before = self.from_state.models[app_label, operation.model_name_lower].fields[operation.name]
        after = operation.field
        if not before.null or after.null or type(before) is not type(after):
            return False
        ignored = {"null", *after.non_db_attrs}
        _, _, _, before_kwargs = before.deconstruct()
        _, _, _, after_kwargs = after.deconstruct()
        return ({k: v for k, v in before_kwargs.items() if k not in ignored}
                == {k: v for k, v in after_kwargs.items() if k not in ignored})

    def _build_migration_list(self, *args, **kwargs):
        # Django orders operations by kind (fields, then indexes, then
        # constraints); syzygy splits a pre-deploy and a post-deploy migration
        # only when the post-deploy operations come last. Move them there
        # unless an operation depends on one of them.
        for app_label, generated in list(self.generated_operations.items()):
            post = [op for op in generated if get_operation_stage(op) is Stage.POST_DEPLOY]
            pre = [op for op in generated if op not in post]
            blocked = any(self.check_dependency(p, dependency) for op in pre for dependency in op._auto_deps for p in post)
            if post and not blocked:
                self.generated_operations[app_label] = pre + post
        return super()._build_migration_list(*args, **kwargs)

    def _generate_added_field(self, app_label, model_name, field_name):
        field = self.to_state.models[app_label, model_name].get_field(field_name)
        needs_default = not (field.null or field.many_to_many or field.primary_key)
        if needs_default and getattr(field, "db_default", NOT_PROVIDED) is NOT_PROVIDED:
            raise UnsafeModelChange(
                f"{app_label}.{model_name}.{field_name} is a new NOT NULL column without a database default: "
                "the enrichment worker's INSERT does not name new columns (and the release still running does "
                f"not know it), so the database must fill it. Declare db_default=... on the field (Django's "
                "default= is applied by Python only), or make it null=True."
            )
        return super()._generate_added_field(app_label, model_name, field_name)
