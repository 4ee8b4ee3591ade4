"""``Meta.partition_by_month``: a model whose table PostgreSQL keeps range-partitioned by month.

The value names the partition key's field (``"ts"``). It is a Meta option,
as django-pgtrigger's ``triggers`` is, so that migration states carry it:
the expected catalog (catalog/expected.py) reads it from the state a
migration leaves, and ``verify_schema --at 0005`` still expects plain tables.
makemigrations' autodetector does not compare it: ConvertToMonthlyPartitions
is the operation that sets it, written by hand in a migration.
"""

from django.db.migrations import state
from django.db.models import options

OPTION = "partition_by_month"

for _module in (options, state):
    if OPTION not in _module.DEFAULT_NAMES:
        _module.DEFAULT_NAMES = (*_module.DEFAULT_NAMES, OPTION)


def partition_key(meta):
    """The partition key's column of a model's table, or None for a plain table."""
    field_name = getattr(meta, OPTION, None)
    return meta.get_field(field_name).column if field_name else None


def partitioned_models():
    """The project's models whose Meta says ``partition_by_month`` (events and audit rows)."""
    from django.apps import apps

    return [model for model in apps.get_app_config("ecomind_core").get_models() if partition_key(model._meta)]
