"""audit_logs is append-only: the database refuses UPDATE and DELETE (django-pgtrigger)."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ecomind_core', '0003_audit_log_admin_indexes'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='auditlog',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='29e555f023945388aba2225bd26f84172d686d28', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_86623', table='audit_logs', when='BEFORE')),
        ),
    ]
