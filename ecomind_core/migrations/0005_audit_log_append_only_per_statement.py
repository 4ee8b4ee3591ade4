"""The append-only trigger refuses each UPDATE or DELETE statement once, not each row.

Dropped and recreated in this migration's one transaction: no other
session ever sees audit_logs without it.
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ecomind_core', '0004_audit_log_append_only'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='auditlog',
            name='append_only',
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='auditlog',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='09ab4791985e01feb2809a7f87cc97954b3ef260', level='STATEMENT', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_86623', table='audit_logs', when='BEFORE')),
        ),
    ]
