"""Indexes behind the admin's audit-log filters and search (built CONCURRENTLY on PostgreSQL)."""

from django.db import migrations, models

from ecomind_core.migration_safety.operations import AddIndexConcurrentlyIfPostgres


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ('ecomind_core', '0002_user_password_hash'),
    ]

    operations = [
        AddIndexConcurrentlyIfPostgres(
            model_name='auditlog',
            index=models.Index(fields=['action', 'ts'], name='ix_audit_logs_action_ts'),
        ),
        AddIndexConcurrentlyIfPostgres(
            model_name='auditlog',
            index=models.Index(fields=['resource', 'ts'], name='ix_audit_logs_resource_ts'),
        ),
        AddIndexConcurrentlyIfPostgres(
            model_name='auditlog',
            index=models.Index(fields=['user_id'], name='ix_audit_logs_user_id'),
        ),
    ]
