"""events_enriched and audit_logs become monthly range partitions by ts, online (docs/runbooks/partitioning.md).

Not atomic: each step commits on its own, so no lock is held for longer than
a moment beside the worker (ecomind_core/partitions/conversion.py). A re-run
after a failure or a kill carries on where the last try stopped. Going back
(``rollback``) leaves plain tables holding the same rows.

audit_logs.ts becomes NOT NULL first: a partition key in a primary key
must be. A row without ts stops this migration at its VALIDATE, naming
the constraint, before anything else changes.
"""

import django.utils.timezone
from django.db import migrations

import ecomind_core.fields
import ecomind_core.migration_safety.operations
import ecomind_core.partitions.operation


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('ecomind_core', '0005_audit_log_append_only_per_statement'),
    ]

    operations = [
        ecomind_core.migration_safety.operations.SetNotNullThroughCheck(
            model_name='auditlog',
            name='ts',
            field=ecomind_core.fields.NaiveUTCDateTimeField(default=django.utils.timezone.now),
        ),
        ecomind_core.partitions.operation.ConvertToMonthlyPartitions(model_name='Event', field_name='ts'),
        ecomind_core.partitions.operation.ConvertToMonthlyPartitions(model_name='AuditLog', field_name='ts'),
    ]
