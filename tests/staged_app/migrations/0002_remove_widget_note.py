from django.db import migrations


class Migration(migrations.Migration):
    """Post-deploy (syzygy infers it from RemoveField): the previous release still reads ``note``."""

    dependencies = [("staged_app", "0001_initial")]
    operations = [
        migrations.RemoveField(model_name="widget", name="note"),
    ]
